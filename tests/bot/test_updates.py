"""Telegram updates become the conversation inputs the engine expects."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, Update

from bot.updates import to_inbound

USER = {"id": 501, "is_bot": False, "first_name": "Ana", "language_code": "es"}
PRIVATE = {"id": 501, "type": "private", "first_name": "Ana"}


def update(**fields: Any) -> Update:
    bot = Bot("123:ABC")
    return Update.de_json({"update_id": 77, **fields}, bot)


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 9, "date": 1_700_000_000, "chat": PRIVATE, "from": USER, **fields}


def command(text: str) -> dict[str, Any]:
    length = len(text.split()[0])
    return message(text=text, entities=[{"type": "bot_command", "offset": 0, "length": length}])


def test_text_carries_update_id_language_and_chat() -> None:
    incoming = to_inbound(update(message=message(text="Más luminarias")))
    assert incoming is not None
    assert incoming.external_id == "501"
    assert incoming.inbound.kind == "text"
    assert incoming.inbound.text == "Más luminarias"
    assert incoming.inbound.update_id == "77"
    assert incoming.inbound.language_hint == "es"


@pytest.mark.parametrize(
    ("text", "kind", "name", "args"),
    [
        ("/start fb_alcalde", "start", "", "fb_alcalde"),
        ("/start", "start", "", ""),
        ("/Menu@ParticipaPMDBot", "command", "menu", ""),
        ("/cancelar ya", "command", "cancelar", "ya"),
    ],
)
def test_commands(text: str, kind: str, name: str, args: str) -> None:
    incoming = to_inbound(update(message=command(text)))
    assert incoming is not None
    assert incoming.inbound.kind == kind
    assert incoming.inbound.command == name
    assert incoming.inbound.text == args


def test_button_press() -> None:
    query = {
        "id": "q1",
        "from": USER,
        "chat_instance": "ci",
        "data": "consent:yes",
        "message": message(text="¿Aceptas?"),
    }
    incoming = to_inbound(update(callback_query=query))
    assert incoming is not None
    assert (incoming.inbound.kind, incoming.inbound.data) == ("button", "consent:yes")


@pytest.mark.parametrize(
    ("fields", "media"),
    [
        ({"sticker": {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1,
                      "is_animated": False, "is_video": False, "type": "regular"}}, "sticker"),
        ({"photo": [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
          "caption": "mira"}, "photo"),
        ({"voice": {"file_id": "v", "file_unique_id": "u", "duration": 2}}, "voice"),
        ({"location": {"latitude": 20.1, "longitude": -98.7}}, "location"),
        ({"contact": {"phone_number": "+52", "first_name": "X"}}, "contact"),
        ({"dice": {"emoji": "🎲", "value": 3}}, "dice"),
    ],
)  # fmt: skip
def test_media(fields: dict[str, Any], media: str) -> None:
    incoming = to_inbound(update(message=message(**fields)))
    assert incoming is not None
    assert (incoming.inbound.kind, incoming.inbound.media) == ("media", media)


def test_edited_and_forwarded() -> None:
    edited = to_inbound(update(edited_message=message(text="otro", edit_date=1_700_000_100)))
    assert edited is not None and edited.inbound.kind == "edited"
    origin = {"type": "hidden_user", "sender_user_name": "Alguien", "date": 1_700_000_000}
    forwarded = to_inbound(update(message=message(text="hola", forward_origin=origin)))
    assert forwarded is not None and forwarded.inbound.kind == "forwarded"


def test_groups_and_channels_are_not_citizen_chats() -> None:
    group = {"id": -100, "type": "supergroup", "title": "Vecinos"}
    assert to_inbound(update(message=message(text="/start", chat=group))) is None
    channel = {"id": -200, "type": "channel", "title": "Noticias"}
    post = {"message_id": 1, "date": 1_700_000_000, "chat": channel, "text": "x"}
    assert to_inbound(update(channel_post=post)) is None
