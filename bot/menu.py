"""The command menus the bot publishes (``setMyCommands``): the public one and staff ones.

The public menu (default scope) lists citizen commands only. A staff member's private
chat gets its own menu (``BotCommandScopeChat``) with the staff commands their role
allows; nobody else's menu shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.services import staff

log = logging.getLogger("pmd.bot")

PUBLIC_COMMANDS = ("start", "menu", "ayuda", "idioma", "silenciar", "cancelar")
# Staff commands and the permission each needs (pmd_domain.services.staff.PERMISSIONS).
STAFF_COMMANDS = (
    ("moderar", "moderate"),
    ("difundir", "broadcast"),
    ("estadisticas", "stats"),
    ("panel", "analyse"),
    ("revocar", "revoke"),
    ("staff", "manage_staff"),
)
MENU_LANGUAGES = ("es", "en")


def commands_for(catalogs: Catalogs, language: str, role: str | None = None) -> list[BotCommand]:
    """The public commands, then the staff commands ``role`` may run, described in ``language``."""
    listed = [
        BotCommand(name, catalogs.text(language, f"telegram.command.{name}"))
        for name in PUBLIC_COMMANDS
    ]
    listed += [
        BotCommand(name, catalogs.text(language, f"staff.command.{name}"))
        for name, permission in STAFF_COMMANDS
        if staff.may(role, permission)
    ]
    return listed


def _language_code(language: str) -> str | None:
    return None if language == DEFAULT_LANGUAGE else language


async def publish_public_menu(bot: Bot, catalogs: Catalogs) -> None:
    """The menu everybody sees, in Spanish (default) and English."""
    try:
        for language in MENU_LANGUAGES:
            await bot.set_my_commands(
                commands_for(catalogs, language), language_code=_language_code(language)
            )
    except TelegramError as exc:
        # The menu is a convenience: a failure here must not keep the bot down.
        log.warning("could not set the command menu", extra={"reason": type(exc).__name__})


async def publish_staff_menu(
    bot: Bot, catalogs: Catalogs, *, user_id: int, role: str | None
) -> None:
    """Give ``user_id``'s private chat the menu of ``role``; the public one when ``None``."""
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        for language in MENU_LANGUAGES:
            code = _language_code(language)
            if role is None:
                await bot.delete_my_commands(scope=scope, language_code=code)
            else:
                await bot.set_my_commands(
                    commands_for(catalogs, language, role), scope=scope, language_code=code
                )
    except TelegramError as exc:
        # "chat not found": the member has not opened the bot yet; /staff or a restart retries.
        log.info("staff menu not set", extra={"user_id": user_id, "reason": type(exc).__name__})


async def publish_staff_menus(
    bot: Bot, catalogs: Catalogs, members: Iterable[tuple[int, str]]
) -> None:
    """The staff menu of every ``(user_id, role)``."""
    for user_id, role in members:
        await publish_staff_menu(bot, catalogs, user_id=user_id, role=role)
