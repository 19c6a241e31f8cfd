"""The bot's application factory."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot import menu, staff
from bot.broadcast import WORKER, broadcast_worker, worker_for
from bot.citizen import CitizenHandler, ConversationEngine
from bot.context import (
    Services,
    attach,
    attach_delivery,
    attach_notifier,
    commits_of,
    notifier_of,
    sender_if_any,
    sender_of,
)
from bot.errors import on_error
from bot.inbound import Commits
from bot.metered import MeteredHandler
from bot.notify import Notifier
from bot.ordering import DEFAULT_CONCURRENCY, ChatOrderedProcessor
from bot.polling import Poller
from bot.render import TelegramTransport
from pmd_domain.campaign_transport import CampaignTransport
from pmd_domain.outbox_sender import OutboxSender
from pmd_domain.services import staff as staff_service
from pmd_domain.settings import Settings

log = logging.getLogger("pmd.bot")

# What the bot asks Telegram for; the conversation ignores the rest anyway.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
CITIZEN_GROUP = 0
POLL_TIMEOUT_SECONDS = 10
_POLLER = "pmd_poller"

BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    settings: Settings,
    *,
    services: Services,
    conversation: ConversationEngine,
    concurrency: int = DEFAULT_CONCURRENCY,
    campaign_transports: tuple[CampaignTransport, ...] = (),
) -> BotApplication:
    """Build (not start) the Telegram application talking to ``TELEGRAM_API_URL``.

    Once started it also sends the outbox (citizens' replies), notifications and queued
    campaigns. It has no PTB ``Updater``: ``start_polling`` polls with ``bot/polling.py``,
    and the webhook hands updates over through ``bot/inbound.py``.
    """
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    api = settings.telegram_api_url
    application: BotApplication = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(ChatOrderedProcessor(concurrency))
        .connection_pool_size(max(8, concurrency * 2))
        .connect_timeout(5.0)
        .read_timeout(10.0)
        .write_timeout(10.0)
        .media_write_timeout(30.0)
        .pool_timeout(10.0)
        .get_updates_connect_timeout(5.0)
        .get_updates_read_timeout(10.0)
        .post_init(partial(on_start, services=services))
        .updater(None)
        .build()
    )
    attach(application, services)
    attach_delivery(
        application,
        OutboxSender(
            services.database,
            TelegramTransport(application.bot),
            metrics=services.metrics,
        ),
        Commits(),
    )
    attach_notifier(
        application,
        Notifier(application.bot, services.database, services.catalogs, links=services.links),
    )
    application.bot_data[WORKER] = worker_for(
        settings,
        services.database,
        services.catalogs,
        metrics=services.metrics,
        transports=campaign_transports,  # other channels' campaign messages (WhatsApp)
    )

    # Staff handlers first (groups -3 to -1); they stop the updates they handle.
    staff.register(application)
    citizen = MeteredHandler(CitizenHandler(conversation), services.metrics)
    application.add_handler(TypeHandler(Update, citizen), CITIZEN_GROUP)
    application.add_error_handler(on_error)
    return application


async def on_start(application: BotApplication, *, services: Services) -> None:
    """``post_init``: publish the command menus, start sending replies, notifications, campaigns."""
    sender_of(application).start()
    bot = application.bot
    await menu.publish_public_menu(bot, services.catalogs)
    async with services.database.reading() as session:
        members = await staff_service.roster(session, admin_ids=services.settings.admin_ids)
    await menu.publish_staff_menus(bot, services.catalogs, ((m.user_id, m.role) for m in members))
    notifier = notifier_of(application)
    if notifier is not None:
        notifier.start()
    worker = broadcast_worker(application)
    if worker is not None:
        await worker.start()


async def startup(application: BotApplication) -> None:
    """Initialise and start ``application`` as ``run_polling`` would (``post_init`` included).

    The caller then starts polling (``start_polling``) or hands webhook updates over
    (``bot.inbound.handle``).
    """
    await application.initialize()  # a no-op once it succeeded
    if application.post_init is not None:
        await application.post_init(application)
    if not application.running:
        await application.start()


async def start_polling(
    application: BotApplication,
    *,
    timeout: int = POLL_TIMEOUT_SECONDS,  # noqa: ASYNC109 - getUpdates' long-poll timeout
) -> None:
    """Take over the replies left unsent, then long poll Telegram (one process per bot).

    Telegram lets one process poll a bot at a time, so every pending reply in the
    outbox is this process's: they go out first, before any new update is taken.
    """
    await sender_of(application).adopt()
    poller = application.bot_data.get(_POLLER)
    if not isinstance(poller, Poller):
        poller = application.bot_data[_POLLER] = Poller(
            application,
            commits_of(application),
            sender_of(application).database,
            timeout=timeout,
            allowed_updates=ALLOWED_UPDATES,
        )
    poller.start()


def polling(application: BotApplication) -> bool:
    """Whether ``start_polling`` runs for ``application``."""
    poller = application.bot_data.get(_POLLER)
    return isinstance(poller, Poller) and poller.running


async def shutdown(application: BotApplication) -> None:
    """Stop polling, the campaign sender and notifications; finish the updates in hand."""
    poller = application.bot_data.get(_POLLER)
    if isinstance(poller, Poller):
        await poller.stop()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()  # an application built elsewhere (a bare bot)
    worker = broadcast_worker(application)
    if worker is not None:
        await worker.stop()
    notifier = notifier_of(application)
    if notifier is not None:
        await notifier.stop()
    if application.running:
        await application.stop()
    sender = sender_if_any(application)
    if sender is not None:
        await sender.stop()
    await application.shutdown()  # a no-op when it never initialised
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
