"""What goes into a conversation step and what comes out, independent of any channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Telegram's limits, which every channel respects so that both render the same.
MAX_BUTTON_DATA_BYTES = 64
MAX_TEXT_CHARS = 4096

InboundKind = Literal["start", "text", "button", "command", "media", "edited", "forwarded"]


@dataclass(frozen=True)
class Inbound:
    """One thing the citizen did.

    - ``start``: ``/start [payload]``; ``text`` holds the payload (campaign source), may be "".
    - ``text``: a typed message; ``text`` holds it.
    - ``button``: a button press; ``data`` holds the button's data.
    - ``command``: any other ``/command``; ``command`` is its name (lower case, no slash,
      no ``@bot`` suffix) and ``text`` its arguments.
    - ``media``: a sticker, photo, voice note, location, document, ...; ``media`` names it.
    - ``edited`` / ``forwarded``: an edited or forwarded message.
    """

    kind: InboundKind
    text: str = ""
    data: str = ""
    command: str = ""
    media: str = ""
    update_id: str | None = None  # a channel's unique id for this input, to ignore repeats
    language_hint: str | None = None  # the client's language (Telegram language_code)
    message_ref: str | None = None  # the channel's id of the message a button was on


@dataclass(frozen=True)
class Button:
    """A button: pressing it sends ``data`` back as a ``button`` input, or opens ``url``."""

    label: str
    data: str = ""
    url: str | None = None

    def __post_init__(self) -> None:
        if self.url is None and not 0 < len(self.data.encode()) <= MAX_BUTTON_DATA_BYTES:
            raise ValueError(f"button data must be 1..{MAX_BUTTON_DATA_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class Document:
    """A file sent to the citizen (the certificate PDF, the export of their data)."""

    filename: str
    content: bytes
    mime: str
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    """One message to the citizen: text, optional button rows, optional document.

    ``edit`` asks the channel to replace the message whose button was pressed (only
    meaningful when answering a ``button`` input); ``notice`` is a short toast for a
    button press (Telegram's callback answer), shown in addition to the message.
    ``limit``: the longest text the step expects in answer (the browser chat's counter
    and ``maxlength``); ``None`` when it expects none in particular.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = field(default=())
    document: Document | None = None
    edit: bool = False
    notice: str | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Outgoing:
    """A step's replies as the outbox holds them, for the channel to deliver.

    ``id`` is the outbox row (``None``: not stored, nothing to mark); ``edit_target``
    the message an ``edit`` reply replaces (``Inbound.message_ref``); ``progress`` how
    many replies were delivered already.
    """

    id: int | None
    channel: str
    external_id: str
    replies: tuple[Reply, ...]
    edit_target: str | None = None
    progress: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class Outcome:
    """The result of one step: the replies, and what the channel delivers.

    ``outgoing`` is what the channel must deliver now: the step's stored replies, or
    for a repeated update those it must send again (``None``: nothing, they are
    delivered or being delivered).
    """

    replies: tuple[Reply, ...]
    duplicate: bool = False  # the input had already been handled (same update_id)
    registered: int | None = None  # the participant this step registered (consent)
    outgoing: Outgoing | None = None
    language: str | None = None  # the language the replies are in (None: not known)


def split_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at line breaks when possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut == -1:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut == -1:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return pieces
