"""Staff flows in a chat (moderation, campaigns): screens of the citizen conversation's machine.

A staff flow is written exactly like a citizen flow: screens registered in
``pmd_domain.conversation.ui.SCREENS`` (a prompt, a button handler, a text handler),
drawn with ``show``/``draw``, their buttons carrying the token of the screen that drew
them, a button of an earlier screen answered by ``engine.stale`` and an unknown text
by ``engine.typed``, exactly as the citizen's. What differs is only where the state
lives and who may use it:

- the state is a row of ``staff_drafts`` keyed by the Telegram user (staff need not
  be participants), read with its version and written in the step's own transaction
  (``staff_drafts.put`` / ``clear`` with the version read): a step that lost a race
  with another process's step on the same flow changes nothing (``DraftConflict``);
- every step checks the member's role in that transaction; anybody whose role does
  not grant the flow's permission is not taken (``StaffConversation.handle`` returns
  ``None``) and the channel hands the input to the citizen conversation, which answers
  as it answers any stranger or unknown command;
- screen tokens start with ``s`` (``s12:p``), so a channel can tell a staff button
  from a citizen's (plain numbers) without reading anything.

A flow is registered with ``flow`` (the command that starts it, its permission,
its first step and its ``/cancelar``); its screens with ``staff_screen``, named
``<flow>.<screen>``. Screens with a text handler take the member's texts (and
``/cancelar``); other screens let texts go to the citizen conversation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import as_aware
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import engine
from pmd_domain.conversation.types import Inbound, Reply
from pmd_domain.conversation.ui import SCREENS, Ctx, OnButton, OnText, Prompt, Replies, screen
from pmd_domain.db import Database
from pmd_domain.db.models import StaffDraft
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.links import Links
from pmd_domain.services import broadcasts, staff, staff_drafts

MARK = "s"  # staff screen tokens: s<step>.<run>
BUTTON = re.compile(rf"^{MARK}[0-9]{{1,9}}\.[0-9a-z]{{1,12}}:")  # a staff screen's button
CANCEL = "cancelar"
STATE = "_s"  # where the stored data keeps the token of the screen on display
RUN = "_r"  # and the run of the flow (a new one for every start: old tokens never match)


@dataclass
class StaffCtx(Ctx):
    """A staff step's context: the citizen's, with the member and what the channel does after."""

    user_id: int = 0
    admin_ids: tuple[int, ...] = ()
    chat_id: int = 0
    run: str = ""  # this run of the flow, part of every token
    preview: broadcasts.Content | None = None  # a campaign to show as citizens will see it
    notified: bool = False  # a citizen was told something (a decision): send it now
    queued: bool = False  # a campaign was queued: its sender may start
    ended: bool = False  # the flow is over: its state is dropped

    def go(self, state: str, **data: Any) -> None:
        """As ``Ctx.go``; the new screen's token says it is a staff screen."""
        super().go(state, **data)
        self.screen = f"{MARK}{self.screen}.{self.run}"
        self.ended = False

    def end(self) -> None:
        """The flow is over: nothing of it is kept, its buttons are stale."""
        self.ended = True


StaffPrompt = Callable[[StaffCtx], Awaitable[Replies]]
StaffButton = Callable[[StaffCtx, str, list[str]], Awaitable[Replies | None]]
StaffText = Callable[[StaffCtx, str], Awaitable[Replies | None]]


@dataclass(frozen=True)
class Flow:
    """A staff flow: the command that starts it and the permission it needs."""

    name: str
    command: str
    permission: str
    begin: StaffPrompt
    cancel: StaffPrompt
    language: str | None = None  # a fixed language (else the member's client's)


@dataclass(frozen=True)
class Rules:
    """What a staff screen takes besides its buttons."""

    media: bool = False  # a photo or other media goes to its text handler
    ttl: timedelta | None = None  # after this long without a step it no longer takes texts


FLOWS: dict[str, Flow] = {}
COMMANDS: dict[str, str] = {}  # command -> flow name
RULES: dict[str, Rules] = {}  # staff screen name -> its rules


def flow(
    name: str,
    *,
    command: str,
    permission: str,
    begin: StaffPrompt,
    cancel: StaffPrompt,
    language: str | None = None,
) -> None:
    """Register the staff flow ``name``, started by ``/command``."""
    FLOWS[name] = Flow(name, command, permission, begin, cancel, language)
    COMMANDS[command] = name


def staff_screen(
    name: str,
    prompt: StaffPrompt,
    *,
    button: StaffButton | None = None,
    text: StaffText | None = None,
    media: bool = False,
    ttl: timedelta | None = None,
) -> None:
    """Register the staff screen ``<flow>.<name>`` among the conversation's screens."""
    screen(
        name,
        cast(Prompt, prompt),
        button=cast(OnButton | None, button),
        text=cast(OnText | None, text),
        draft=text is not None,
    )
    RULES[name] = Rules(media=media, ttl=ttl)


def flow_of(state: str) -> Flow | None:
    """The flow a staff screen belongs to."""
    return FLOWS.get(state.partition(".")[0]) if state in RULES else None


@dataclass(frozen=True)
class StaffOutcome:
    """The replies of a staff step and what the channel does once they are out."""

    replies: tuple[Reply, ...]
    preview: broadcasts.Content | None = None  # shown after the first reply
    notified: bool = False
    queued: bool = False
    duplicate: bool = False  # the update was handled before: nothing new was done


class StaffConversation:
    """The staff flows of a chat channel, on the conversation's screens and engine.

    ``channel``: the one whose updates it handles (their ids are recorded as the
    citizen conversation records them: see ``handle``).
    """

    def __init__(
        self,
        *,
        consultation: Consultation,
        catalogs: Catalogs,
        links: Links,
        admin_ids: Iterable[int],
        channel: str = "telegram",
    ):
        self.consultation = consultation
        self.catalogs = catalogs
        self.links = links
        self.admin_ids = tuple(admin_ids)
        self.channel = channel

    async def takes(
        self, session: AsyncSession, *, user_id: int, inbound: Inbound, now: datetime
    ) -> bool:
        """Whether the input is for a staff flow (a read: citizens cost one primary-key get).

        ``handle`` decides again in the step's transaction; this only spares citizens
        a write transaction.
        """
        return await self._route(session, user_id=user_id, inbound=inbound, now=now) is not None

    async def wants(
        self, database: Database, *, user_id: int, inbound: Inbound, now: datetime, patience: float
    ) -> bool:
        """``takes``, read as a glance (every private message pays it: see
        ``Database.glance``), through an outage for up to ``patience`` seconds."""

        async def look(session: AsyncSession) -> bool:
            return await self.takes(session, user_id=user_id, inbound=inbound, now=now)

        return await database.read(look, patience=patience, glance=True)

    async def handle(
        self,
        session: AsyncSession,
        *,
        user_id: int,
        chat_id: int,
        inbound: Inbound,
        now: datetime,
    ) -> StaffOutcome | None:
        """One staff input in the caller's transaction; ``None``: not for a staff flow.

        A photo comes as ``media`` with its caption in ``text`` and the channel's id
        of the picture in ``data``. Raises ``staff_drafts.DraftConflict`` when another
        step of this member's flow was stored since this one read it (nothing of this
        step must be kept: the caller's transaction rolls back).

        An input with an ``update_id`` is recorded as handled, as the citizen
        conversation records its own: the same update delivered again (its answer was
        lost) is not handled again, here or there (``duplicate``: the channel sends
        again what it stored of the first time, if that did not get through).
        """
        route = await self._route(session, user_id=user_id, inbound=inbound, now=now)
        if route is None:
            return None
        if inbound.update_id is not None and not await engine.first_time(
            session, channel=self.channel, update_id=inbound.update_id, now=now
        ):
            return StaffOutcome(replies=(), duplicate=True)
        current, draft = route
        ctx = StaffCtx(
            session=session,
            consultation=self.consultation,
            catalogs=self.catalogs,
            links=self.links,
            now=now,
            inbound=inbound,
            lang=self._language(current, inbound.language_hint),
            user_id=user_id,
            admin_ids=self.admin_ids,
            chat_id=chat_id,
        )
        if draft is not None:
            ctx.state, ctx.version = draft.kind, draft.version
            ctx.data = dict(draft.data or {})
            ctx.screen = str(ctx.data.pop(STATE, ""))
            ctx.run = str(ctx.data.pop(RUN, ""))
        else:
            ctx.run = _run_id(now)
        replies = await _dispatch(ctx, current)
        await _save(ctx, stored=draft)
        return StaffOutcome(
            replies=tuple(replies),
            preview=ctx.preview,
            notified=ctx.notified,
            queued=ctx.queued,
        )

    def _language(self, current: Flow, hint: str | None) -> str:
        if current.language is not None:
            return current.language
        code = (hint or "").lower().split("-")[0]
        return code if code in self.catalogs.messages else DEFAULT_LANGUAGE

    async def _route(
        self, session: AsyncSession, *, user_id: int, inbound: Inbound, now: datetime
    ) -> tuple[Flow, StaffDraft | None] | None:
        """The flow this input belongs to and the member's stored state, if it is staff's."""
        starting = COMMANDS.get(inbound.command) if inbound.kind == "command" else None
        draft = None
        if starting is None:
            if inbound.kind == "button" and not BUTTON.match(inbound.data):
                return None
            draft = await _in_force(
                session, user_id=user_id, now=now, typed=inbound.kind != "button"
            )
            if draft is None and inbound.kind != "button":
                return None
        if draft is not None and not _takes(draft.kind, inbound):
            return None
        role = await staff.role_of(session, user_id=user_id, admin_ids=self.admin_ids)
        if starting is not None:
            current = FLOWS[starting]
            return (current, draft) if staff.may(role, current.permission) else None
        if draft is None:
            # A staff button with no flow in force: answered if it is a member's.
            return (_ANY, None) if role is not None else None
        owner = flow_of(draft.kind)
        assert owner is not None
        return (owner, draft) if staff.may(role, owner.permission) else None


async def _in_force(
    session: AsyncSession, *, user_id: int, now: datetime, typed: bool
) -> StaffDraft | None:
    """The member's flow state, if it is a staff screen's (and, for a ``typed`` input,
    its screen still takes texts: see ``Rules.ttl``; its buttons keep working)."""
    draft = await staff_drafts.get(session, user_id=user_id)
    if draft is None or draft.kind not in RULES:
        return None
    ttl = RULES[draft.kind].ttl
    if typed and ttl is not None and as_aware(draft.updated_at) < now - ttl:
        return None
    return draft


def _takes(state: str, inbound: Inbound) -> bool:
    """Whether the screen ``state`` takes this input (its buttons, texts, /cancelar, media)."""
    if inbound.kind == "button":
        return True
    if SCREENS[state].text is None:
        return False
    if inbound.kind == "command":
        return inbound.command == CANCEL
    if inbound.kind == "media":
        return RULES[state].media
    return inbound.kind == "text"


async def _dispatch(ctx: StaffCtx, current: Flow) -> Replies:
    inbound = ctx.inbound
    if inbound.kind == "command" and inbound.command != CANCEL:
        return await current.begin(ctx)
    if inbound.kind == "command":
        return await current.cancel(ctx)
    if inbound.kind == "button":
        head, _, rest = inbound.data.partition(":")
        args = rest.split(":") if rest else []
        if ctx.state not in RULES:
            ctx.end()
            text = ctx.t("input.stale_notice")
            return [Reply(text=ctx.t("staff.flow.over"), notice=text, edit=True)]
        if head != ctx.screen or not args:
            return await engine.stale(ctx)
        return await engine.pressed(ctx, args)
    return await engine.typed(ctx, inbound.text)


async def _save(ctx: StaffCtx, *, stored: StaffDraft | None) -> None:
    """The flow's new state (or its end), written only over the version this step read."""
    expected = stored.version if stored is not None else None
    if ctx.ended:
        # A flow started (or a stale press) without reading the state: whatever was
        # there is over too.
        await staff_drafts.clear(ctx.session, user_id=ctx.user_id, expected=expected)
        return
    data = {**ctx.data, STATE: ctx.screen, RUN: ctx.run}
    await staff_drafts.put(
        ctx.session,
        user_id=ctx.user_id,
        kind=ctx.state,
        data=data,
        now=ctx.now,
        expected=expected,
    )


def _run_id(now: datetime) -> str:
    """A new run of a flow: the moment it started, in base 36 (unique per member)."""
    value, digits = int(now.timestamp() * 1000), ""
    while value:
        value, rest = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits or "0"


async def _nothing(ctx: StaffCtx) -> Replies:
    return []


# A staff button pressed when no flow is in force (the flow ended, or expired).
_ANY = Flow("", "", "", _nothing, _nothing)

# The flows register their screens.
from pmd_domain.conversation.staff import broadcast, moderation  # noqa: E402, F401
