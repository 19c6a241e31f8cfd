"""``/estadisticas``: the figures a staff member may forward, as one text.

What staff may forward is what the public sees: the batch of figures in force, published
first when one is due (``disclosure``), then the totals, the pillars, waiting for
moderation, today's participation, supports by assurance level and the anomaly watch's
alerts. One use case for every chat channel (the bot calls it as it is).
"""

from __future__ import annotations

from datetime import datetime

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.services import anomalies, disclosure, stats

MAX_BURST_LINES = 10  # the rest are in the panel


async def report(
    database: Database,
    *,
    consultation: Consultation,
    catalogs: Catalogs,
    language: str,
    now: datetime,
) -> str:
    """The staff's figures text in ``language``."""
    await disclosure.publish_if_due(database, consultation=consultation, now=now)
    async with database.reading() as session:
        summary = await stats.summary(session, consultation=consultation, now=now)
        flagged = await anomalies.bursts(session, consultation=consultation, now=now)
    lang = language
    names = {p.key: f"{p.number}. {consultation.text(p.name, lang)}" for p in consultation.pillars}

    def n(value: int | str) -> str:
        # a count the publication rule reserves is shown as the public sees it
        return f"{value:,}" if isinstance(value, int) else catalogs.text(lang, "figures.reserved")

    pillars = "\n".join(
        catalogs.text(
            lang,
            "staff.stats.pillar",
            pillar=names[key],
            proposals=f"{proposals:,}",
            supports=f"{supports:,}",
        )
        for key, proposals, supports in summary.by_pillar
    )
    text = catalogs.text(
        lang,
        "staff.stats",
        day=summary.day,
        participants=f"{summary.participants:,}",
        proposals=f"{summary.proposals:,}",
        published=f"{summary.published:,}",
        supports=f"{summary.supports:,}",
        waiting=f"{summary.waiting:,}",
        today_participants=n(summary.today["participants"]),
        today_proposals=n(summary.today["proposals"]),
        today_supports=n(summary.today["supports"]),
        pillars=pillars,
    )
    return text + "\n\n" + integrity_lines(summary, flagged, consultation, catalogs, lang)


def integrity_lines(
    summary: stats.Summary,
    flagged: list[anomalies.Burst],
    consultation: Consultation,
    catalogs: Catalogs,
    lang: str,
) -> str:
    """Supports by level and the anomaly watch's alerts."""
    levels = {key: f"{value:,}" for key, value in summary.supports_by_level.items()}
    counted = ", ".join(
        catalogs.text(lang, f"level.{level}") for level in consultation.integrity.count_levels
    )
    lines = [catalogs.text(lang, "staff.stats.levels", counted=counted, **levels)]
    hours = consultation.integrity.bursts.watch_hours
    if not flagged:
        lines.append(catalogs.text(lang, "staff.stats.no_bursts", hours=hours))
        return "\n\n".join(lines)
    shown = [
        "• " + anomalies.describe(b, consultation=consultation, catalogs=catalogs, language=lang)
        for b in flagged[:MAX_BURST_LINES]
    ]
    lines.append(
        catalogs.text(
            lang, "staff.stats.bursts", hours=hours, count=len(flagged), lines="\n".join(shown)
        )
    )
    return "\n\n".join(lines)
