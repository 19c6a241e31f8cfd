"""Open data: published proposals and aggregate participation, never personal data.

The proposals file is read in pages by id (keyset pagination) so an export of
hundreds of thousands of rows never holds them all in memory nor one long
transaction. The participation file is a flattening of the public snapshot, with
the same small-cell rule as the dashboard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal
from pmd_domain.i18n import Catalogs
from pmd_domain.services import ranking
from pmd_domain.services.proposals import OUTCOMES
from pmd_domain.statuses import ProposalStatus

PAGE = 2_000

# The exact public columns of the proposals file; nothing that identifies a person.
PROPOSAL_COLUMNS = (
    "folio",
    "eje",
    "eje_nombre",
    "tema",
    "tema_nombre",
    "problema",
    "propuesta",
    "vision",
    "apoyos",
    *(name for name, _ in ranking.FILE_COLUMNS),
    ranking.REVIEW_COLUMN,
    "fecha",
    "resultado",
    "vistas",  # times the voting showed it: anyone can check the rotation (services/exposure)
)
PARTICIPATION_COLUMNS = ("medida", "dimension", "clave", "etiqueta", "columna", "valor")


async def published_page(
    session: AsyncSession,
    *,
    consultation: Consultation,
    catalogs: Catalogs,
    after_id: int = 0,
    limit: int = PAGE,
    language: str = "es",
) -> tuple[list[dict[str, Any]], int]:
    """One page of published proposals after ``after_id`` and the last id read (0 at the end).

    The outcome is written as the public pages name it (``public.outcome.*``)."""
    rows = (
        await session.execute(
            select(
                Proposal.id,
                Proposal.folio,
                Proposal.pillar,
                Proposal.topic,
                Proposal.problem,
                Proposal.proposal,
                Proposal.vision,
                Proposal.supports,
                Proposal.supports_phone,
                Proposal.supports_verified,
                Proposal.supports_anonymous,
                Proposal.supports_discounted,
                Proposal.review_since,
                Proposal.submitted_at,
                Proposal.outcome,
                Proposal.views,
            )
            .where(Proposal.status == ProposalStatus.PUBLISHED, Proposal.id > after_id)
            .order_by(Proposal.id)
            .limit(limit)
        )
    ).all()
    names = consultation.labels(language)
    outcomes = {key: catalogs.text(language, f"public.outcome.{key}") for key in OUTCOMES}
    zone = consultation.exercise.timezone
    page = [
        {
            "folio": row.folio,
            "eje": row.pillar,
            "eje_nombre": names.get(row.pillar, row.pillar),
            "tema": row.topic,
            "tema_nombre": names.get(f"{row.pillar}.{row.topic}", row.topic),
            "problema": row.problem,
            "propuesta": row.proposal,
            "vision": row.vision or "",
            "apoyos": int(row.supports),
            **ranking.file_values(row),
            "fecha": local_day(row.submitted_at, zone),
            "resultado": outcomes.get(row.outcome or "", ""),
            "vistas": int(row.views),
        }
        for row in rows
    ]
    return page, (int(rows[-1].id) if len(rows) == limit else 0)


def participation_rows(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The aggregate counts of a public snapshot as flat rows (the publication rule applied)."""
    rows: list[dict[str, Any]] = []
    published = snapshot["breakdowns"]["published_at"]
    rows.append(
        _row(
            "desgloses", "publicados", "fecha", "Publicación de los desgloses", "", published or ""
        )
    )
    for key, value in snapshot["totals"].items():
        rows.append(_row("totales", "total", key, key, "", value))
    for metric in ("participants", "proposals", "supports"):
        for dimension, series in snapshot[metric].items():
            for item in series:
                rows.append(_row(metric, dimension, item["key"], item["label"], "", item["count"]))
    for name, table in snapshot["crosstabs"].items():
        for row, cells in zip(table["rows"], table["cells"], strict=True):
            for col, cell in zip(table["cols"], cells, strict=True):
                rows.append(_row("proposals", name, row["key"], row["label"], col["key"], cell))
    return rows


def _row(
    metric: str, dimension: str, key: str, label: str, column: str, value: Any
) -> dict[str, Any]:
    return {
        "medida": {"participants": "participantes", "proposals": "propuestas"}.get(
            metric, "apoyos" if metric == "supports" else metric
        ),
        "dimension": dimension,
        "clave": key,
        "etiqueta": label,
        "columna": column,
        "valor": value,
    }
