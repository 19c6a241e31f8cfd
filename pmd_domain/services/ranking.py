"""Supports by assurance level: the one place that adds, moves and discounts them.

A proposal keeps one column per level (``supports_phone``, ``supports_verified``,
``supports_anonymous``), one of the supports staff discounted, and ``supports``: the
supports that count toward the ranking (the levels of ``[integrity] count_levels``,
never discounted). The counters follow the same split (metric ``supports.<level>``
with dimensions ``total``, ``pillar`` and ``day``; ``supports.discounted``), so the
public figures apply the consultation's rule when they are read, at a cost that does
not depend on the number of supports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import LEVELS, Assurance
from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal
from pmd_domain.services.counters import Bump, bump

DISCOUNTED = "discounted"
COLUMNS = {
    Assurance.PHONE: Proposal.supports_phone,
    Assurance.VERIFIED: Proposal.supports_verified,
    Assurance.ANONYMOUS: Proposal.supports_anonymous,
}


def metric(level: str) -> str:
    """The counter metric of supports of ``level`` (or of discounted supports)."""
    return f"supports.{level}"


@dataclass(frozen=True)
class Change:
    """``delta`` supports of one proposal at ``level`` (``discounted``: staff took them out)."""

    proposal_id: int
    pillar: str
    level: str
    moment: datetime
    delta: int = 1


def _bumps(consultation: Consultation, change: Change) -> list[Bump]:
    day = local_day(change.moment, consultation.exercise.timezone)
    name = metric(change.level)
    bumps: list[Bump] = [
        (name, "total", "all", change.delta),
        (name, "pillar", change.pillar, change.delta),
    ]
    if change.level != DISCOUNTED:
        bumps.append((name, "day", day, change.delta))
    return bumps


async def apply(
    session: AsyncSession, *, consultation: Consultation, changes: Iterable[Change]
) -> None:
    """Apply support changes: each proposal's columns in one UPDATE, then the counters."""
    counted = {str(level) for level in consultation.integrity.count_levels}
    per_proposal: dict[int, Counter[str]] = {}
    bumps: list[Bump] = []
    for change in changes:
        per_proposal.setdefault(change.proposal_id, Counter())[change.level] += change.delta
        bumps += _bumps(consultation, change)
    for proposal_id, deltas in sorted(per_proposal.items()):
        values: dict[Any, Any] = {}
        ranking = 0
        for level, delta in deltas.items():
            if not delta:
                continue
            if level == DISCOUNTED:
                values[Proposal.supports_discounted] = Proposal.supports_discounted + delta
                continue
            column = COLUMNS[Assurance(level)]
            values[column] = column + delta
            ranking += delta if level in counted else 0
        if ranking:
            values[Proposal.supports] = Proposal.supports + ranking
        if values:
            await session.execute(
                update(Proposal)
                .where(Proposal.id == proposal_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )
    await bump(session, bumps)


def counted_expression(consultation: Consultation) -> Any:
    """The ranking count of a proposal as a SQL expression of its per-level columns."""
    counted = [COLUMNS[Assurance(level)] for level in consultation.integrity.count_levels]
    expression: Any = counted[0]
    for column in counted[1:]:
        expression = expression + column
    return expression


async def recount(session: AsyncSession, *, consultation: Consultation) -> int:
    """Make every proposal's ranking count follow the consultation's rule (after it changed).

    Touches only the proposals whose count differs; the number of them is returned.
    """
    expression = counted_expression(consultation)
    result = await session.execute(
        update(Proposal)
        .where(Proposal.supports != expression)
        .values(supports=expression)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def by_level(proposal: Proposal) -> dict[str, int]:
    """A proposal's supports by level, and those discounted."""
    return {
        **{str(level): int(getattr(proposal, f"supports_{level}") or 0) for level in LEVELS},
        DISCOUNTED: int(proposal.supports_discounted or 0),
    }


# The supports-by-level columns of every file that leaves the system (open data, staff
# exports), after ``apoyos`` (the supports that count).
FILE_COLUMNS = (
    ("apoyos_telefono", str(Assurance.PHONE)),
    ("apoyos_verificados", str(Assurance.VERIFIED)),
    ("apoyos_sin_verificar", str(Assurance.ANONYMOUS)),
    ("apoyos_descontados", DISCOUNTED),
)
REVIEW_COLUMN = "en_revision"


def file_values(proposal: Any) -> dict[str, Any]:
    """A proposal's (or row's) supports by level and whether it is under review, for files."""
    values: dict[str, Any] = {
        name: int(getattr(proposal, f"supports_{level}") or 0) for name, level in FILE_COLUMNS
    }
    values[REVIEW_COLUMN] = "sí" if proposal.review_since is not None else "no"
    return values
