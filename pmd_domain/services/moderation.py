"""Moderation by staff: the queue of proposals waiting, decisions, and telling the author.

The queue holds pending proposals, those reported by citizens first (a published
proposal comes back to it after enough counted reports, see ``votes.judge``; one a
moderator already kept stays published while it waits again), then the oldest. A staff member walks it with a cursor, the
``(reports, id)`` of the proposal last shown, so a skipped proposal is not shown
again until the walk starts over. Every decision checks the role and that the
proposal still waits, inside the decision's transaction: a button pressed after
another staff member decided, or after the role was withdrawn, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal
from pmd_domain.errors import AlreadyModerated, InvalidChoice, NotFound
from pmd_domain.services import audit, notifications, proposals, staff
from pmd_domain.services.texts import require_text
from pmd_domain.statuses import ProposalStatus

DECISIONS = ("publish", "reject", "reassign")
# Quick reasons offered on a rejection; their texts are ``moderation.reason.<key>``.
QUICK_REASONS = ("offensive", "personal_data", "off_topic", "advertising", "unclear")
REASON_KEY = "moderation.reason.{}"
REASON_MIN_CHARS = 3
REASON_MAX_CHARS = 500
PUBLISHED_KEY = "notify.published"
REJECTED_KEY = "notify.rejected"

Cursor = tuple[int, int]  # (reports, id) of the proposal last shown


@dataclass(frozen=True)
class Waiting:
    """The next proposal to moderate (None at the end of the walk) and how many wait in all."""

    proposal: Proposal | None
    waiting: int


async def waiting_count(session: AsyncSession) -> int:
    """How many proposals wait for moderation."""
    found = await session.scalar(
        select(func.count()).select_from(Proposal).where(proposals.waiting())
    )
    return int(found or 0)


async def next_waiting(session: AsyncSession, *, after: Cursor | None = None) -> Waiting:
    """The first proposal of the queue after ``after`` (reported first, then oldest)."""
    found = await proposals.pending_queue(session, after=after)
    return Waiting(proposal=found[0] if found else None, waiting=await waiting_count(session))


async def waiting_proposal(session: AsyncSession, *, proposal_id: int) -> Proposal:
    """The proposal if it still waits; AlreadyModerated (with its status) otherwise."""
    record = await session.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if record is None:
        raise NotFound("proposal")
    if record.status != ProposalStatus.PENDING and record.review_since is None:
        raise AlreadyModerated(status=record.status, folio=record.folio)
    return record


def quick_reason(key: str) -> str:
    """The catalogue key of a quick rejection reason (InvalidChoice for unknown ones)."""
    if key not in QUICK_REASONS:
        raise InvalidChoice(reason=key)
    return REASON_KEY.format(key)


async def decide(
    session: AsyncSession,
    *,
    consultation: Consultation,
    proposal_id: int,
    decision: str,
    staff_id: int,
    admin_ids: list[int],
    now: datetime,
    reason: str | None = None,
    reason_key: str | None = None,
    topic: str | None = None,
) -> Proposal:
    """Publish, reject (``reason``, typed or a quick reason's text) or reassign (``topic``).

    ``staff_id`` must still hold the "moderate" permission and the proposal must still
    wait (AlreadyModerated otherwise). Publishing and rejecting queue a message for the
    author in the same transaction; reassigning keeps the proposal in the queue. A
    proposal published again after citizens reported it tells the author nothing new.
    """
    if decision not in DECISIONS:
        raise InvalidChoice(decision=decision)
    await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission="moderate")
    record = await waiting_proposal(session, proposal_id=proposal_id)
    came_back = record.reports > 0  # it was published before citizens reported it
    if decision == "reject":
        reason = require_text(reason or "", min_chars=REASON_MIN_CHARS, max_chars=REASON_MAX_CHARS)
    record = await proposals.moderate(
        session,
        consultation=consultation,
        proposal_id=record.id,
        decision=decision,
        staff_id=staff_id,
        now=now,
        reason=reason,
        topic=topic,
    )
    author = await session.get(Participant, record.participant_id)
    params: dict[str, str] = {"folio": record.folio or ""}
    if decision == "reject":
        params["reason"] = record.moderation_reason or ""
        if reason_key:
            params["reason_key"] = reason_key  # told in the author's own language
        key: str | None = REJECTED_KEY
    else:
        key = PUBLISHED_KEY if decision == "publish" and not came_back else None
    if key is not None and author is not None:
        await notifications.queue(session, participant=author, text_key=key, params=params, now=now)
    details: dict[str, str] = {"folio": record.folio or ""}
    if decision == "reject":
        details["reason"] = reason_key or "typed"  # a typed reason stays with the proposal
    if decision == "reassign":
        details["topic"] = topic or ""
    await audit.record(
        session,
        actor=audit.staff_actor(staff_id),
        action=f"moderation.{decision}",
        target=f"proposal:{record.id}",
        now=now,
        details=details,
    )
    return record
