"""``pmd telegram webhook set|info|delete``: register the webhook with Telegram by hand.

``pmd serve`` in webhook mode registers it itself when it starts; this is for
checking what Telegram has (pending updates, the last delivery error), for
registering before the processes start, and for going back to long polling.
"""

from __future__ import annotations

import argparse
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.app import ALLOWED_UPDATES
from pmd_cli import common
from pmd_domain.settings import Settings
from web.telegram import WEBHOOK_PATH


def _bot(settings: Settings) -> Bot:
    if not settings.telegram_bot_token:
        raise common.CommandError("Falta TELEGRAM_BOT_TOKEN.")
    api = settings.telegram_api_url
    return Bot(settings.telegram_bot_token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")


def webhook_url(settings: Settings) -> str:
    """Where Telegram must POST the updates: ``PMD_PUBLIC_URL`` + the webhook route."""
    return settings.public_url + WEBHOOK_PATH


def run(args: argparse.Namespace) -> int:
    """Set, show or delete the bot's webhook."""
    settings = common.settings()
    action = args.webhook_command
    if action == "set":
        settings.check_for_serving()  # the secret's strength, https outside development
        if not settings.telegram_webhook_secret:
            raise common.CommandError("Falta TELEGRAM_WEBHOOK_SECRET (ver docs/deploy.md).")

    async def work() -> str:
        bot = _bot(settings)
        try:
            async with bot:
                if action == "set":
                    await bot.set_webhook(
                        url=webhook_url(settings),
                        secret_token=settings.telegram_webhook_secret,
                        allowed_updates=ALLOWED_UPDATES,
                        max_connections=args.max_connections,
                        drop_pending_updates=args.drop_pending_updates,
                    )
                    return f"Webhook registrado: {webhook_url(settings)}"
                if action == "delete":
                    await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
                    return "Webhook eliminado: el bot vuelve a recibir por long polling."
                return _describe(await bot.get_webhook_info())
        except TelegramError as exc:
            # PTB names a refused token in full: a secret, never printed.
            said = str(exc).replace(settings.telegram_bot_token or "\x00", "(el token)")
            raise common.CommandError(f"Telegram respondió: {said}") from None

    print(common.run(work()))
    return 0


def _describe(info: Any) -> str:
    if not info.url:
        return (
            f"Sin webhook (long polling). Actualizaciones pendientes: {info.pending_update_count}."
        )
    lines = [
        f"URL: {info.url}",
        f"Actualizaciones pendientes: {info.pending_update_count}",
        f"Conexiones simultáneas: {info.max_connections}",
        f"Tipos de actualización: {', '.join(info.allowed_updates or ['todos'])}",
    ]
    if info.last_error_date:
        lines.append(
            f"Último error: {info.last_error_message} ({info.last_error_date:%Y-%m-%d %H:%M} UTC)"
        )
    return "\n".join(lines)


def register(sub: Any) -> None:
    """Add ``telegram`` to the parser."""
    parser = sub.add_parser("telegram", help="el bot de Telegram")
    actions = parser.add_subparsers(dest="telegram_command", required=True, metavar="ACCIÓN")
    hook = actions.add_parser("webhook", help="el webhook registrado en Telegram")
    verbs = hook.add_subparsers(dest="webhook_command", required=True, metavar="set|info|delete")
    put = verbs.add_parser("set", help="registra PMD_PUBLIC_URL/telegram/webhook con el secreto")
    put.add_argument(
        "--max-connections", type=common.whole(1, 100), default=40, help="1 a 100 (por omisión 40)"
    )
    put.add_argument(
        "--drop-pending-updates", action="store_true", help="descarta los mensajes en espera"
    )
    verbs.add_parser("info", help="lo que Telegram tiene registrado")
    drop = verbs.add_parser("delete", help="quita el webhook (para volver a long polling)")
    drop.add_argument(
        "--drop-pending-updates", action="store_true", help="descarta los mensajes en espera"
    )
    for verb in (put, drop):
        verb.set_defaults(func=run)
    verbs.choices["info"].set_defaults(func=run, drop_pending_updates=False)
