"""Pieces the panel's action pages share: notices by key, the bot's senders woken, labels."""

from __future__ import annotations

from aiohttp import web

from bot.broadcast import broadcast_worker
from bot.context import notifier_of
from bot.menu import publish_staff_menu
from pmd_domain.consultation import Consultation
from web.keys import CATALOGS
from web.panel.session import redirect
from web.panel.views import names_of as panel_names
from web.telegram import TELEGRAM


def back(request: web.Request, route: str, notice: str, **query: str) -> web.Response:
    """A 303 to the named panel page with a notice key (never the text that was typed)."""
    target = request.app.router[route].url_for()
    return redirect(str(target.with_query({"aviso": notice, **query})))


def notice_key(request: web.Request, known: tuple[str, ...]) -> str | None:
    """The notice key in the query if it is one of ``known``."""
    found = request.query.get("aviso", "")
    return found if found in known else None


def wake_notifications(request: web.Request) -> None:
    """A decision queued a message for its author: the bot of this process sends it now."""
    application = request.app.get(TELEGRAM)
    notifier = notifier_of(application) if application is not None else None
    if notifier is not None:
        notifier.wake()


def wake_broadcasts(request: web.Request) -> None:
    """A campaign was queued or resumed: the sender of this process looks at once."""
    application = request.app.get(TELEGRAM)
    worker = broadcast_worker(application) if application is not None else None
    if worker is not None:
        worker.wake()


def topic_choices(consultation: Consultation) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every pillar's topics as ``(pillar label, [(pillar.topic, topic label)])``."""
    names = panel_names(consultation)
    return [
        (names[p.key], [(f"{p.key}.{t.key}", names[f"{p.key}.{t.key}"]) for t in p.topics])
        for p in consultation.pillars
    ]


async def refresh_staff_menu(request: web.Request, *, user_id: int, role: str | None) -> None:
    """A member's Telegram command menu follows their new role (when this process has a bot)."""
    application = request.app.get(TELEGRAM)
    if application is not None and user_id > 0:
        await publish_staff_menu(application.bot, request.app[CATALOGS], user_id=user_id, role=role)
