"""``/estadisticas``, ``/panel`` and ``/revocar``: one-shot staff commands."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import services_of
from bot.staff.access import PRIVATE_MESSAGE, Context, language_of, require_again, staff_only
from bot.staff.replies import say
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.errors import NotAllowed, NotFound, TextNotReadable
from pmd_domain.i18n import Catalogs
from pmd_domain.services import anomalies, certificates, disclosure, staff_login, stats

MAX_BURST_LINES = 10  # the rest are in the panel


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The one-shot staff commands (staff group)."""
    return [
        CommandHandler("estadisticas", figures, filters=PRIVATE_MESSAGE),
        CommandHandler("panel", panel, filters=PRIVATE_MESSAGE),
        CommandHandler("revocar", revoke, filters=PRIVATE_MESSAGE),
    ]


@staff_only("stats")
async def figures(update: Update, context: Context, role: str) -> None:
    """Totals, by pillar, waiting for moderation and today's participation."""
    services = services_of(context)
    lang = language_of(update, services.catalogs)
    consultation, catalogs = services.consultation, services.catalogs
    now = utcnow()
    # what staff may forward is what the public sees: the batch in force (see disclosure)
    await disclosure.publish_if_due(services.database, consultation=consultation, now=now)
    async with services.database.reading() as session:
        summary = await stats.summary(session, consultation=consultation, now=now)
        flagged = await anomalies.bursts(session, consultation=consultation, now=now)
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
    text += "\n\n" + integrity_lines(summary, flagged, consultation, catalogs, lang)
    await say(update, context, text)


def integrity_lines(
    summary: stats.Summary,
    flagged: list[anomalies.Burst],
    consultation: Consultation,
    catalogs: Catalogs,
    lang: str,
) -> str:
    """Supports by level and the anomaly watch's alerts, for ``/estadisticas``."""
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


@staff_only("analyse")
async def panel(update: Update, context: Context, role: str) -> None:
    """A one-time login link into the staff analysis area."""
    services = services_of(context)
    lang = language_of(update, services.catalogs)
    assert update.effective_user is not None
    try:
        async with services.database.transaction() as session:
            await require_again(session, update, context, "analyse")
            token = await staff_login.create_login_link(
                session,
                user_id=update.effective_user.id,
                admin_ids=services.settings.admin_ids,
                now=utcnow(),
            )
    except NotAllowed:
        await say(update, context, services.catalogs.text(lang, "staff.not_allowed"))
        return
    minutes = int(staff_login.LINK_TTL.total_seconds() // 60)
    url = services.links.panel_login(token)
    await say(update, context, services.catalogs.text(lang, "panel.link", minutes=minutes, url=url))


@staff_only("revoke")
async def revoke(update: Update, context: Context, role: str) -> None:
    """``/revocar FOLIO motivo``: the certificate's verification page then says so."""
    services = services_of(context)
    lang = language_of(update, services.catalogs)
    catalogs = services.catalogs
    args = list(context.args or [])
    if len(args) < 2:
        await say(update, context, catalogs.text(lang, "staff.revoke.usage"))
        return
    folio, reason = args[0].strip().upper()[:24], " ".join(args[1:])
    assert update.effective_user is not None
    try:
        async with services.database.transaction() as session:
            record = await certificates.revoke_by(
                session,
                actor_id=update.effective_user.id,
                admin_ids=services.settings.admin_ids,
                folio=folio,
                reason=reason,
                now=utcnow(),
            )
            text = catalogs.text(
                lang, "staff.revoke.done", folio=record.folio, reason=record.revoke_reason
            )
        await certificates.pages_agree()  # the text says every page shows it
    except NotFound:
        text = catalogs.text(lang, "staff.revoke.not_found", folio=folio)
    except TextNotReadable:
        text = catalogs.text(lang, "staff.revoke.usage")
    except NotAllowed:
        text = catalogs.text(lang, "staff.not_allowed")
    await say(update, context, text)
