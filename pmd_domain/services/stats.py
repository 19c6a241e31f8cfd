"""Public statistics, read from the aggregate counters (cost independent of data size)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import LEVELS
from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal, StatCounter
from pmd_domain.services import moderation, ranking
from pmd_domain.services.counters import NO_ANSWER

TOP_PER_PILLAR = 5
METRICS = ("participants", "proposals", "supports")
SUPPORT_DIMENSIONS = ("total", "pillar", "day")
LEVEL_LABELS = {
    "es": {
        "phone": "Telegram (cuenta con teléfono)",
        "verified": "Navegador verificado",
        "anonymous": "Navegador sin verificar",
        ranking.DISCOUNTED: "Descontados por el equipo",
    },
    "en": {
        "phone": "Telegram (account with a phone)",
        "verified": "Verified browser",
        "anonymous": "Unverified browser",
        ranking.DISCOUNTED: "Discounted by staff",
    },
}
Table = dict[tuple[str, str], dict[str, int]]


async def counters(session: AsyncSession, *, consultation: Consultation | None = None) -> Table:
    """Every counter as ``{(metric, dimension): {bucket: value}}``.

    With ``consultation``, ``("supports", dimension)`` is added: the supports that count
    toward the public figures, the sum of the levels the consultation counts.
    """
    table: Table = defaultdict(dict)
    for row in await session.execute(
        select(StatCounter.metric, StatCounter.dimension, StatCounter.bucket, StatCounter.value)
    ):
        table[(row.metric, row.dimension)][row.bucket] = int(row.value)
    if consultation is not None:
        for dimension in SUPPORT_DIMENSIONS:
            merged: dict[str, int] = defaultdict(int)
            for level in consultation.integrity.count_levels:
                for key, value in table.get((ranking.metric(level), dimension), {}).items():
                    merged[key] += value
            table[("supports", dimension)] = dict(merged)
    return table


def supports_by_level(table: Table, language: str = "es") -> list[dict[str, Any]]:
    """Every support by assurance level, and those staff discounted (all shown apart)."""
    labels = LEVEL_LABELS.get(language, LEVEL_LABELS["es"])
    return [
        {
            "key": key,
            "label": labels[key],
            "count": table.get((ranking.metric(key), "total"), {}).get("all", 0),
        }
        for key in (*(str(level) for level in LEVELS), ranking.DISCOUNTED)
    ]


def suppress(value: int, k: int) -> int | str:
    """A cell of a cross-tabulation: the count, or ``"< k"`` when it could single people out."""
    return value if value == 0 or value >= k else f"< {k}"


async def top_proposals(
    session: AsyncSession, *, consultation: Consultation, language: str, limit: int = TOP_PER_PILLAR
) -> dict[str, list[dict[str, Any]]]:
    """The most supported published proposals of each pillar."""
    top: dict[str, list[dict[str, Any]]] = {}
    for pillar in consultation.pillars:
        rows = await session.scalars(
            select(Proposal)
            .where(Proposal.status == "published", Proposal.pillar == pillar.key)
            .order_by(Proposal.supports.desc(), Proposal.id)
            .limit(limit)
        )
        top[pillar.key] = [
            {
                "folio": p.folio,
                "topic": p.topic,
                "topic_name": _topic_name(consultation, p.pillar, p.topic, language),
                "problem": p.problem,
                "proposal": p.proposal,
                "supports": p.supports,
                "under_review": p.review_since is not None,
            }
            for p in rows
        ]
    return top


def _topic_name(consultation: Consultation, pillar: str, topic: str, language: str) -> str:
    spec = consultation.pillar(pillar)
    found = spec.topic(topic) if spec else None
    return consultation.text(found.name, language) if found else topic


async def snapshot(
    session: AsyncSession, *, consultation: Consultation, now: datetime, language: str = "es"
) -> dict[str, Any]:
    """The public figures of the consultation, ready for the dashboard and the JSON API."""
    table = await counters(session, consultation=consultation)
    k = consultation.limits.small_cell_k

    def series(
        metric: str, dimension: str, labels: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        values = table.get((metric, dimension), {})
        keys = list(labels) if labels else sorted(values)
        if labels and NO_ANSWER in values and NO_ANSWER not in keys:
            keys.append(NO_ANSWER)
        return [
            {"key": key, "label": (labels or {}).get(key, key), "count": values.get(key, 0)}
            for key in keys
        ]

    question_labels = {
        q.key: {o.key: consultation.text(o.label, language) for o in q.options}
        for q in consultation.demographics
        if q.kind == "choice"
    }
    for labels in question_labels.values():
        labels[NO_ANSWER] = "Prefiero no decir" if language == "es" else "Prefer not to say"
    pillar_labels = {p.key: consultation.text(p.name, language) for p in consultation.pillars}
    topic_labels = {
        f"{p.key}.{t.key}": consultation.text(t.name, language)
        for p in consultation.pillars
        for t in p.topics
    }

    sources = table.get(("participants", "source"), {})
    source_labels = {key: key for key in sorted(sources) if key != NO_ANSWER}
    if NO_ANSWER in sources:
        source_labels[NO_ANSWER] = "Sin campaña (directo)" if language == "es" else "No campaign"

    def total(metric: str) -> int:
        return table.get((metric, "total"), {}).get("all", 0)

    crosstabs = {}
    for dim, labels in question_labels.items():
        values = table.get(("proposals", f"{dim}:pillar"), {})
        crosstabs[f"{dim}:pillar"] = {
            "rows": [{"key": key, "label": label} for key, label in labels.items()],
            "cols": [{"key": key, "label": label} for key, label in pillar_labels.items()],
            "cells": [
                [suppress(values.get(f"{row}|{col}", 0), k) for col in pillar_labels]
                for row in labels
            ],
        }

    exercise = consultation.exercise
    return {
        "exercise": {
            "slug": exercise.slug,
            "title": consultation.text(exercise.title, language),
            "municipality": exercise.municipality,
            "opens": exercise.opens.isoformat(),
            "closes": exercise.closes.isoformat(),
            "open": consultation.is_open(now),
        },
        "generated_at": now.isoformat(),
        "small_cell_k": k,
        "totals": {
            "participants": total("participants"),
            "proposals": total("proposals"),
            "published": table.get(("proposals", "status"), {}).get("published", 0),
            "supports": total("supports"),
        },
        "participants": {
            **{dim: series("participants", dim, labels) for dim, labels in question_labels.items()},
            "day": series("participants", "day"),
            "source": series("participants", "source", source_labels),
        },
        "proposals": {
            "pillar": series("proposals", "pillar", pillar_labels),
            "topic": series("proposals", "topic", topic_labels),
            "day": series("proposals", "day"),
        },
        "supports": {
            "pillar": series("supports", "pillar", pillar_labels),
            "day": series("supports", "day"),
            "assurance": supports_by_level(table, language),
        },
        "counted_levels": [str(level) for level in consultation.integrity.count_levels],
        "crosstabs": crosstabs,
        "representativeness": representativeness(consultation, table, question_labels),
        "top": await top_proposals(session, consultation=consultation, language=language),
    }


def representativeness(
    consultation: Consultation,
    table: dict[tuple[str, str], dict[str, int]],
    labels: dict[str, dict[str, str]],
) -> dict[str, list[dict[str, Any]]]:
    """Share of participants per group against the census reference, where configured."""
    census = consultation.census
    if census is None:
        return {}
    result: dict[str, list[dict[str, Any]]] = {}
    for dim in sorted(set(census.shares) | set(census.counts)):
        reference = dict(census.shares.get(dim, {}))
        if dim in census.counts:
            whole = sum(census.counts[dim].values()) or 1
            reference = {key: value / whole for key, value in census.counts[dim].items()}
        observed = {
            key: v for key, v in table.get(("participants", dim), {}).items() if key != NO_ANSWER
        }
        answered = sum(observed.values())
        result[dim] = [
            {
                "key": key,
                "label": labels.get(dim, {}).get(key, key),
                "census_share": round(share, 4),
                "participant_share": round(observed.get(key, 0) / answered, 4)
                if answered
                else None,
            }
            for key, share in reference.items()
        ]
    return result


@dataclass(frozen=True)
class Summary:
    """The figures staff see in the bot (``/estadisticas``)."""

    participants: int
    proposals: int
    published: int
    supports: int
    supports_by_level: dict[str, int]  # every level, and discounted
    waiting: int
    by_pillar: tuple[tuple[str, int, int], ...]  # (pillar key, proposals, supports)
    today: dict[str, int]  # participants, proposals, supports of the local day
    day: str


async def summary(session: AsyncSession, *, consultation: Consultation, now: datetime) -> Summary:
    """Totals, figures by pillar, what waits for moderation and today's participation."""
    table = await counters(session, consultation=consultation)
    day = local_day(now, consultation.exercise.timezone)

    def value(metric: str, dimension: str, bucket: str) -> int:
        return table.get((metric, dimension), {}).get(bucket, 0)

    return Summary(
        participants=value("participants", "total", "all"),
        proposals=value("proposals", "total", "all"),
        published=value("proposals", "status", "published"),
        supports=value("supports", "total", "all"),
        supports_by_level={row["key"]: row["count"] for row in supports_by_level(table)},
        waiting=await moderation.waiting_count(session),
        by_pillar=tuple(
            (p.key, value("proposals", "pillar", p.key), value("supports", "pillar", p.key))
            for p in consultation.pillars
        ),
        today={metric: value(metric, "day", day) for metric in METRICS},
        day=day,
    )
