"""WhatsApp webhook deliveries turned into conversation inputs; the signature check."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from whatsapp.updates import messages_of, signed, statuses_of, to_inbound

PHONE = "1234"


def delivery(*messages: dict[str, Any], phone: str = PHONE, **value: Any) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": phone},
            "messages": list(messages),
            **value,
        }}]}],
    }  # fmt: skip


def text(body: str, **extra: Any) -> dict[str, Any]:
    return {
        "from": "5217710000000",
        "id": "wamid.1",
        "type": "text",
        "text": {"body": body},
        **extra,
    }


def test_the_signature_is_the_hmac_of_the_raw_body() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    good = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signed("secret", body, good)
    assert not signed("secret", body + b" ", good)
    assert not signed("other", body, good)
    assert not signed("secret", body, None)
    assert not signed("secret", body, good.replace("sha256=", "sha1="))


@pytest.mark.parametrize("word", ["BAJA", "alto", "Stop", "No quiero mensajes", "¡baja!"[1:]])
def test_opt_out_words_are_the_mute_command(word: str) -> None:
    inbound = to_inbound(text(word))
    assert inbound is not None and (inbound.kind, inbound.command) == ("command", "silenciar")


def test_kinds_of_messages() -> None:
    assert to_inbound(text("/start fb_alcalde")).text == "fb_alcalde"  # type: ignore[union-attr]
    button = {
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "c:y", "title": "Acepto"}},
    }
    assert to_inbound(button).data == "c:y"  # type: ignore[union-attr]
    row = {
        "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "6:x:servicios", "title": "2."}},
    }
    assert to_inbound(row).data == "6:x:servicios"  # type: ignore[union-attr]
    quick = {"type": "button", "button": {"payload": "m", "text": "Menú"}}
    assert to_inbound(quick).data == "m"  # type: ignore[union-attr]
    assert to_inbound({"type": "sticker", "sticker": {}}).media == "sticker"  # type: ignore[union-attr]
    assert to_inbound({"type": "brand_new_type"}).media == "other"  # type: ignore[union-attr]
    assert to_inbound({"type": "edit", "edit": {}}).kind == "edited"  # type: ignore[union-attr]
    assert to_inbound(text("hola", context={"forwarded": True})).kind == "forwarded"  # type: ignore[union-attr]
    assert to_inbound({"type": "system", "system": {}}) is None


def test_only_messages_to_our_number_count_and_each_keeps_its_id() -> None:
    found = messages_of(delivery(text("hola"), {**text("otra"), "id": "wamid.2"}), PHONE)
    assert [(m.wa_id, m.inbound.update_id, m.inbound.text) for m in found] == [
        ("5217710000000", "wamid.1", "hola"),
        ("5217710000000", "wamid.2", "otra"),
    ]
    assert messages_of(delivery(text("hola"), phone="9999"), PHONE) == []
    with pytest.raises(ValueError):
        messages_of({"object": "page"}, PHONE)


def test_failed_statuses_carry_their_codes() -> None:
    status = {"id": "wamid.9", "status": "failed", "recipient_id": "5217710000000",
              "errors": [{"code": 131026, "title": "Message undeliverable"}]}  # fmt: skip
    [found] = statuses_of(delivery(statuses=[status]), PHONE)
    assert (found.status, found.codes) == ("failed", (131026,))
