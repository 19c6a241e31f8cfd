"""The conversation engine: one input in, replies out, state stored with the step's writes.

The caller opens the write transaction; everything a step stores (answers, a
proposal, a vote) and the new state row commit together, so a crash loses nothing
the citizen confirmed and any process can take the next input.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clients import Client
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import (  # noqa: F401  (registers the screens)
    certificate_flow,
    commands,
    consent,
    demographics,
    menu,
    mine,
    mydata,
    proposal,
    reconsent,
    verify,
    voting,
)
from pmd_domain.conversation.types import Inbound, Outcome, Reply
from pmd_domain.conversation.ui import (
    SCREENS,
    Ctx,
    Replies,
    draw,
    fit,
    number,
    show,
    unexpected,
)
from pmd_domain.db.dialects import INSERTS, dialect_of
from pmd_domain.db.models import ConversationState, Participant, ProcessedUpdate
from pmd_domain.db.statements import adopt, execute
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.links import Links
from pmd_domain.services import outbox, participants
from pmd_domain.services.verification import CodeBook

MAX_INPUT_CHARS = 20_000  # longer inputs are cut before anything looks at them


class StateConflict(RuntimeError):
    """Another process stored a step of this chat at the same moment (should not happen)."""


class Conversation:
    """The citizen conversation, shared by every channel."""

    def __init__(
        self,
        *,
        consultation: Consultation,
        catalogs: Catalogs,
        links: Links,
        executor: Executor | None = None,
        codes: CodeBook | None = None,
    ):
        self.consultation = consultation
        self.catalogs = catalogs
        self.links = links
        self.executor = executor
        self.codes = codes  # verification codes; without them the chat offers none

    async def handle(
        self,
        session: AsyncSession,
        *,
        channel: str,
        external_id: str,
        inbound: Inbound,
        now: datetime,
        client: Client | None = None,
    ) -> Outcome:
        """Handle one input of one chat inside the caller's transaction.

        ``client``: what the channel knows of where the input came from (the browser
        chat's address and kiosk), for the per-address limits.

        The replies are stored in the outbox in the same transaction; the outcome's
        ``outgoing`` is what the channel delivers once it has committed.
        """
        if inbound.update_id is not None and not await first_time(
            session, channel=channel, update_id=inbound.update_id, now=now
        ):
            again = await outbox.replay(
                session, channel=channel, update_id=inbound.update_id, now=now
            )
            if again is None:
                return Outcome(replies=(), duplicate=True)
            return Outcome(replies=again.replies[again.progress :], duplicate=True, outgoing=again)
        inbound = _normalised(inbound)
        person, stored = await _load(session, channel=channel, external_id=external_id)
        if person is not None and not person.reachable and person.erased_at is None:
            person.reachable = True  # a citizen who blocked the bot wrote again: reachable
        ctx = Ctx(
            session=session,
            consultation=self.consultation,
            catalogs=self.catalogs,
            links=self.links,
            executor=self.executor,
            now=now,
            inbound=inbound,
            lang=self._language(inbound.language_hint),
            participant=person,
            channel=channel,
            client=client,
            codes=self.codes,
        )
        exists = False
        if person is None:
            replies = await consent.stranger(ctx, channel=channel, external_id=external_id)
        else:
            ctx.lang = person.language
            if stored is not None:
                exists = True
                ctx.state, ctx.data, ctx.version = stored
                if ctx.state not in SCREENS:
                    ctx.state, ctx.data = "menu", {}
                ctx.screen = str(ctx.data.pop("_s", ctx.version))
            if reconsent.pending(ctx) and not reconsent.answering(ctx):
                # a new notice first: nothing of this input is processed or stored
                replies = await reconsent.ask(ctx)
            else:
                replies = await _dispatch(ctx)
        if ctx.participant is not None and person is not None and ctx.participant.id != person.id:
            # The step made this chat act as another participant (a browser linked to
            # its Telegram participant): that one's state is the one to write.
            exists, ctx.version = await _state_version(session, ctx.participant.id)
        if ctx.participant is not None and not ctx.forget:
            await _save(ctx, exists=exists)
        registered = ctx.participant.id if person is None and ctx.participant else None
        fitted = tuple(_fitted(r) for r in replies)
        if not fitted:
            return Outcome(replies=(), registered=registered, language=ctx.lang)
        outgoing = await outbox.store(
            session,
            channel=channel,
            external_id=external_id,
            update_id=inbound.update_id,
            edit_target=inbound.message_ref,
            replies=fitted,
            now=now,
        )
        return Outcome(replies=fitted, outgoing=outgoing, registered=registered, language=ctx.lang)

    def _language(self, hint: str | None) -> str:
        code = (hint or "").lower().split("-")[0]
        if code in self.consultation.exercise.languages and code in self.catalogs.messages:
            return code
        return DEFAULT_LANGUAGE


async def _dispatch(ctx: Ctx) -> Replies:
    inbound = ctx.inbound
    if SCREENS[ctx.state].open_only and not ctx.consultation.is_open(ctx.now):
        return await show(ctx, "menu", before=proposal.closed_text(ctx))
    if inbound.kind == "start":
        return await commands.start(ctx)
    if inbound.kind == "command":
        return await commands.run(ctx, inbound.command, inbound.text)
    if inbound.kind == "text" and inbound.text.lstrip().startswith("/"):
        name, _, rest = inbound.text.lstrip()[1:].partition(" ")
        return await commands.run(ctx, name.split("@")[0].lower(), rest)
    if inbound.kind == "button":
        return await _button(ctx, inbound.data)
    if inbound.kind == "text":
        return await typed(ctx, inbound.text)
    return await draw(ctx, before=unexpected(ctx))


async def _button(ctx: Ctx, data: str) -> Replies:
    head, _, rest = data.partition(":")
    args = rest.split(":") if rest else []
    if number(head) is None:
        return await commands.global_button(ctx, head, args)
    if head != ctx.screen or not args:
        if await voting.judged_already(ctx, args):
            text = ctx.t("error.already_judged")
            return await draw(ctx, before=text, notice=text)
        return await stale(ctx)
    return await pressed(ctx, args)


# How a screen takes a button or a text: the same for every flow (the citizen's and
# the staff's, see pmd_domain.conversation.staff).
async def pressed(ctx: Ctx, args: list[str]) -> Replies:
    """A button of the screen on display (``args``: its action and arguments)."""
    handler = SCREENS[ctx.state].button
    replies = await handler(ctx, args[0], args[1:]) if handler else None
    if replies is None:
        return await stale(ctx)
    return replies


async def typed(ctx: Ctx, text: str) -> Replies:
    """A text typed on the screen on display; a screen that expects none is drawn again."""
    handler = SCREENS[ctx.state].text
    replies = await handler(ctx, text) if handler else None
    if replies is None:
        return await draw(ctx, before=ctx.t("input.use_buttons"))
    return replies


async def stale(ctx: Ctx) -> Replies:
    """A button of an earlier screen (or one the screen does not know): the screen again."""
    return await draw(ctx, before=ctx.t("input.stale"), notice=ctx.t("input.stale_notice"))


def _fitted(reply: Reply) -> Reply:
    """``reply`` with its text within the channels' limit (the same object if it is)."""
    text = fit(reply.text)
    return reply if text is reply.text else replace(reply, text=text)


def _normalised(inbound: Inbound) -> Inbound:
    if len(inbound.text) > MAX_INPUT_CHARS:
        return replace(inbound, text=inbound.text[:MAX_INPUT_CHARS])
    return inbound


# The statements of every step, built once (the step only binds its values). The
# state is written with plain table statements: no ORM object stands for it.
_PROCESSED = cast(Table, ProcessedUpdate.__table__)
_STATES = cast(Table, ConversationState.__table__)
_PARTICIPANTS = cast(Table, Participant.__table__)
# The first processed update and the first state: INSERT ... ON CONFLICT DO NOTHING,
# one statement per dialect.
_FIRST_TIME = {
    dialect: insert(_PROCESSED)
    .values(
        channel=bindparam("channel"),
        update_id=bindparam("update_id"),
        processed_at=bindparam("now"),
    )
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    for dialect, insert in INSERTS.items()
}
_FIRST_STATE = {
    dialect: insert(_STATES).on_conflict_do_nothing(index_elements=["participant_id"])
    for dialect, insert in INSERTS.items()
}
_NEXT_STATE = (
    _STATES.update()
    .where(
        _STATES.c.participant_id == bindparam("participant"),
        _STATES.c.version == bindparam("stored_version"),
    )
    .values({name: bindparam(name) for name in ("state", "data", "version", "updated_at")})
)
# SQLite: the participant and the state in one query (see _load).
_PERSON_AND_STATE = (
    select(_PARTICIPANTS, _STATES.c.state, _STATES.c.data, _STATES.c.version)
    .outerjoin(_STATES, _STATES.c.participant_id == _PARTICIPANTS.c.id)
    .where(
        _PARTICIPANTS.c.channel == bindparam("channel"),
        _PARTICIPANTS.c.external_id == bindparam("external_id"),
    )
)
# PostgreSQL: the state row locked in its own query (see _locked_state).
_LOCKED_STATE = (
    select(_STATES.c.state, _STATES.c.data, _STATES.c.version)
    .where(_STATES.c.participant_id == bindparam("participant"))
    .with_for_update()
)


async def first_time(session: AsyncSession, *, channel: str, update_id: str, now: datetime) -> bool:
    """Record the update as handled; whether it was new (a redelivered one is not).

    One record per channel and update for every handler of the channel (the citizen
    conversation, the staff flows): an update one of them handled is not handled again
    by either.
    """
    # The row count says whether the row went in: no RETURNING, no rows to fetch.
    result = await execute(
        session,
        _FIRST_TIME[dialect_of(session)],
        {"channel": channel, "update_id": update_id[:64], "now": now},
    )
    return bool(result.rowcount == 1)


Stored = tuple[str, dict[str, Any], int]


async def _load(
    session: AsyncSession, *, channel: str, external_id: str
) -> tuple[Participant | None, Stored | None]:
    """The chat's participant and their stored conversation state (either may be missing)."""
    if dialect_of(session) != "sqlite":
        person = await participants.find(session, channel=channel, external_id=external_id)
        if person is None:
            person = await participants.linked(session, channel=channel, external_id=external_id)
        return person, (await _locked_state(session, person.id) if person else None)
    # SQLite: the transaction already holds the database's write lock (BEGIN
    # IMMEDIATE), so nothing can change either row before this step commits; both
    # come in one query.
    row = (
        await execute(session, _PERSON_AND_STATE, {"channel": channel, "external_id": external_id})
    ).first()
    if row is None:
        # Not a participant of its own: maybe a browser linked to a Telegram participant.
        person = await participants.linked(session, channel=channel, external_id=external_id)
        return person, (await _locked_state(session, person.id) if person else None)
    person = adopt(session, Participant, row)
    state, data, version = row.state, row.data, row.version
    return person, (None if state is None else (str(state), dict(data or {}), int(version)))


async def _locked_state(session: AsyncSession, participant_id: int) -> Stored | None:
    # The state row itself is locked, in its own query: locking the participant in a
    # join instead would let PostgreSQL return the state as it was before the other
    # process's step committed (only the locked table's row is re-read).
    row = (await execute(session, _LOCKED_STATE, {"participant": participant_id})).first()
    if row is None:
        return None
    return str(row[0]), dict(row[1] or {}), int(row[2])


async def _state_version(session: AsyncSession, participant_id: int) -> tuple[bool, int]:
    stored = await _locked_state(session, participant_id)
    return (False, 0) if stored is None else (True, stored[2])


async def _save(ctx: Ctx, *, exists: bool) -> None:
    assert ctx.participant is not None
    values = {
        "state": ctx.state,
        "data": {**ctx.data, "_s": ctx.screen},
        "version": ctx.version + 1,
        "updated_at": ctx.now,
    }
    if not exists:
        # Two first steps of one chat at once (a double tap on Acepto handled by two
        # processes): the first one stored wins, both answered the same.
        await execute(
            ctx.session,
            _FIRST_STATE[dialect_of(ctx.session)],
            {"participant_id": ctx.participant.id, **values},
        )
        return
    result = await execute(
        ctx.session,
        _NEXT_STATE,
        {"participant": ctx.participant.id, "stored_version": ctx.version, **values},
    )
    if result.rowcount != 1:
        raise StateConflict("conversation state changed under this step")
