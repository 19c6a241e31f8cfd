"""What became of the consultation: per pillar and strategic action, the office's answers.

Only published proposals count. Two grouped reads: proposals with an outcome per
pillar (through the ``(status, outcome, id)`` index, so they read the answered
proposals only), and alignments per strategic action (``proposal_actions``, as many
rows as the staff aligned). Both grow with the planning office's work, not with the
participants; the web side caches the result (``web/proposals.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import as_aware
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal, ProposalAction, StatCounter
from pmd_domain.services.proposals import OUTCOMES
from pmd_domain.statuses import ProposalStatus

NO_OUTCOME = "sin_resultado"
KINDS = (*OUTCOMES, NO_OUTCOME)

# The open data file's columns (``/datos/resultados.csv``), one row per strategic action
# and one per pillar (``accion`` empty: the pillar's proposals with an answer).
COLUMNS = (
    "eje",
    "eje_nombre",
    "accion",
    "accion_nombre",
    "propuestas",
    "incluidas",
    "consideradas",
    "no_procede",
    "sin_resultado",
)
_FILE_KEYS = dict(
    zip(KINDS, ("incluidas", "consideradas", "no_procede", "sin_resultado"), strict=True)
)


async def compute(
    session: AsyncSession, *, consultation: Consultation, language: str = "es"
) -> dict[str, Any]:
    """The results: totals, and per pillar its answers and its strategic actions' alignments."""
    answered: dict[str, dict[str, int]] = {}
    latest: datetime | None = None
    for pillar_key, outcome, number, last in await session.execute(
        select(Proposal.pillar, Proposal.outcome, func.count(), func.max(Proposal.outcome_at))
        # ``outcome > ''`` (every outcome key is longer): a range the (status, outcome, id)
        # index serves, which SQLite does not choose for ``IS NOT NULL`` or ``IN``.
        .where(Proposal.status == ProposalStatus.PUBLISHED, Proposal.outcome > "")
        .group_by(Proposal.pillar, Proposal.outcome)
    ):
        answered.setdefault(pillar_key, {})[str(outcome)] = int(number)
        if last is not None and (latest is None or as_aware(last) > latest):
            latest = as_aware(last)
    aligned: dict[str, dict[str, int]] = {}
    for action_key, outcome, number in await session.execute(
        select(ProposalAction.action, Proposal.outcome, func.count())
        .join(Proposal, Proposal.id == ProposalAction.proposal_id)
        # The status through coalesce: no index on it is usable, so the read starts from
        # the alignments (the staff's work) and looks each proposal up by id, instead of
        # walking every published proposal for its alignments.
        .where(func.coalesce(Proposal.status, "") == ProposalStatus.PUBLISHED)
        .group_by(ProposalAction.action, Proposal.outcome)
    ):
        aligned.setdefault(action_key, {})[outcome or NO_OUTCOME] = int(number)
    published = await session.scalar(
        select(StatCounter.value).where(
            StatCounter.metric == "proposals",
            StatCounter.dimension == "status",
            StatCounter.bucket == ProposalStatus.PUBLISHED,
        )
    )
    pillars: list[dict[str, Any]] = []
    for pillar in consultation.pillars:
        outcomes = {key: answered.get(pillar.key, {}).get(key, 0) for key in OUTCOMES}
        actions = []
        for action in pillar.actions:
            counts = {key: aligned.get(action.key, {}).get(key, 0) for key in KINDS}
            actions.append(
                {
                    "key": action.key,
                    "name": consultation.text(action.name, language),
                    "aligned": sum(counts.values()),
                    "outcomes": counts,
                }
            )
        pillars.append(
            {
                "key": pillar.key,
                "number": pillar.number,
                "name": consultation.text(pillar.name, language),
                "answered": sum(outcomes.values()),
                "outcomes": outcomes,
                "actions": actions,
            }
        )
    return {
        "published": int(published or 0),
        "answered": sum(p["answered"] for p in pillars),
        "outcomes": {key: sum(p["outcomes"][key] for p in pillars) for key in OUTCOMES},
        "modified": latest.isoformat(timespec="seconds") if latest else None,
        "pillars": pillars,
    }


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The results as the open data file's rows (``COLUMNS``)."""
    flat: list[dict[str, Any]] = []
    for pillar in results["pillars"]:
        flat.append(
            {
                "eje": pillar["key"],
                "eje_nombre": pillar["name"],
                "accion": "",
                "accion_nombre": "",
                "propuestas": pillar["answered"],
                **{_FILE_KEYS[k]: pillar["outcomes"].get(k, 0) for k in OUTCOMES},
                "sin_resultado": "",
            }
        )
        for action in pillar["actions"]:
            flat.append(
                {
                    "eje": pillar["key"],
                    "eje_nombre": pillar["name"],
                    "accion": action["key"],
                    "accion_nombre": action["name"],
                    "propuestas": action["aligned"],
                    **{_FILE_KEYS[k]: action["outcomes"][k] for k in KINDS},
                }
            )
    return flat
