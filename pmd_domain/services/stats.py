"""Public statistics, read from the aggregate counters (cost independent of data size)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain import publication
from pmd_domain.assurance import LEVELS
from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.schema import OTHER_SOURCE
from pmd_domain.db.models import Proposal
from pmd_domain.publication import HIDDEN
from pmd_domain.services import disclosure, exposure, moderation, ranking
from pmd_domain.services.counters import NO_ANSWER
from pmd_domain.statuses import ProposalStatus

TOP_PER_PILLAR = 5
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
    """Every live counter as ``{(metric, dimension): {bucket: value}}``.

    With ``consultation``, ``("supports", dimension)`` is added: the supports that count
    toward the public figures (see ``with_counted_supports``).
    """
    table = await disclosure.live_counters(session)
    return with_counted_supports(table, consultation) if consultation is not None else table


def with_counted_supports(table: Table, consultation: Consultation) -> Table:
    """``table`` with ``("supports", dimension)``: the sum of the levels the consultation counts."""
    result = dict(table)
    for dimension in SUPPORT_DIMENSIONS:
        merged: dict[str, int] = {}
        for level in consultation.integrity.count_levels:
            for key, value in table.get((ranking.metric(level), dimension), {}).items():
                merged[key] = merged.get(key, 0) + value
        result[("supports", dimension)] = merged
    return result


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


async def top_proposals(
    session: AsyncSession, *, consultation: Consultation, language: str, limit: int = TOP_PER_PILLAR
) -> dict[str, list[dict[str, Any]]]:
    """The most supported published proposals of each pillar."""
    top: dict[str, list[dict[str, Any]]] = {}
    for pillar in consultation.pillars:
        rows = await session.scalars(
            select(Proposal)
            .where(Proposal.status == ProposalStatus.PUBLISHED, Proposal.pillar == pillar.key)
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
    """The public figures: live totals, the breakdowns of the last publication, the rule applied."""
    table = await counters(session, consultation=consultation)
    batch = await disclosure.current(session)
    batch = replace(batch, figures=with_counted_supports(batch.figures, consultation))
    figures = exact(consultation, table=table, batch=batch, now=now, language=language)
    figures["top"] = await top_proposals(session, consultation=consultation, language=language)
    # How evenly the rotation showed the published proposals (live, from the counters).
    figures["exposure"] = exposure.figures(table.get((exposure.METRIC, exposure.DIMENSION), {}))
    return public(figures, consultation)


def _no_answer_label(language: str) -> str:
    return "Prefiero no decir" if language == "es" else "Prefer not to say"


def _days(consultation: Consultation, now: datetime, seen: set[str]) -> list[str]:
    """Every local day from the opening to today (or the close), and any day with data."""
    zone = consultation.exercise.timezone
    first = local_day(consultation.exercise.opens, zone)
    last = local_day(min(now, consultation.exercise.closes), zone)
    days = set(seen)
    day = date.fromisoformat(first)
    while day.isoformat() <= last:
        days.add(day.isoformat())
        day += timedelta(days=1)
    return sorted(days)


def exact(
    consultation: Consultation,
    *,
    table: dict[tuple[str, str], dict[str, int]],
    batch: disclosure.Batch,
    now: datetime,
    language: str = "es",
) -> dict[str, Any]:
    """The figures before the publication rule: live totals, the batch's breakdowns.

    Every series adds up to the batch's total (an answer that is no longer an option of
    the file counts as "Prefiero no decir", a source that is not in the list as "otra"),
    so that the rule can protect each series against its exact total.
    """
    figures = batch.figures

    def series(
        metric: str, dimension: str, keys: list[str], labels: dict[str, str], fold: str | None
    ) -> list[dict[str, Any]]:
        values = dict.fromkeys(keys, 0)
        for bucket, value in figures.get((metric, dimension), {}).items():
            target = bucket if bucket in values or fold is None else fold
            values[target] = values.get(target, 0) + value
        return [
            {"key": key, "label": labels.get(key, key), "count": count}
            for key, count in values.items()
        ]

    question_labels = {
        q.key: {o.key: consultation.text(o.label, language) for o in q.options}
        for q in consultation.demographics
        if q.kind == "choice"
    }
    for labels in question_labels.values():
        labels[NO_ANSWER] = _no_answer_label(language)
    pillar_labels = {p.key: consultation.text(p.name, language) for p in consultation.pillars}
    topic_labels = {
        f"{p.key}.{t.key}": consultation.text(t.name, language)
        for p in consultation.pillars
        for t in p.topics
    }
    source_labels = {
        key: consultation.text(label, language) for key, label in consultation.source_list().items()
    }
    source_labels[OTHER_SOURCE] = "Otra fuente" if language == "es" else "Other source"
    source_labels[NO_ANSWER] = "Sin campaña (directo)" if language == "es" else "No campaign"

    def days(metric: str) -> list[dict[str, Any]]:
        keys = _days(consultation, now, set(figures.get((metric, "day"), {})))
        return series(metric, "day", keys, {}, None)

    def total(source: dict[tuple[str, str], dict[str, int]], metric: str) -> int:
        return source.get((metric, "total"), {}).get("all", 0)

    crosstabs = {}
    for dim, labels in question_labels.items():
        values = figures.get(("proposals", f"{dim}:pillar"), {})
        cells = [[0] * len(pillar_labels) for _ in labels]
        rows, cols = list(labels), list(pillar_labels)
        for bucket, value in values.items():
            row, _, col = bucket.partition("|")
            if col in pillar_labels:
                cells[rows.index(row) if row in labels else rows.index(NO_ANSWER)][
                    cols.index(col)
                ] += value
        crosstabs[f"{dim}:pillar"] = {
            "rows": [{"key": key, "label": label} for key, label in labels.items()],
            "cols": [{"key": key, "label": label} for key, label in pillar_labels.items()],
            "cells": cells,
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
        "small_cell_k": consultation.limits.small_cell_k,
        "hidden": HIDDEN,
        "totals": {
            "participants": total(table, "participants"),
            "proposals": total(table, "proposals"),
            "published": table.get(("proposals", "status"), {}).get(ProposalStatus.PUBLISHED, 0),
            "supports": total(table, "supports"),
        },
        "breakdowns": {
            "version": batch.version,
            "published_at": (
                batch.published_at.astimezone(ZoneInfo(exercise.timezone)).isoformat()
                if batch.published_at
                else None
            ),
            "participants": total(figures, "participants"),
            "proposals": total(figures, "proposals"),
            "supports": total(figures, "supports"),
            # a series moves with 2k - 1 changes of its own (services/disclosure)
            "every": 2 * consultation.limits.small_cell_k - 1,
            "interval_minutes": consultation.limits.publication_interval_minutes,
        },
        "participants": {
            **{
                dim: series("participants", dim, list(labels), labels, NO_ANSWER)
                for dim, labels in question_labels.items()
            },
            "day": days("participants"),
            "source": series(
                "participants", "source", list(source_labels), source_labels, OTHER_SOURCE
            ),
        },
        "proposals": {
            "pillar": series("proposals", "pillar", list(pillar_labels), pillar_labels, None),
            "topic": series("proposals", "topic", list(topic_labels), topic_labels, None),
            "day": days("proposals"),
        },
        "supports": {
            "pillar": series("supports", "pillar", list(pillar_labels), pillar_labels, None),
            "day": days("supports"),
            "assurance": supports_by_level(table, language),
        },
        "counted_levels": [str(level) for level in consultation.integrity.count_levels],
        "crosstabs": crosstabs,
    }


def public(figures: dict[str, Any], consultation: Consultation) -> dict[str, Any]:
    """The publication rule applied to exact figures (``pmd_domain.publication``).

    Counts of people (participants by any answer, source or day) are protected as
    series against their published total; the cross-tabulations of proposals by the
    author's answers against the proposals per pillar. Proposals and supports by
    pillar, topic and day count contributions (each published proposal is public with
    its pillar, topic, day and supports) and stay exact, in batches like the rest.
    """
    k = consultation.limits.small_cell_k
    result = dict(figures)
    result["participants"] = {
        dim: [
            {**item, "count": shown}
            for item, shown in zip(
                items, publication.series([i["count"] for i in items], k), strict=True
            )
        ]
        for dim, items in figures["participants"].items()
    }
    result["crosstabs"] = {
        name: {**table, "cells": publication.crosstab(table["cells"], k)}
        for name, table in figures["crosstabs"].items()
    }
    # Each series against its own sum: a series waits for enough change of its own
    # (services/disclosure), so it may be from another batch than the total.
    sums = {dim: sum(i["count"] for i in items) for dim, items in figures["participants"].items()}
    result["representativeness"] = representativeness(consultation, result["participants"], sums)
    return result


def representativeness(
    consultation: Consultation,
    participants: dict[str, list[dict[str, Any]]],
    totals: dict[str, int],
) -> dict[str, list[dict[str, Any]]]:
    """Share of participants per group against the census reference, where configured.

    Computed from the published series only: a group's share is given when its count
    and the number of people who answered are both published (otherwise ``None``),
    so a share never tells what the rule reserved. The census reference is restricted
    to the groups the question offers (no minors when there is a minimum age).
    """
    census = consultation.census
    if census is None:
        return {}
    result: dict[str, list[dict[str, Any]]] = {}
    for dim in sorted(set(census.shares) | set(census.counts)):
        items = participants.get(dim)
        if items is None:
            continue
        offered = {item["key"]: item for item in items if item["key"] != NO_ANSWER}
        reference = {k: v for k, v in census.shares.get(dim, {}).items() if k in offered}
        if dim in census.counts:
            counts = {k: v for k, v in census.counts[dim].items() if k in offered}
            whole = sum(counts.values()) or 1
            reference = {key: value / whole for key, value in counts.items()}
        else:
            whole_share = sum(reference.values()) or 1
            reference = {key: value / whole_share for key, value in reference.items()}
        # the people who answered: the series' total less the published "no answer"
        no_answer = next((i["count"] for i in items if i["key"] == NO_ANSWER), 0)
        answered = totals.get(dim, 0) - no_answer if isinstance(no_answer, int) else None
        result[dim] = [
            {
                "key": key,
                "label": offered[key]["label"],
                "census_share": round(share, 4),
                "participant_share": round(offered[key]["count"] / answered, 4)
                if answered and isinstance(offered[key]["count"], int)
                else None,
            }
            for key, share in reference.items()
        ]
    return result


@dataclass(frozen=True)
class Summary:
    """The figures staff see in the bot (``/estadisticas``): what the public sees, and the queue.

    Staff may forward it, so its breakdowns are the published ones (``HIDDEN`` where the
    rule reserves a count); the totals are live.
    """

    participants: int
    proposals: int
    published: int
    supports: int
    supports_by_level: dict[str, int]  # every level, and discounted (live totals)
    waiting: int
    by_pillar: tuple[tuple[str, int, int], ...]  # (pillar key, proposals, supports)
    today: dict[str, int | str]  # participants, proposals, supports of the local day
    day: str
    published_at: str | None


async def summary(session: AsyncSession, *, consultation: Consultation, now: datetime) -> Summary:
    """Totals, figures by pillar, what waits for moderation and today's participation."""
    figures = await snapshot(session, consultation=consultation, now=now)
    day = local_day(now, consultation.exercise.timezone)
    totals = figures["totals"]

    def by_key(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {item["key"]: item["count"] for item in items}

    proposals, supports = (
        by_key(figures["proposals"]["pillar"]),
        by_key(figures["supports"]["pillar"]),
    )
    return Summary(
        participants=totals["participants"],
        proposals=totals["proposals"],
        published=totals["published"],
        supports=totals["supports"],
        supports_by_level={row["key"]: row["count"] for row in figures["supports"]["assurance"]},
        waiting=await moderation.waiting_count(session),
        by_pillar=tuple(
            (p.key, proposals.get(p.key, 0), supports.get(p.key, 0)) for p in consultation.pillars
        ),
        today={
            metric: by_key(figures[metric]["day"]).get(day, 0)
            for metric in ("participants", "proposals", "supports")
        },
        day=day,
        published_at=figures["breakdowns"]["published_at"],
    )
