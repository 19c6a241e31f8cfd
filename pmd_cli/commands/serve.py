"""``pmd serve``: the web side and the bot in one process."""

from __future__ import annotations

import argparse
import gc
import logging
from collections.abc import Callable
from typing import Any

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.logs import configure_logging
from pmd_domain.settings import Settings

log = logging.getLogger("pmd")
# Allocations between two collections of the youngest objects (Python: 700).
YOUNG_COLLECTION = 10_000


def run(args: argparse.Namespace) -> int:
    """Run the web side (and the bot when configured) until interrupted."""
    from aiohttp import web

    from web.app import create_app

    # --host and --port stand for PMD_HOST and PMD_PORT: the links shown follow them too.
    given = {"host": args.host, "port": args.port}
    settings = common.settings(
        **{name: value for name, value in given.items() if value is not None}
    )
    settings.check_for_serving()
    configure_logging(
        settings.log_level,
        secret=settings.secret_key,
        masked=[
            settings.telegram_bot_token,
            settings.telegram_webhook_secret,
            settings.secret_key,
            settings.whatsapp_access_token,
            settings.whatsapp_app_secret,
            settings.whatsapp_verify_token,
        ],
        style=settings.log_format,
    )
    consultation = common.consultation(settings)
    staff_link = _staff_link(settings) if settings.environment == "development" else None
    app = create_app(settings, consultation=consultation)
    host, port = settings.host, settings.port
    log.info("serving", extra={"host": host, "port": port, "exercise": consultation.exercise.slug})
    title = consultation.text(consultation.exercise.title, "es")
    started = when_listening(settings.public_url, title, staff_link)
    web.run_app(app, host=host, port=port, print=started, access_log=None)
    return 0


def when_listening(public_url: str, title: str, staff_link: str | None) -> Callable[[str], None]:
    """What runs once the server listens, its start-up done: the heap settles, the banner shows.

    Everything start-up built (modules, mappers, catalogues, the app and its
    channels) lives as long as the process. ``gc.freeze()`` takes it out of the
    garbage collector's way: a full collection otherwise goes through all of it each
    time, holding the event loop for about 100 ms in a serving process. What the
    process allocates later is collected as usual, in rounds ``YOUNG_COLLECTION``
    allocations apart instead of Python's 700: a conversation step allocates a few
    thousand objects, nearly all freed at once by their reference counts, and
    every round goes through whatever of the step is still alive.
    """

    def started(_: str) -> None:
        gc.collect()
        gc.freeze()
        older, oldest = gc.get_threshold()[1:]
        gc.set_threshold(YOUNG_COLLECTION, older, oldest)
        print(banner(public_url, title, staff_link), flush=True)

    return started


def banner(public_url: str, title: str, staff_link: str | None) -> str:
    """What a person at the console reads once the server listens: where to go."""
    from web.chat import chat_url
    from web.dashboard import dashboard_url

    lines = [
        f"Participa PMD está en marcha: {title}",
        f"  Chat en el navegador:  {chat_url(public_url)}",
        f"  Tablero público:       {dashboard_url(public_url)}",
    ]
    if staff_link:
        lines.append(f"  Panel del personal (enlace de un solo uso, 15 minutos): {staff_link}")
        lines.append("  Para otro enlace: .venv/bin/pmd staff link 1")
    lines.append("Para detenerlo, pulsa Ctrl+C.")
    return "\n".join(lines)


def _staff_link(settings: Settings) -> str | None:
    """A one-time link into the staff panel for the first bootstrap admin (development)."""
    from pmd_domain.services import staff_login
    from web.panel.login import login_url

    if not settings.admin_ids:
        return None
    user_id = settings.admin_ids[0]

    async def work(database: Database) -> str:
        async with database.transaction() as session:
            token = await staff_login.create_login_link(
                session, user_id=user_id, admin_ids=settings.admin_ids, now=utcnow()
            )
        return login_url(settings.public_url, token)

    try:
        link: str = common.run(common.with_database(settings, work))
    except Exception:  # the server still starts (and waits for its database) without it
        log.warning("staff link not made", exc_info=False)
        return None
    return link


def register(sub: Any) -> None:
    """Add ``serve`` to the parser."""
    serve = sub.add_parser("serve", help="inicia el sitio web y el bot")
    serve.add_argument("--host", help="dirección donde escucha (si no, PMD_HOST)")
    serve.add_argument(
        "--port", type=common.whole(1, 65535), help="puerto donde escucha (si no, PMD_PORT)"
    )
    serve.set_defaults(func=run)
