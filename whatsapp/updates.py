"""WhatsApp webhook deliveries turned into channel-neutral conversation inputs.

A delivery (``{"object": "whatsapp_business_account", "entry": [...]}``) may carry
several messages, of several chats, and status updates of messages we sent. Every
message becomes an ``Inbound`` whose ``update_id`` is its WhatsApp message id
(``wamid...``), so a delivery repeated by Meta is handled once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pmd_domain.conversation.typed import inbound_of_text
from pmd_domain.conversation.types import Button, Inbound
from pmd_domain.digits import is_digits, number
from pmd_domain.search import search_key

CHANNEL = "whatsapp"
# A WhatsApp id is a phone number in international form: at most 15 digits (E.164).
WA_ID_DIGITS = 15
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Words that mean "no more campaign messages" (like /silenciar), compared folded.
OPT_OUT_WORDS = frozenset({"baja", "alto", "stop", "no quiero mensajes", "darme de baja"})
# Message types that are something other than words or a choice.
MEDIA_TYPES = frozenset(
    {
        "audio",
        "image",
        "video",
        "sticker",
        "document",
        "location",
        "contacts",
        "reaction",
        "order",
        "unsupported",
    }
)
EDIT_TYPES = frozenset({"edit", "edited"})
IGNORED_TYPES = frozenset({"system", "revoke", "ephemeral", "request_welcome"})


@dataclass(frozen=True)
class Incoming:
    """A citizen's input together with the WhatsApp id (phone number) it came from."""

    wa_id: str
    inbound: Inbound


@dataclass(frozen=True)
class Status:
    """What WhatsApp says about a message we sent: ``failed`` with its error codes, ..."""

    wa_id: str
    status: str
    codes: tuple[int, ...]


def signed(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<HMAC-SHA256 of the raw body with the app secret>``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256=") :].strip().lower().encode(), expected.encode())


def fold(text: str) -> str:
    """``text`` without accents, case or extra spaces, to compare what people type."""
    return search_key(text.replace(".", " ").replace("!", " "))


def _values(payload: Any, phone_number_id: str) -> list[dict[str, Any]]:
    """The ``value`` of every ``messages`` change addressed to our phone number."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business delivery")
    found = []
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or () if isinstance(entry, dict) else ():
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata") or {}
            if str(metadata.get("phone_number_id", "")) != phone_number_id:
                continue  # another number of the same business account
            found.append(value)
    return found


def messages_of(payload: Any, phone_number_id: str) -> list[Incoming]:
    """The citizens' messages in a delivery, in the order WhatsApp gave them."""
    found = []
    for value in _values(payload, phone_number_id):
        for message in value.get("messages") or ():
            if not isinstance(message, dict):
                continue
            wa_id = str(message.get("from") or "")
            message_id = str(message.get("id") or "")
            if not is_digits(wa_id, most=WA_ID_DIGITS) or not message_id:
                continue
            inbound = to_inbound(message)
            if inbound is not None:
                found.append(Incoming(wa_id, replace(inbound, update_id=message_id[:64])))
    return found


def statuses_of(payload: Any, phone_number_id: str) -> list[Status]:
    """The status updates of our messages in a delivery."""
    found = []
    for value in _values(payload, phone_number_id):
        for status in value.get("statuses") or ():
            if not isinstance(status, dict):
                continue
            codes = tuple(
                int(e["code"])
                for e in status.get("errors") or ()
                if isinstance(e, dict) and isinstance(e.get("code"), int)
            )
            found.append(
                Status(str(status.get("recipient_id", "")), str(status.get("status", "")), codes)
            )
    return found


def to_inbound(message: dict[str, Any]) -> Inbound | None:
    """The conversation input of one WhatsApp message; ``None`` for what needs no answer."""
    kind = str(message.get("type") or "")
    context = message.get("context")
    if isinstance(context, dict) and context.get("forwarded"):
        return Inbound(kind="forwarded")
    if kind == "text":
        body = (message.get("text") or {}).get("body")
        return _from_text(body if isinstance(body, str) else "")
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        for reply_kind in ("button_reply", "list_reply"):
            reply = interactive.get(reply_kind)
            if isinstance(reply, dict) and isinstance(reply.get("id"), str) and reply["id"]:
                return Inbound(kind="button", data=reply["id"][:64])
        return Inbound(kind="media", media="interactive")
    if kind == "button":  # a quick-reply button of a template
        button = message.get("button") or {}
        payload = button.get("payload")
        if isinstance(payload, str) and payload:
            return Inbound(kind="button", data=payload[:64])
        text = button.get("text")
        return _from_text(text if isinstance(text, str) else "")
    if kind in EDIT_TYPES:
        return Inbound(kind="edited")
    if kind in IGNORED_TYPES:
        return None
    return Inbound(kind="media", media=kind if kind in MEDIA_TYPES else "other")


def _from_text(text: str) -> Inbound:
    stripped = text.strip()
    if fold(stripped) in OPT_OUT_WORDS:
        return Inbound(kind="command", command="silenciar")
    return inbound_of_text(text)


def chosen(text: str, choices: Sequence[Button], *, numbered: bool) -> Button | None:
    """The choice a typed answer names: its number (in a numbered menu) or its words."""
    wanted = fold(text)
    if not wanted:
        return None
    place = number(wanted, most=3) if numbered else None
    if place is not None and 1 <= place <= len(choices):
        return choices[place - 1]
    return next((c for c in choices if fold(c.label) == wanted), None)
