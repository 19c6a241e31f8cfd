"""``/moderar``: the moderation queue in the bot (Publicar / Rechazar / Reasignar tema).

One message shows one waiting proposal; each button edits it into the next step or
the next proposal. Buttons carry ``mod:<action>:<proposal id>[:...]`` (≤ 64 bytes).
A rejection waiting for a typed reason is a staff draft of kind ``reject`` in the
database, so any bot process takes the reason (``bot.staff.drafts`` routes the
staff member's next text by that stored draft). Texts go out as plain text: nothing a
citizen wrote can inject formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.context import Services, services_of
from bot.staff.access import (
    PRIVATE_MESSAGE,
    Context,
    language_of,
    staff_only,
    wake_notifications,
)
from bot.staff.replies import reply
from pmd_domain.clock import as_aware, utcnow
from pmd_domain.conversation.types import Button, Reply
from pmd_domain.db.models import Proposal
from pmd_domain.errors import (
    AlreadyModerated,
    DomainError,
    InvalidChoice,
    NotAllowed,
    NotFound,
    TextNotReadable,
    TextTooLong,
    TextTooShort,
)
from pmd_domain.i18n import DEFAULT_LANGUAGE
from pmd_domain.services import moderation, staff_drafts
from pmd_domain.services.moderation import Cursor, Waiting

PREFIX = "mod"
DRAFT_KIND = staff_drafts.Kind.REJECT
BAD_REASON = (TextNotReadable, TextTooShort, TextTooLong)
Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Screen:
    """What a handler needs to draw: the services, the language, the staff member."""

    services: Services
    lang: str
    user_id: int

    def t(self, key: str, **params: object) -> str:
        """A staff text in this staff member's language."""
        return self.services.catalogs.text(self.lang, key, **params)

    def button(self, key: str, action: str, *args: int | str) -> Button:
        """A moderation button: ``mod:<action>[:<arg>...]``."""
        return Button(label=self.t(key), data=":".join([PREFIX, action, *map(str, args)]))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """``/moderar`` and its buttons (staff group)."""
    return [
        CommandHandler("moderar", start, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(pressed, pattern=rf"^{PREFIX}:"),
    ]


def screen_of(update: Update, context: Context) -> Screen:
    """The drawing context of a staff update."""
    services = services_of(context)
    assert update.effective_user is not None
    return Screen(services, language_of(update, services.catalogs), update.effective_user.id)


# ------------------------------------------------------------------ handlers
@staff_only("moderate")
async def start(update: Update, context: Context, role: str) -> None:
    """``/moderar``: the first proposal of the queue."""
    screen = screen_of(update, context)
    async with screen.services.database.transaction() as session:
        await drop_reject_draft(session, user_id=screen.user_id)
        found = await moderation.next_waiting(session)
    await reply(update, context, queue_reply(screen, found))


@staff_only("moderate")
async def pressed(update: Update, context: Context, role: str) -> None:
    """A moderation button."""
    query = update.callback_query
    assert query is not None
    screen = screen_of(update, context)
    action, *raw = (query.data or "").split(":")[1:] or [""]
    args = [int(a) for a in raw if a.isdigit()]
    known = action in ACTIONS and len(args) == len(raw) == ARITY[action]
    try:
        answer = await ACTIONS[action](screen, *args) if known else None
    except (AlreadyModerated, NotFound) as exc:
        answer = await after_stale(screen, exc)
    except NotAllowed:
        answer = Reply(text=screen.t("staff.not_allowed"), edit=True)
    except InvalidChoice:
        answer = None
    if answer is None:
        answer = Reply(text=screen.t("staff.moderation.stale_button"), edit=True)
    await reply(update, context, answer)
    wake_notifications(context)


async def reason_typed(update: Update, context: Context, draft: dict[str, Any]) -> None:
    """The reason of a rejection, typed (``bot.staff.drafts`` routes it here)."""
    if not str(draft.get("proposal_id", "")).isdigit():
        return
    screen = screen_of(update, context)
    proposal_id, reports = int(draft["proposal_id"]), int(draft.get("reports", 0))
    text = update.message.text if update.message else ""
    try:
        answer = await decided(
            screen, proposal_id, "reject", after=(reports, proposal_id), reason=text or ""
        )
    except BAD_REASON:
        answer = Reply(text=screen.t("staff.moderation.reason_invalid"))
    except (AlreadyModerated, NotFound) as exc:
        answer = await after_stale(screen, exc)
    except NotAllowed:
        answer = Reply(text=screen.t("staff.not_allowed"))
    await reply(update, context, answer)
    wake_notifications(context)
    raise ApplicationHandlerStop


async def cancel_reason(update: Update, context: Context, draft: dict[str, Any]) -> None:
    """``/cancelar`` while a rejection waits for its reason: back to the proposal."""
    if not str(draft.get("proposal_id", "")).isdigit():
        return
    screen = screen_of(update, context)
    try:
        answer = await show_again(screen, int(draft["proposal_id"]))
    except (AlreadyModerated, NotFound) as exc:
        answer = await after_stale(screen, exc)
    cancelled = screen.t("staff.moderation.reject_cancelled")
    answer = Reply(text=f"{cancelled}\n\n{answer.text}", buttons=answer.buttons)
    await reply(update, context, answer)
    raise ApplicationHandlerStop


# ------------------------------------------------------------------ actions
async def publish(screen: Screen, proposal_id: int) -> Reply:
    """Publicar: the author is told; the next proposal follows."""
    return await decided(screen, proposal_id, "publish")


async def ask_reason(screen: Screen, proposal_id: int) -> Reply:
    """Rechazar: quick reasons, or a typed one (the draft remembers which proposal)."""
    async with screen.services.database.transaction() as session:
        record = await moderation.waiting_proposal(session, proposal_id=proposal_id)
        await staff_drafts.put(
            session,
            user_id=screen.user_id,
            kind=DRAFT_KIND,
            data={"proposal_id": record.id, "reports": record.reports},
            now=utcnow(),
        )
        folio = record.folio
    reasons = [
        screen.button(moderation.REASON_KEY.format(key), "rq", proposal_id, index)
        for index, key in enumerate(moderation.QUICK_REASONS)
    ]
    back = screen.button("staff.moderation.back", "b", proposal_id)
    return choices(screen.t("staff.moderation.ask_reason", folio=folio), reasons, (back,))


async def quick_reject(screen: Screen, proposal_id: int, index: int) -> Reply | None:
    """A quick reason: stored in the default language, told to the author in theirs."""
    if not 0 <= index < len(moderation.QUICK_REASONS):
        return None
    key = moderation.quick_reason(moderation.QUICK_REASONS[index])
    reason = screen.services.catalogs.text(DEFAULT_LANGUAGE, key)
    return await decided(screen, proposal_id, "reject", reason=reason, reason_key=key)


async def ask_pillar(screen: Screen, proposal_id: int) -> Reply:
    """Reasignar tema: first the pillar."""
    record = await still_waiting(screen, proposal_id)
    consultation = screen.services.consultation
    pillars = [
        Button(
            label=f"{p.number}. {consultation.text(p.name, screen.lang)}",
            data=f"{PREFIX}:tp:{proposal_id}:{index}",
        )
        for index, p in enumerate(consultation.pillars)
    ]
    back = screen.button("staff.moderation.back", "b", proposal_id)
    return choices(screen.t("staff.moderation.ask_pillar", folio=record.folio), pillars, (back,))


async def ask_topic(screen: Screen, proposal_id: int, pillar_index: int) -> Reply | None:
    """Reasignar tema: then the topic of the chosen pillar."""
    pillars = screen.services.consultation.pillars
    if not 0 <= pillar_index < len(pillars):
        return None
    record = await still_waiting(screen, proposal_id)
    pillar = pillars[pillar_index]
    consultation = screen.services.consultation
    topics = [
        Button(
            label=consultation.text(t.name, screen.lang),
            data=f"{PREFIX}:tt:{proposal_id}:{pillar_index}:{index}",
        )
        for index, t in enumerate(pillar.topics)
    ]
    back = (
        screen.button("staff.moderation.other_pillar", "t", proposal_id),
        screen.button("staff.moderation.back", "b", proposal_id),
    )
    text = screen.t(
        "staff.moderation.ask_topic",
        folio=record.folio,
        pillar=consultation.text(pillar.name, screen.lang),
    )
    return choices(text, topics, back)


async def reassign(
    screen: Screen, proposal_id: int, pillar_index: int, topic_index: int
) -> Reply | None:
    """The new topic: the same proposal again, still waiting for Publicar or Rechazar."""
    pillars = screen.services.consultation.pillars
    if not 0 <= pillar_index < len(pillars):
        return None
    pillar = pillars[pillar_index]
    if not 0 <= topic_index < len(pillar.topics):
        return None
    topic = f"{pillar.key}.{pillar.topics[topic_index].key}"
    services = screen.services
    async with services.database.transaction() as session:
        record = await moderation.decide(
            session,
            consultation=services.consultation,
            proposal_id=proposal_id,
            decision="reassign",
            staff_id=screen.user_id,
            admin_ids=services.settings.admin_ids,
            now=utcnow(),
            topic=topic,
        )
        waiting = moderation.Waiting(record, await moderation.waiting_count(session))
    done = screen.t(
        "staff.moderation.reassigned", folio=record.folio, topic=topic_label(screen, record)
    )
    return card(screen, waiting, before=done, notice=done)


async def show_again(screen: Screen, proposal_id: int) -> Reply:
    """Volver: the proposal as it was first shown (a pending rejection is dropped)."""
    async with screen.services.database.transaction() as session:
        await drop_reject_draft(session, user_id=screen.user_id)
        record = await moderation.waiting_proposal(session, proposal_id=proposal_id)
        waiting = moderation.Waiting(record, await moderation.waiting_count(session))
    return card(screen, waiting)


async def skip(screen: Screen, proposal_id: int) -> Reply:
    """Saltar: the next proposal; this one stays in the queue."""
    async with screen.services.database.reading() as session:
        record = await session.get(Proposal, proposal_id)
        after: Cursor = (record.reports if record else 0, proposal_id)
        found = await moderation.next_waiting(session, after=after)
    return queue_reply(screen, found)


async def from_the_start(screen: Screen) -> Reply:
    """Volver al inicio: the queue again from its first proposal."""
    async with screen.services.database.reading() as session:
        found = await moderation.next_waiting(session)
    return queue_reply(screen, found)


async def stop(screen: Screen) -> Reply:
    """Terminar: how many still wait."""
    async with screen.services.database.transaction() as session:
        await drop_reject_draft(session, user_id=screen.user_id)
        waiting = await moderation.waiting_count(session)
    return Reply(text=screen.t("staff.moderation.stopped", waiting=waiting), edit=True)


# Each button's action and how many numbers follow it in the button's data.
ARITY = {"p": 1, "r": 1, "rq": 2, "t": 1, "tp": 2, "tt": 3, "b": 1, "s": 1, "n": 0, "x": 0}
ACTIONS: dict[str, Any] = {
    "p": publish,
    "r": ask_reason,
    "rq": quick_reject,
    "t": ask_pillar,
    "tp": ask_topic,
    "tt": reassign,
    "b": show_again,
    "s": skip,
    "n": from_the_start,
    "x": stop,
}


# ------------------------------------------------------------------ pieces
async def decided(
    screen: Screen,
    proposal_id: int,
    decision: str,
    *,
    after: Cursor | None = None,
    reason: str | None = None,
    reason_key: str | None = None,
) -> Reply:
    """Publish or reject in one transaction (role checked again there), then the next one."""
    services = screen.services
    async with services.database.transaction() as session:
        if after is None:
            current = await moderation.waiting_proposal(session, proposal_id=proposal_id)
            after = (current.reports, current.id)
        record = await moderation.decide(
            session,
            consultation=services.consultation,
            proposal_id=proposal_id,
            decision=decision,
            staff_id=screen.user_id,
            admin_ids=services.settings.admin_ids,
            now=utcnow(),
            reason=reason,
            reason_key=reason_key,
        )
        await drop_reject_draft(session, user_id=screen.user_id)
        found = await moderation.next_waiting(session, after=after)
    if decision == "publish":
        done = screen.t("staff.moderation.published", folio=record.folio)
    else:
        done = screen.t(
            "staff.moderation.rejected", folio=record.folio, reason=record.moderation_reason
        )
    return queue_reply(screen, found, before=done, notice=done)


async def after_stale(screen: Screen, exc: DomainError) -> Reply:
    """Somebody else decided first (or the proposal is gone): say so kindly, show the next."""
    async with screen.services.database.transaction() as session:
        await drop_reject_draft(session, user_id=screen.user_id)
        found = await moderation.next_waiting(session)
    if isinstance(exc, AlreadyModerated):
        status = screen.t(f"staff.moderation.status.{exc.params.get('status', 'published')}")
        folio = exc.params.get("folio") or ""
        text = screen.t("staff.moderation.stale", folio=folio, status=status)
    else:
        text = screen.t("staff.moderation.gone")
    return queue_reply(screen, found, before=text, notice=text)


async def still_waiting(screen: Screen, proposal_id: int) -> Proposal:
    """The proposal if it still waits (AlreadyModerated otherwise)."""
    async with screen.services.database.reading() as session:
        return await moderation.waiting_proposal(session, proposal_id=proposal_id)


async def drop_reject_draft(session: AsyncSession, *, user_id: int) -> None:
    """Forget an unfinished rejection (other kinds of draft are not ours to drop)."""
    await staff_drafts.clear(session, user_id=user_id, kind=DRAFT_KIND)


def queue_reply(
    screen: Screen,
    found: Waiting,
    *,
    before: str | None = None,
    notice: str | None = None,
) -> Reply:
    """The next proposal, or what to say when the walk through the queue is over."""
    if found.proposal is not None:
        return card(screen, found, before=before, notice=notice)
    lines = [before] if before else []
    buttons: Rows = ()
    if found.waiting == 0:
        lines.append(screen.t("staff.moderation.empty"))
    else:
        lines.append(screen.t("staff.moderation.end_of_queue"))
        buttons = (
            (
                screen.button("staff.moderation.restart", "n"),
                screen.button("staff.moderation.stop", "x"),
            ),
        )
    return Reply(text="\n\n".join(lines), buttons=buttons, edit=True, notice=notice)


def choices(text: str, options: list[Button], last: tuple[Button, ...]) -> Reply:
    """A question with one option per row and a last row (Volver ...)."""
    return Reply(text=text, buttons=(*((b,) for b in options), last), edit=True)


def topic_label(screen: Screen, record: Proposal) -> str:
    """The proposal's topic name (its key when the consultation no longer has it)."""
    consultation = screen.services.consultation
    pillar = consultation.pillar(record.pillar)
    topic = pillar.topic(record.topic) if pillar else None
    return consultation.text(topic.name, screen.lang) if topic else record.topic


def card(
    screen: Screen, waiting: Waiting, *, before: str | None = None, notice: str | None = None
) -> Reply:
    """One waiting proposal with its decision buttons."""
    record = waiting.proposal
    assert record is not None
    consultation = screen.services.consultation
    pillar = consultation.pillar(record.pillar)
    lines = [before] if before else []
    lines.append(screen.t("staff.moderation.header", waiting=waiting.waiting))
    if record.reports:
        lines.append(screen.t("staff.moderation.reported", reports=record.reports))
    lines.append(
        screen.t(
            "staff.moderation.card",
            folio=record.folio,
            pillar=f"{pillar.number}. {consultation.text(pillar.name, screen.lang)}"
            if pillar
            else record.pillar,
            topic=topic_label(screen, record),
            submitted=as_aware(record.submitted_at).strftime("%Y-%m-%d"),
            problem=record.problem,
            proposal=record.proposal,
            year=consultation.exercise.vision_year,
            vision=record.vision or screen.t("staff.moderation.no_vision"),
        )
    )
    buttons = (
        (
            screen.button("staff.moderation.publish", "p", record.id),
            screen.button("staff.moderation.reject", "r", record.id),
        ),
        (screen.button("staff.moderation.reassign", "t", record.id),),
        (
            screen.button("staff.moderation.skip", "s", record.id),
            screen.button("staff.moderation.stop", "x"),
        ),
    )
    return Reply(text="\n\n".join(lines), buttons=buttons, edit=True, notice=notice)
