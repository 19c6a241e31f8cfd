"""``/moderar``: the moderation queue as staff screens (Publicar / Rechazar / Reasignar tema).

One message shows one waiting proposal (screen ``mod.card``); each button edits it into
the next screen or the next proposal. Rechazar asks for the reason (``mod.reason``:
quick reasons, or a typed one, taken for 30 minutes); Reasignar tema asks for the
pillar and then the topic (``mod.pillar``, ``mod.topic``). Every decision is one call
of ``moderation.decide`` (the role checked again there); somebody else deciding first,
or the proposal gone, is said kindly and the queue goes on. Texts go out as plain
text: nothing a citizen wrote can inject formatting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pmd_domain.conversation.staff import StaffCtx, flow, staff_screen
from pmd_domain.conversation.types import Button, Reply
from pmd_domain.conversation.ui import Replies, attempt, draw, number, prefix, show
from pmd_domain.db.models import Proposal
from pmd_domain.errors import (
    AlreadyModerated,
    DomainError,
    NotFound,
    TextNotReadable,
    TextTooLong,
    TextTooShort,
)
from pmd_domain.i18n import DEFAULT_LANGUAGE
from pmd_domain.services import moderation
from pmd_domain.services.moderation import Cursor, Waiting

REASON_TTL = timedelta(minutes=30)  # a rejection waiting for its typed reason
BAD_REASON = (TextNotReadable, TextTooShort, TextTooLong)
STALE = (AlreadyModerated, NotFound)


class ModerationChoice(StrEnum):
    """The buttons of the moderation screens (each letter means the same on all of them)."""

    PUBLISH = "p"  # mod.card
    REJECT = "r"
    REASSIGN = "t"
    SKIP = "s"
    STOP = "x"  # mod.card and mod.end
    REASON = "rq"  # mod.reason: rq:<index of a quick reason>
    PILLAR = "tp"  # mod.pillar: tp:<index of the pillar>
    TOPIC = "tt"  # mod.topic: tt:<index of the topic>
    OTHER_PILLAR = "o"
    RESTART = "n"  # mod.end: the queue from its start
    BACK = "b"  # mod.reason, mod.pillar, mod.topic: back to the proposal


# ------------------------------------------------------------------ the flow
async def begin(ctx: StaffCtx) -> Replies:
    """``/moderar``: the first proposal of the queue."""
    return await queue(ctx, await moderation.next_waiting(ctx.session))


async def cancel(ctx: StaffCtx) -> Replies:
    """``/cancelar`` while a rejection waits for its reason: back to the proposal."""
    return prefix(await back(ctx), ctx.t("staff.moderation.reject_cancelled"))


# ------------------------------------------------------------------ screens
async def card(ctx: StaffCtx) -> Replies:
    """One waiting proposal with its decision buttons."""
    record = await _proposal(ctx)
    if record is None:
        return [Reply(text=ctx.t("staff.moderation.gone"), edit=True)]
    consultation = ctx.consultation
    pillar = consultation.pillar(record.pillar)
    lines = [ctx.t("staff.moderation.header", waiting=ctx.data.get("waiting", 0))]
    if record.reports:
        lines.append(ctx.t("staff.moderation.reported", reports=record.reports))
    lines.append(
        ctx.t(
            "staff.moderation.card",
            folio=record.folio,
            pillar=f"{pillar.number}. {ctx.c(pillar.name)}" if pillar else record.pillar,
            topic=topic_label(ctx, record),
            submitted=ctx.day(record.submitted_at),
            problem=record.problem,
            proposal=record.proposal,
            year=consultation.exercise.vision_year,
            vision=record.vision or ctx.t("staff.moderation.no_vision"),
        )
    )
    buttons = (
        (
            ctx.button(ctx.t("staff.moderation.publish"), ModerationChoice.PUBLISH),
            ctx.button(ctx.t("staff.moderation.reject"), ModerationChoice.REJECT),
        ),
        (ctx.button(ctx.t("staff.moderation.reassign"), ModerationChoice.REASSIGN),),
        (
            ctx.button(ctx.t("staff.moderation.skip"), ModerationChoice.SKIP),
            ctx.button(ctx.t("staff.moderation.stop"), ModerationChoice.STOP),
        ),
    )
    return [Reply(text="\n\n".join(lines), buttons=buttons, edit=True)]


async def on_card(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """Publicar, Rechazar, Reasignar tema, Saltar, Terminar."""
    if action == ModerationChoice.PUBLISH:
        return await decided(ctx, "publish")
    if action == ModerationChoice.REJECT:
        return await _waiting_then(ctx, lambda: show(ctx, "mod.reason", **_keep(ctx)))
    if action == ModerationChoice.REASSIGN:
        return await _waiting_then(ctx, lambda: show(ctx, "mod.pillar", **_keep(ctx)))
    if action == ModerationChoice.SKIP:
        return await queue(ctx, await moderation.next_waiting(ctx.session, after=_cursor(ctx)))
    if action == ModerationChoice.STOP:
        return await stop(ctx)
    return None


async def ask_reason(ctx: StaffCtx) -> Replies:
    """Rechazar: quick reasons, or a typed one."""
    reasons = [
        ctx.button(ctx.t(moderation.REASON_KEY.format(key)), ModerationChoice.REASON, index)
        for index, key in enumerate(moderation.QUICK_REASONS)
    ]
    folio = await _folio(ctx)
    return choices(ctx.t("staff.moderation.ask_reason", folio=folio), reasons, (_back(ctx),))


async def on_reason_button(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """A quick reason (stored in the default language, told to the author in theirs), or Volver."""
    if action == ModerationChoice.BACK:
        return await back(ctx)
    index = number(args[0]) if action == ModerationChoice.REASON and len(args) == 1 else None
    if index is None or index >= len(moderation.QUICK_REASONS):
        return None
    key = moderation.quick_reason(moderation.QUICK_REASONS[index])
    reason = ctx.catalogs.text(DEFAULT_LANGUAGE, key)
    return await decided(ctx, "reject", reason=reason, reason_key=key)


async def on_reason_text(ctx: StaffCtx, text: str) -> Replies | None:
    """The reason of a rejection, typed."""
    if ctx.inbound.kind != "text":
        return None
    return await decided(ctx, "reject", reason=text)


async def ask_pillar(ctx: StaffCtx) -> Replies:
    """Reasignar tema: first the pillar."""
    pillars = [
        ctx.button(f"{p.number}. {ctx.c(p.name)}", ModerationChoice.PILLAR, index)
        for index, p in enumerate(ctx.consultation.pillars)
    ]
    folio = await _folio(ctx)
    return choices(ctx.t("staff.moderation.ask_pillar", folio=folio), pillars, (_back(ctx),))


async def on_pillar(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """A pillar: its topics follow."""
    if action == ModerationChoice.BACK:
        return await back(ctx)
    index = number(args[0]) if action == ModerationChoice.PILLAR and len(args) == 1 else None
    if index is None or index >= len(ctx.consultation.pillars):
        return None
    return await _waiting_then(ctx, lambda: show(ctx, "mod.topic", **_keep(ctx), pillar=index))


async def ask_topic(ctx: StaffCtx) -> Replies:
    """Reasignar tema: then the topic of the chosen pillar."""
    pillar = ctx.consultation.pillars[int(ctx.data["pillar"])]
    topics = [
        ctx.button(ctx.c(t.name), ModerationChoice.TOPIC, index)
        for index, t in enumerate(pillar.topics)
    ]
    last = (
        ctx.button(ctx.t("staff.moderation.other_pillar"), ModerationChoice.OTHER_PILLAR),
        _back(ctx),
    )
    folio = await _folio(ctx)
    text = ctx.t("staff.moderation.ask_topic", folio=folio, pillar=ctx.c(pillar.name))
    return choices(text, topics, last)


async def on_topic(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """The new topic: the same proposal again, still waiting for Publicar or Rechazar."""
    if action == ModerationChoice.BACK:
        return await back(ctx)
    if action == ModerationChoice.OTHER_PILLAR:
        return await _waiting_then(ctx, lambda: show(ctx, "mod.pillar", **_keep(ctx)))
    pillar = ctx.consultation.pillars[int(ctx.data["pillar"])]
    index = number(args[0]) if action == ModerationChoice.TOPIC and len(args) == 1 else None
    if index is None or index >= len(pillar.topics):
        return None
    topic = f"{pillar.key}.{pillar.topics[index].key}"
    record, error = await _decide(ctx, "reassign", topic=topic)
    if error is not None:
        return await _refused(ctx, error)
    assert record is not None
    done = ctx.t("staff.moderation.reassigned", folio=record.folio, topic=topic_label(ctx, record))
    waiting = Waiting(record, await moderation.waiting_count(ctx.session))
    return await queue(ctx, waiting, before=done)


async def end_of_queue(ctx: StaffCtx) -> Replies:
    """The walk reached the end while proposals still wait."""
    buttons = (
        (
            ctx.button(ctx.t("staff.moderation.restart"), ModerationChoice.RESTART),
            ctx.button(ctx.t("staff.moderation.stop"), ModerationChoice.STOP),
        ),
    )
    return [Reply(text=ctx.t("staff.moderation.end_of_queue"), buttons=buttons, edit=True)]


async def on_end(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """Volver al inicio, or Terminar."""
    if action == ModerationChoice.RESTART:
        return await begin(ctx)
    if action == ModerationChoice.STOP:
        return await stop(ctx)
    return None


# ------------------------------------------------------------------ pieces
async def queue(ctx: StaffCtx, found: Waiting, *, before: str | None = None) -> Replies:
    """The next proposal, or what to say when the walk through the queue is over."""
    if found.proposal is not None:
        record = found.proposal
        ctx.go("mod.card", proposal_id=record.id, reports=record.reports, waiting=found.waiting)
        return await draw(ctx, before=before, notice=before)
    if found.waiting == 0:
        ctx.end()
        text = "\n\n".join([*([before] if before else []), ctx.t("staff.moderation.empty")])
        return [Reply(text=text, edit=True, notice=before)]
    ctx.go("mod.end")
    return await draw(ctx, before=before, notice=before)


async def decided(
    ctx: StaffCtx, decision: str, *, reason: str | None = None, reason_key: str | None = None
) -> Replies:
    """Publish or reject (the role checked again there), then the next proposal."""
    record, error = await _decide(ctx, decision, reason=reason, reason_key=reason_key)
    if isinstance(error, BAD_REASON):
        return [Reply(text=ctx.t("staff.moderation.reason_invalid"))]
    if error is not None:
        return await _refused(ctx, error)
    assert record is not None
    ctx.notified = True
    if decision == "publish":
        done = ctx.t("staff.moderation.published", folio=record.folio)
    else:
        done = ctx.t(
            "staff.moderation.rejected", folio=record.folio, reason=record.moderation_reason
        )
    found = await moderation.next_waiting(ctx.session, after=_cursor(ctx))
    return await queue(ctx, found, before=done)


async def back(ctx: StaffCtx) -> Replies:
    """Volver: the proposal as it was first shown."""
    return await _waiting_then(ctx, lambda: _card_again(ctx))


async def stop(ctx: StaffCtx) -> Replies:
    """Terminar: how many still wait."""
    ctx.end()
    waiting = await moderation.waiting_count(ctx.session)
    return [Reply(text=ctx.t("staff.moderation.stopped", waiting=waiting), edit=True)]


async def after_stale(ctx: StaffCtx, error: DomainError) -> Replies:
    """Somebody else decided first (or the proposal is gone): say so kindly, show the next."""
    if isinstance(error, AlreadyModerated):
        status = ctx.t(f"staff.moderation.status.{error.params.get('status', 'published')}")
        folio = error.params.get("folio") or ""
        text = ctx.t("staff.moderation.stale", folio=folio, status=status)
    else:
        text = ctx.t("staff.moderation.gone")
    return await queue(ctx, await moderation.next_waiting(ctx.session), before=text)


def choices(text: str, options: list[Button], last: tuple[Button, ...]) -> Replies:
    """A question with one option per row and a last row (Volver ...)."""
    return [Reply(text=text, buttons=(*((b,) for b in options), last), edit=True)]


def topic_label(ctx: StaffCtx, record: Proposal) -> str:
    """The proposal's topic name (its key when the consultation no longer has it)."""
    pillar = ctx.consultation.pillar(record.pillar)
    topic = pillar.topic(record.topic) if pillar else None
    return ctx.c(topic.name) if topic else record.topic


async def _decide(
    ctx: StaffCtx, decision: str, **details: str | None
) -> tuple[Proposal, None] | tuple[None, DomainError]:
    return await attempt(
        ctx,
        lambda: moderation.decide(
            ctx.session,
            consultation=ctx.consultation,
            proposal_id=int(ctx.data["proposal_id"]),
            decision=decision,
            staff_id=ctx.user_id,
            admin_ids=list(ctx.admin_ids),
            now=ctx.now,
            **details,
        ),
    )


async def _refused(ctx: StaffCtx, error: DomainError) -> Replies:
    if isinstance(error, STALE):
        return await after_stale(ctx, error)
    ctx.end()
    return [Reply(text=ctx.t("staff.not_allowed"), edit=True)]


async def _waiting_then(ctx: StaffCtx, then: Callable[[], Awaitable[Replies]]) -> Replies:
    """``then``, if the proposal on display still waits (what to say if not, otherwise)."""
    try:
        record = await moderation.waiting_proposal(
            ctx.session, proposal_id=int(ctx.data["proposal_id"])
        )
    except STALE as error:
        return await after_stale(ctx, error)
    ctx.data["reports"] = record.reports
    return await then()


async def _card_again(ctx: StaffCtx) -> Replies:
    waiting = await moderation.waiting_count(ctx.session)
    return await show(ctx, "mod.card", **{**_keep(ctx), "waiting": waiting})


async def _proposal(ctx: StaffCtx) -> Proposal | None:
    return await ctx.session.get(Proposal, int(ctx.data["proposal_id"]))


async def _folio(ctx: StaffCtx) -> str:
    record = await _proposal(ctx)
    return (record.folio or "") if record else ""


def _keep(ctx: StaffCtx) -> dict[str, Any]:
    """What every screen of one proposal carries: which one, and where it was in the queue."""
    return {
        "proposal_id": int(ctx.data["proposal_id"]),
        "reports": int(ctx.data.get("reports", 0)),
        "waiting": int(ctx.data.get("waiting", 0)),
    }


def _cursor(ctx: StaffCtx) -> Cursor:
    return int(ctx.data.get("reports", 0)), int(ctx.data["proposal_id"])


def _back(ctx: StaffCtx) -> Button:
    return ctx.button(ctx.t("staff.moderation.back"), ModerationChoice.BACK)


flow("mod", command="moderar", permission="moderate", begin=begin, cancel=cancel)
staff_screen("mod.card", card, button=on_card)
staff_screen("mod.reason", ask_reason, button=on_reason_button, text=on_reason_text, ttl=REASON_TTL)
staff_screen("mod.pillar", ask_pillar, button=on_pillar)
staff_screen("mod.topic", ask_topic, button=on_topic)
staff_screen("mod.end", end_of_queue, button=on_end)
