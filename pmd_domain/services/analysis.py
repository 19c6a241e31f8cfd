"""Analysis of proposals by the planning office: review, alignment, duplicates, outcomes.

Alignment links a proposal with strategic actions of ITS pillar. Duplicates form
flat groups: every duplicate points at the group's original, never at another
duplicate. Recording an outcome queues a notification for the author.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal, ProposalAction
from pmd_domain.errors import InvalidChoice, NotADuplicate, TextTooLong
from pmd_domain.search import contains_pattern
from pmd_domain.services import notifications, proposals, ranking
from pmd_domain.services.texts import clean_text
from pmd_domain.statuses import ProposalStatus

NOTE_MAX_CHARS = 1_000
NO_OUTCOME = "sin_resultado"
STATUSES = tuple(ProposalStatus)
SORTS = ("supports", "recent", "oldest")
EXPORT_PAGE = 2_000

# Columns of the staff export (CSV and the XLSX first sheet). No person is identified.
EXPORT_COLUMNS = (
    "folio",
    "eje",
    "tema",
    "problema",
    "propuesta",
    "vision",
    "estado",
    "apoyos",
    *(name for name, _ in ranking.FILE_COLUMNS),
    ranking.REVIEW_COLUMN,
    "vistas",
    "reportes",
    "resultado",
    "nota",
    "acciones",
    "duplicado_de",
    "fecha",
)


# ---------------------------------------------------------------- alignment
async def actions_of(session: AsyncSession, *, proposal_id: int) -> list[str]:
    """The strategic actions a proposal is aligned with, by key."""
    rows = await session.scalars(
        select(ProposalAction.action)
        .where(ProposalAction.proposal_id == proposal_id)
        .order_by(ProposalAction.action)
    )
    return list(rows)


async def align(
    session: AsyncSession,
    *,
    consultation: Consultation,
    proposal_id: int,
    actions: Iterable[str],
) -> list[str]:
    """Replace the proposal's strategic actions; each must belong to the proposal's pillar."""
    record = await proposals.get(session, proposal_id=proposal_id)
    pillar = consultation.pillar(record.pillar)
    allowed = {a.key for a in pillar.actions} if pillar else set()
    chosen = sorted(set(actions))
    foreign = [key for key in chosen if key not in allowed]
    if foreign:
        raise InvalidChoice(actions=foreign, pillar=record.pillar)
    await session.execute(delete(ProposalAction).where(ProposalAction.proposal_id == record.id))
    session.add_all(ProposalAction(proposal_id=record.id, action=key) for key in chosen)
    await session.flush()
    return chosen


# ---------------------------------------------------------------- duplicates
@dataclass
class Group:
    """A group of duplicates: the original and the proposals that repeat it."""

    original: Proposal
    duplicates: list[Proposal] = field(default_factory=list)


async def mark_duplicate(session: AsyncSession, *, proposal_id: int, original_id: int) -> Group:
    """Mark a proposal as a duplicate; groups stay flat (always pointing at the original).

    Pointing at a duplicate points at that group's original instead; a proposal
    that had duplicates of its own brings them along into the group.
    """
    record = await proposals.get(session, proposal_id=proposal_id)
    target = await proposals.get(session, proposal_id=original_id)
    if target.duplicate_of is not None:
        target = await proposals.get(session, proposal_id=target.duplicate_of)
    if target.id == record.id:
        raise NotADuplicate(proposal=record.folio)
    await session.execute(
        update(Proposal)
        .where(Proposal.duplicate_of == record.id)
        .values(duplicate_of=target.id)
        .execution_options(synchronize_session="fetch")
    )
    record.duplicate_of = target.id
    await session.flush()
    return await group(session, proposal_id=target.id)


async def clear_duplicate(session: AsyncSession, *, proposal_id: int) -> Proposal:
    """The proposal is not a duplicate after all."""
    record = await proposals.get(session, proposal_id=proposal_id)
    record.duplicate_of = None
    await session.flush()
    return record


async def group(session: AsyncSession, *, proposal_id: int) -> Group:
    """The duplicate group a proposal belongs to (a group of one when it has none)."""
    record = await proposals.get(session, proposal_id=proposal_id)
    original = (
        record
        if record.duplicate_of is None
        else await proposals.get(session, proposal_id=record.duplicate_of)
    )
    rows = await session.scalars(
        select(Proposal).where(Proposal.duplicate_of == original.id).order_by(Proposal.id)
    )
    return Group(original=original, duplicates=list(rows))


# ---------------------------------------------------------------- outcome
async def record_outcome(
    session: AsyncSession,
    *,
    proposal_id: int,
    outcome: str,
    now: datetime,
    note: str | None = None,
) -> Proposal:
    """Record the outcome and, when it changed, queue a message telling the author."""
    cleaned = clean_text(note or "") or None
    if cleaned and len(cleaned) > NOTE_MAX_CHARS:
        raise TextTooLong(max=NOTE_MAX_CHARS, length=len(cleaned))
    before = await proposals.get(session, proposal_id=proposal_id)
    unchanged = (before.outcome, before.outcome_note) == (outcome, cleaned)
    record = await proposals.set_outcome(
        session, proposal_id=proposal_id, outcome=outcome, now=now, note=cleaned
    )
    if not unchanged:
        author = await session.get(Participant, record.participant_id)
        if author is not None:
            await notifications.queue(
                session,
                participant=author,
                text_key=notifications.OUTCOME_KEY,
                params={"folio": record.folio, "outcome": outcome, "note": cleaned},
                now=now,
            )
    return record


# ---------------------------------------------------------------- review list
@dataclass(frozen=True)
class Filters:
    """What the staff list shows; empty fields do not filter."""

    pillar: str = ""
    topic: str = ""
    status: str = ""
    outcome: str = ""  # an outcome key, NO_OUTCOME, or empty
    text: str = ""
    sort: str = "supports"


def _where(filters: Filters) -> list[Any]:
    clauses: list[Any] = []
    if filters.pillar:
        clauses.append(Proposal.pillar == filters.pillar)
    if filters.topic:
        clauses.append(Proposal.topic == filters.topic)
    if filters.status in STATUSES:
        clauses.append(Proposal.status == filters.status)
    if filters.outcome == NO_OUTCOME:
        clauses.append(Proposal.outcome.is_(None))
    elif filters.outcome in proposals.OUTCOMES:
        clauses.append(Proposal.outcome == filters.outcome)
    text = filters.text.strip()[:200]
    if text:
        pattern = contains_pattern(text)
        clauses.append(
            or_(
                Proposal.folio.ilike(pattern, escape="\\"),
                Proposal.problem.ilike(pattern, escape="\\"),
                Proposal.proposal.ilike(pattern, escape="\\"),
                Proposal.vision.ilike(pattern, escape="\\"),
            )
        )
    return clauses


async def search(
    session: AsyncSession, *, filters: Filters, page: int = 1, per_page: int = 50
) -> tuple[list[Proposal], int]:
    """One page of proposals matching ``filters`` and how many match in all."""
    clauses = _where(filters)
    total = int(
        await session.scalar(select(func.count()).select_from(Proposal).where(*clauses)) or 0
    )
    orders: dict[str, tuple[Any, ...]] = {
        "supports": (Proposal.supports.desc(), Proposal.id.desc()),
        "recent": (Proposal.submitted_at.desc(), Proposal.id.desc()),
        "oldest": (Proposal.submitted_at, Proposal.id),
    }
    order = orders.get(filters.sort, orders["supports"])
    rows = await session.scalars(
        select(Proposal)
        .where(*clauses)
        .order_by(*order)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


async def counts(session: AsyncSession) -> dict[str, dict[str, int]]:
    """How many proposals there are by status and by outcome (``sin_resultado`` included)."""
    by_status: dict[str, int] = {key: 0 for key in STATUSES}
    for status, number in await session.execute(
        select(Proposal.status, func.count()).group_by(Proposal.status)
    ):
        by_status[status] = int(number)
    by_outcome = {key: 0 for key in (*proposals.OUTCOMES, NO_OUTCOME)}
    for outcome, number in await session.execute(
        select(Proposal.outcome, func.count()).group_by(Proposal.outcome)
    ):
        by_outcome[outcome or NO_OUTCOME] = int(number)
    return {"status": by_status, "outcome": by_outcome}


# ---------------------------------------------------------------- export
async def export_page(
    session: AsyncSession,
    *,
    consultation: Consultation,
    after_id: int = 0,
    limit: int = EXPORT_PAGE,
) -> tuple[list[dict[str, Any]], int]:
    """One page of every proposal for the staff export and the last id read (0 at the end)."""
    original = aliased(Proposal)
    rows = (
        await session.execute(
            select(Proposal, original.folio.label("original_folio"))
            .outerjoin(original, original.id == Proposal.duplicate_of)
            .where(Proposal.id > after_id)
            .order_by(Proposal.id)
            .limit(limit)
        )
    ).all()
    ids = [row[0].id for row in rows]
    actions: dict[int, list[str]] = defaultdict(list)
    if ids:
        for proposal_id, action in await session.execute(
            select(ProposalAction.proposal_id, ProposalAction.action)
            .where(ProposalAction.proposal_id.in_(ids))
            .order_by(ProposalAction.proposal_id, ProposalAction.action)
        ):
            actions[proposal_id].append(action)
    zone = consultation.exercise.timezone
    page = [
        {
            "folio": p.folio,
            "eje": p.pillar,
            "tema": p.topic,
            "problema": p.problem,
            "propuesta": p.proposal,
            "vision": p.vision or "",
            "estado": p.status,
            "apoyos": int(p.supports),
            **ranking.file_values(p),
            "vistas": int(p.views),
            "reportes": int(p.reports),
            "resultado": p.outcome or "",
            "nota": p.outcome_note or "",
            "acciones": " ".join(actions.get(p.id, [])),
            "duplicado_de": original_folio or "",
            "fecha": local_day(p.submitted_at, zone),
        }
        for p, original_folio in rows
    ]
    return page, (ids[-1] if len(rows) == limit else 0)
