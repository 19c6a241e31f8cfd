"""Shared pieces of every conversation step: the step context, screens, buttons, prompts.

A *screen* is one state of the conversation: it knows how to (re)draw its prompt and
how to react to a button or a typed text. Flows register their screens here; the
engine dispatches to them. ``prompt`` only renders (it is called again whenever the
citizen does something unexpected), the handlers change things.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clients import Client
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.schema import Text
from pmd_domain.conversation.types import MAX_TEXT_CHARS, Button, Inbound, Reply
from pmd_domain.db.models import Participant
from pmd_domain.errors import DomainError
from pmd_domain.i18n import Catalogs, long_date
from pmd_domain.links import Links

if TYPE_CHECKING:
    from pmd_domain.services.verification import CodeBook

T = TypeVar("T")
_NUMBER = re.compile(r"^[0-9]{1,18}$")
Replies = list[Reply]


@dataclass
class Ctx:
    """Everything one step needs, and the state it leaves behind."""

    session: AsyncSession
    consultation: Consultation
    catalogs: Catalogs
    links: Links
    now: datetime
    inbound: Inbound
    lang: str
    participant: Participant | None = None
    state: str = "menu"
    data: dict[str, Any] = field(default_factory=dict)
    screen: str = "0"  # token of the screen on display; carried by its buttons
    version: int = 0  # stored version before this step
    forget: bool = False  # the participant erased their data: store no state
    executor: Executor | None = None  # where certificate PDFs render (off the event loop)
    channel: str = ""  # where this input came from
    client: Client | None = None  # the browser's address and kiosk (None on Telegram)
    codes: CodeBook | None = None  # verification codes (None: not offered)

    def t(self, key: str, **params: object) -> str:
        """A catalogue text in the citizen's language, in this channel's wording if it has one."""
        return self.catalogs.variant(self.lang, key, self.channel, **params)

    def tn(self, key: str, count: int, **params: object) -> str:
        """A catalogue text whose form follows ``count`` (``key.one`` / ``key.other``)."""
        return self.catalogs.plural(self.lang, key, count, **params)

    def c(self, value: Text) -> str:
        """A text of the consultation file in the citizen's language."""
        return self.consultation.text(value, self.lang)

    def button(self, label: str, action: str, *args: str | int) -> Button:
        """A button of the current screen: ``<screen>:<action>[:<arg>...]``."""
        data = ":".join([self.screen, action, *(str(a) for a in args)])
        return Button(label=label, data=data)

    def go(self, state: str, **data: Any) -> None:
        """Move to ``state`` with ``data``; buttons drawn from now on belong to the new screen."""
        self.state = state
        self.data = dict(data)
        self.screen = str(self.version + 1)

    def day(self, moment: datetime) -> str:
        """The day of ``moment`` on the exercise's calendar, written out in the citizen's
        language as the dashboard and the certificates write it (``9 de enero de 2027``)."""
        return long_date(moment, zone=self.consultation.exercise.timezone, language=self.lang)

    def error(self, error: DomainError) -> str:
        """The kind catalogue text of a domain error."""
        params = {k: v for k, v in error.params.items() if k not in ("language", "key")}
        return self.t(error.code, **params)


Prompt = Callable[[Ctx], Awaitable[Replies]]
OnButton = Callable[[Ctx, str, list[str]], Awaitable[Replies | None]]
OnText = Callable[[Ctx, str], Awaitable[Replies | None]]


@dataclass(frozen=True)
class Screen:
    """One state: how to draw it and how it reacts. A handler returning None did not expect it."""

    prompt: Prompt
    button: OnButton | None = None
    text: OnText | None = None
    draft: bool = False  # leaving it discards something the citizen typed
    open_only: bool = False  # only while the exercise is open (proposing, voting)


SCREENS: dict[str, Screen] = {}


def screen(
    name: str,
    prompt: Prompt,
    *,
    button: OnButton | None = None,
    text: OnText | None = None,
    draft: bool = False,
    open_only: bool = False,
) -> None:
    """Register the screen ``name``."""
    SCREENS[name] = Screen(
        prompt=prompt, button=button, text=text, draft=draft, open_only=open_only
    )


async def show(ctx: Ctx, state: str, *, before: str | None = None, **data: Any) -> Replies:
    """Go to ``state`` and draw it, optionally after a line of text."""
    ctx.go(state, **data)
    return await draw(ctx, before=before)


async def draw(ctx: Ctx, *, before: str | None = None, notice: str | None = None) -> Replies:
    """Draw the current screen again, ``before`` prepended to its first message."""
    replies = await SCREENS[ctx.state].prompt(ctx)
    return prefix(replies, before, notice=notice)


# What the chat says to an input it cannot take, by the input's kind.
_UNEXPECTED = {"media": "input.media", "edited": "input.edited", "forwarded": "input.forwarded"}


def unexpected(ctx: Ctx) -> str | None:
    """Why the input cannot be taken (a sticker, an edit, a forward), else None."""
    key = _UNEXPECTED.get(ctx.inbound.kind)
    return ctx.t(key) if key else None


def prefix(replies: Replies, before: str | None, *, notice: str | None = None) -> Replies:
    """Put ``before`` at the top of the first message (and ``notice`` as its toast)."""
    if not replies:
        return [Reply(text=before or "", notice=notice)] if before else []
    first = replies[0]
    text = f"{before}\n\n{first.text}" if before else first.text
    return [replace(first, text=text, notice=notice or first.notice), *replies[1:]]


def number(raw: str) -> int | None:
    """A non-negative id from button data (ASCII digits only, fits in 64 bits), else None."""
    return int(raw) if _NUMBER.match(raw) else None


def rows(buttons: Iterable[Button], per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    """Lay buttons out in rows of ``per_row``."""
    items = list(buttons)
    return tuple(tuple(items[i : i + per_row]) for i in range(0, len(items), per_row))


def fit(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Shorten ``text`` to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clip(text: str, limit: int) -> str:
    """A citizen's text shortened for a list."""
    one_line = " ".join(text.split())
    return fit(one_line, limit)


async def attempt(
    ctx: Ctx, call: Callable[[], Awaitable[T]], *, savepoint: bool = True
) -> tuple[T, None] | tuple[None, DomainError]:
    """Run a service call; a DomainError it raises becomes ``(None, error)``.

    The call runs in a savepoint, so that an error undoes only this attempt. A call
    that checks everything before it writes anything (it raises before its first
    change) can go without one (``savepoint=False``): two statements less.
    """
    try:
        if not savepoint:
            return await call(), None
        async with ctx.session.begin_nested():
            return await call(), None
    except DomainError as error:
        if ctx.participant is not None:
            await ctx.session.refresh(ctx.participant)
        return None, error
