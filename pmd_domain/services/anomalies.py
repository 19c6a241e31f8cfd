"""The anomaly watch: bursts of activity flagged to staff, and discounting their supports.

A burst is a window of the clock (``[integrity.bursts] window_minutes``, aligned on
the hour) in which one key reached its threshold: new participants or supports from
one address (its keyed hash; the address itself is never stored), new participants
or supports from one campaign source, or supports toward one proposal. The counts
come from ``activity`` (kept two days), read over the last ``watch_hours``: the cost
follows the recent activity, not the size of the consultation.

"Descontar estos apoyos" marks the supports a burst stands for (``discounted_at``,
``discounted_by``): they are kept for audit, never deleted, and leave the ranking and
the public counters (``services.ranking``); "Restaurar" puts them back. Both go to
the audit log. Which supports a burst stands for is read from the votes themselves
(their time, address key, proposal, and their participant's source and address key
at joining), so it can be discounted after its activity rows are gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal, Vote
from pmd_domain.digits import number
from pmd_domain.errors import InvalidChoice
from pmd_domain.i18n import Catalogs, clock_time, medium_date
from pmd_domain.services import activity, audit, ranking, staff
from pmd_domain.services.activity import Kind

PERMISSION = "integrity"
WATCHED = (
    Kind.PARTICIPANTS_BY_ADDRESS,
    Kind.SUPPORTS_BY_ADDRESS,
    Kind.PARTICIPANTS_BY_SOURCE,
    Kind.SUPPORTS_BY_SOURCE,
    Kind.SUPPORTS_BY_PROPOSAL,
)


def threshold(consultation: Consultation, kind: Kind) -> int:
    """The count per window at which ``kind`` is flagged."""
    bursts = consultation.integrity.bursts
    return {
        Kind.PARTICIPANTS_BY_ADDRESS: bursts.participants_per_address,
        Kind.SUPPORTS_BY_ADDRESS: bursts.supports_per_address,
        Kind.PARTICIPANTS_BY_SOURCE: bursts.participants_per_source,
        Kind.SUPPORTS_BY_SOURCE: bursts.supports_per_source,
        Kind.SUPPORTS_BY_PROPOSAL: bursts.supports_per_proposal,
    }[kind]


@dataclass(frozen=True)
class Burst:
    """One flagged window: what, which key, when, how much, and the supports it stands for."""

    kind: str
    key: str
    start: datetime
    minutes: int
    count: int
    supports: int  # supports it stands for that still count
    discounted: int  # supports it stands for that staff discounted
    folio: str | None = None  # the proposal, for a burst toward one proposal

    @property
    def end(self) -> datetime:
        """When the window closed (or closes)."""
        return self.start + timedelta(minutes=self.minutes)

    @property
    def target(self) -> str:
        """How the audit log and the panel's forms name it."""
        return f"burst:{self.kind}:{self.key}:{activity.slot_of(self.start)}"


def _supports(kind: str, key: str, start: datetime, end: datetime) -> Any:
    """The condition on votes that picks the supports a burst stands for."""
    in_window = (Vote.created_at >= start) & (Vote.created_at < end)
    joined = (Participant.created_at >= start) & (Participant.created_at < end)
    support = Vote.verdict == "support"
    if kind == Kind.SUPPORTS_BY_ADDRESS:
        return support & in_window & (Vote.origin == key)
    if kind == Kind.SUPPORTS_BY_PROPOSAL:
        proposal_id = number(key)
        if proposal_id is None:
            raise InvalidChoice(key=key)
        return support & in_window & (Vote.proposal_id == proposal_id)
    if kind == Kind.PARTICIPANTS_BY_ADDRESS:
        people = select(Participant.id).where(Participant.origin == key, joined)
        return support & Vote.participant_id.in_(people)
    if kind == Kind.PARTICIPANTS_BY_SOURCE:
        people = select(Participant.id).where(Participant.source == key, joined)
        return support & Vote.participant_id.in_(people)
    if kind == Kind.SUPPORTS_BY_SOURCE:
        people = select(Participant.id).where(Participant.source == key)
        return support & in_window & Vote.participant_id.in_(people)
    raise InvalidChoice(kind=kind)


async def _tally(session: AsyncSession, condition: Any) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.count().filter(Vote.discounted_at.is_(None)),
                func.count().filter(Vote.discounted_at.is_not(None)),
            ).where(condition)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def bursts(
    session: AsyncSession,
    *,
    consultation: Consultation,
    now: datetime,
    kinds: Iterable[Kind] = WATCHED,
) -> list[Burst]:
    """The flagged windows of the last ``watch_hours``, newest first."""
    settings = consultation.integrity.bursts
    since = now - timedelta(hours=settings.watch_hours)
    found: list[Burst] = []
    for kind in kinds:
        for heavy in await activity.heavy(
            session,
            kind=kind,
            since=since,
            minutes=settings.window_minutes,
            threshold=threshold(consultation, kind),
        ):
            start = activity.moment_of(heavy.start)
            end = start + timedelta(minutes=heavy.minutes)
            counted, discounted = await _tally(session, _supports(kind, heavy.key, start, end))
            folio = None
            proposal_id = number(heavy.key)
            if kind == Kind.SUPPORTS_BY_PROPOSAL and proposal_id is not None:
                folio = await session.scalar(
                    select(Proposal.folio).where(Proposal.id == proposal_id)
                )
            found.append(
                Burst(
                    kind=str(kind),
                    key=heavy.key,
                    start=start,
                    minutes=heavy.minutes,
                    count=heavy.count,
                    supports=counted,
                    discounted=discounted,
                    folio=folio,
                )
            )
    return sorted(found, key=lambda b: (b.start, b.count), reverse=True)


def parse_target(target: str, consultation: Consultation) -> tuple[Kind, str, datetime, datetime]:
    """``burst:<kind>:<key>:<slot>`` back into its parts (InvalidChoice when malformed)."""
    parts = target.split(":")
    slot = number(parts[-1])
    if len(parts) != 4 or parts[0] != "burst" or slot is None:
        raise InvalidChoice(target=target[:64])
    try:
        kind = Kind(parts[1])
    except ValueError as exc:
        raise InvalidChoice(target=target[:64]) from exc
    if kind not in WATCHED or not parts[2] or len(parts[2]) > 64:
        raise InvalidChoice(target=target[:64])
    try:
        start = activity.moment_of(slot)
    except (OverflowError, OSError, ValueError) as exc:  # a minute no calendar has
        raise InvalidChoice(target=target[:64]) from exc
    return (
        kind,
        parts[2],
        start,
        start + timedelta(minutes=consultation.integrity.bursts.window_minutes),
    )


async def discount(
    session: AsyncSession,
    *,
    consultation: Consultation,
    target: str,
    staff_id: int,
    admin_ids: Iterable[int],
    now: datetime,
    restore: bool = False,
) -> int:
    """Discount (or, with ``restore``, put back) the supports of a burst; how many changed.

    Checks the staff member's permission in this transaction and writes the audit log.
    """
    await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission=PERMISSION)
    kind, key, start, end = parse_target(target, consultation)
    condition = _supports(kind, key, start, end) & (
        Vote.discounted_at.is_not(None) if restore else Vote.discounted_at.is_(None)
    )
    rows = (
        await session.execute(
            select(Vote.id, Vote.proposal_id, Vote.created_at, Vote.assurance, Proposal.pillar)
            .join(Proposal, Proposal.id == Vote.proposal_id)
            .where(condition)
            .with_for_update(of=Vote)
        )
    ).all()
    sign = 1 if restore else -1
    changes = []
    for _, proposal_id, created, level, pillar in rows:
        changes.append(ranking.Change(proposal_id, pillar, level, created, sign))
        changes.append(ranking.Change(proposal_id, pillar, ranking.DISCOUNTED, created, -sign))
    ids = [row[0] for row in rows]
    if ids:
        await session.execute(
            update(Vote)
            .where(Vote.id.in_(ids))
            .values(
                discounted_at=None if restore else now,
                discounted_by=None if restore else staff_id,
            )
            .execution_options(synchronize_session=False)
        )
        await ranking.apply(session, consultation=consultation, changes=changes)
    await audit.record(
        session,
        actor=audit.staff_actor(staff_id),
        action="supports.restore" if restore else "supports.discount",
        target=target,
        now=now,
        details={
            "supports": len(ids),
            "kind": str(kind),
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
    )
    return len(ids)


def describe(burst: Burst, *, consultation: Consultation, catalogs: Catalogs, language: str) -> str:
    """One line about a burst for staff (an address only by the start of its keyed hash)."""
    zone = consultation.exercise.timezone
    key = burst.folio or burst.key
    if burst.kind in (Kind.PARTICIPANTS_BY_ADDRESS, Kind.SUPPORTS_BY_ADDRESS):
        key = burst.key[:8]
    return catalogs.text(
        language,
        f"burst.{burst.kind}",
        count=f"{burst.count:,}",
        what=key,
        day=medium_date(burst.start, zone=zone, language=language),
        start=clock_time(burst.start, zone=zone, language=language),
        end=clock_time(burst.end, zone=zone, language=language),
    )
