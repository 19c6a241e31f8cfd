"""Telegram updates turned into channel-neutral conversation inputs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from telegram import Chat, Message, Update

from pmd_domain.conversation.typed import inbound_of_text
from pmd_domain.conversation.types import Inbound

CHANNEL = "telegram"

# Message attributes that make a message "media" for the conversation, in the order
# they are checked (a photo with a caption is still a photo).
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "video",
    "animation",
    "audio",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "paid_media",
    "invoice",
)


@dataclass(frozen=True)
class Incoming:
    """A citizen's input together with the chat it came from."""

    external_id: str
    inbound: Inbound


def private_chat(update: Update) -> Chat | None:
    """The private chat of ``update``, or ``None`` for groups, channels and chat-less updates."""
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        return None
    return chat


def to_inbound(update: Update) -> Incoming | None:
    """The conversation input of ``update``; ``None`` when it is not for the citizen flow."""
    chat = private_chat(update)
    if chat is None:
        return None
    user = update.effective_user
    query = update.callback_query
    if query is not None:
        pressed = query.message
        inbound = Inbound(
            kind="button",
            data=query.data or "",
            message_ref=str(pressed.message_id) if isinstance(pressed, Message) else None,
        )
    elif update.edited_message is not None:
        inbound = Inbound(kind="edited")
    elif update.message is not None:
        inbound = _from_message(update.message)
    else:
        return None
    inbound = replace(
        inbound,
        update_id=str(update.update_id),
        language_hint=user.language_code if user else None,
    )
    return Incoming(str(chat.id), inbound)


def _from_message(message: Message) -> Inbound:
    if message.forward_origin is not None:
        return Inbound(kind="forwarded")
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Inbound(kind="media", media=kind)
    text = message.text
    if text is None:
        # A service message or something newer than this code: treat it as media.
        return Inbound(kind="media", media="other")
    return inbound_of_text(text)
