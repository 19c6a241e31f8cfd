"""``pmd serve``: the web side and the bot in one process."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from pmd_cli import common
from pmd_domain.logs import configure_logging

log = logging.getLogger("pmd")


def run(args: argparse.Namespace) -> int:
    """Run the web side (and the bot when configured) until interrupted."""
    from aiohttp import web

    from web.app import create_app

    settings = common.settings()
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
    )
    consultation = common.consultation(settings)
    app = create_app(settings, consultation=consultation)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    log.info("serving", extra={"host": host, "port": port, "exercise": consultation.exercise.slug})
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` to the parser."""
    serve = sub.add_parser("serve", help="inicia el sitio web y el bot")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=run)
