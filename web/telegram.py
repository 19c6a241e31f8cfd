"""The Telegram bot hosted in the web process: long polling, or a webhook route.

``setup(app)`` does nothing without ``TELEGRAM_BOT_TOKEN``. With one, a cleanup
context builds the bot application once the database is open, starts it in the
background (retrying while Telegram cannot be reached, so the web side never waits
for it), and stops it cleanly on shutdown. ``app[BOT_STATUS]["state"]`` follows it:
``starting`` → ``up`` (→ ``down`` while retrying or after shutdown).

A webhook request is answered 200 only once the update's step has committed (or its
handling ended without one); while the step waits for a failing database the
request is held up to ``WEBHOOK_HOLD_SECONDS`` and then answered 503, so that
Telegram delivers the update again. An update that keeps failing for the database's
whole patience (about a minute, counted from its first delivery to this process)
gets the error message and a 200, as in polling mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from telegram import Update

from bot.app import (
    ALLOWED_UPDATES,
    BotApplication,
    build_application,
    shutdown,
    start_polling,
    startup,
)
from bot.citizen import ConversationEngine
from bot.context import Services, commits_of
from bot.inbound import STEP_DEADLINE, Handling, handle
from pmd_domain.campaign_transport import CampaignTransport
from pmd_domain.db.engine import WRITE_PATIENCE_SECONDS
from web.keys import (
    BOT_STATUS,
    CAMPAIGN_TRANSPORTS,
    CATALOGS,
    CONSULTATION,
    CONVERSATION,
    DATABASE,
    METRICS,
    SETTINGS,
)
from web.links import RouterLinks
from web.requests import read_json

log = logging.getLogger("pmd.bot")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
RETRY_MAX_SECONDS = 60.0
POLL_TIMEOUT_SECONDS = 10
# How long a webhook request waits for its step before Telegram is told to come again.
WEBHOOK_HOLD_SECONDS = 10.0
FIRST_TRIES_KEPT = 10_000

TELEGRAM = web.AppKey("telegram_application", BotApplication)
ConversationFactory = Callable[[Services], ConversationEngine]
CONVERSATION_FACTORY: web.AppKey[ConversationFactory] = web.AppKey("telegram_conversation_factory")
# When each update still failing was first delivered (loop time), oldest first.
FIRST_TRIES: web.AppKey[OrderedDict[int, float]] = web.AppKey("telegram_first_tries")
# Webhook updates being handled: stopped on shutdown unless committed (they come again).
HANDLINGS: web.AppKey[set[Handling]] = web.AppKey("telegram_handlings")


def setup(app: web.Application) -> None:
    """Host the bot in ``app`` when a token is configured (call after the database ctx)."""
    settings = app[SETTINGS]
    if not settings.telegram_bot_token:
        return
    if settings.telegram_mode == "webhook":
        app.router.add_post(WEBHOOK_PATH, webhook, name="telegram_webhook")
        app[FIRST_TRIES] = OrderedDict()
        app[HANDLINGS] = set()
    app[BOT_STATUS]["state"] = "starting"
    app.cleanup_ctx.append(_bot_ctx)


async def _bot_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    services = Services(
        settings=settings,
        database=app[DATABASE],
        consultation=app[CONSULTATION],
        catalogs=app[CATALOGS],
        links=RouterLinks(app.router, settings.public_url),
        metrics=app[METRICS],
    )
    # The same engine as the browser chat (with its certificate renderer), unless a
    # test gives another one.
    factory = app.get(CONVERSATION_FACTORY)
    conversation = factory(services) if factory else app[CONVERSATION]
    application = build_application(
        settings,
        services=services,
        conversation=conversation,
        campaign_transports=_campaign_transports(app),
    )
    app[TELEGRAM] = application
    status = app[BOT_STATUS]
    runner = asyncio.create_task(_start(app, application), name="telegram-start")
    yield
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    # Webhook steps still waiting for the database are stopped: answered 503 (or not
    # at all), Telegram delivers them again.
    waiting = [h for h in app.get(HANDLINGS, ()) if not h.settled.done()]
    await asyncio.gather(*(h.cancel() for h in waiting))
    await _stop(application)
    status["state"] = "down"


def _campaign_transports(app: web.Application) -> tuple[CampaignTransport, ...]:
    """Other channels' campaign senders (WhatsApp) for the bot's campaign worker."""
    found: list[CampaignTransport] = app.get(CAMPAIGN_TRANSPORTS, [])
    return tuple(found)


async def _start(app: web.Application, application: BotApplication) -> None:
    """Start the bot, retrying with backoff while Telegram does not answer."""
    settings = app[SETTINGS]
    status = app[BOT_STATUS]
    delay = 1.0
    while True:
        status["state"] = "starting"
        try:
            await startup(application)
            if settings.telegram_mode == "webhook":
                url = settings.public_url + str(app.router["telegram_webhook"].url_for())
                await application.bot.set_webhook(
                    url=url,
                    secret_token=settings.telegram_webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                await start_polling(application, timeout=POLL_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            status["state"] = "down"
            log.warning(
                "bot could not start, retrying",
                extra={"reason": type(exc).__name__, "retry_in": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        # The name Telegram knows the bot by (from getMe at start-up): the dashboard's
        # t.me link when TELEGRAM_BOT_USERNAME is not set.
        status["username"] = application.bot.username
        status["state"] = "up"
        log.info("bot up", extra={"mode": settings.telegram_mode})
        return


async def _stop(application: BotApplication) -> None:
    """Stop polling, finish the updates in hand, close the HTTP client."""
    try:
        await shutdown(application)
    except Exception as exc:
        log.warning("bot did not stop cleanly", extra={"reason": type(exc).__name__})


async def webhook(request: web.Request) -> web.Response:
    """Receive one update from Telegram; 403 without the right secret header."""
    expected = request.app[SETTINGS].telegram_webhook_secret or ""
    given = request.headers.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden()
    application = request.app.get(TELEGRAM)
    if application is None or not application.running:
        # Telegram retries later; nothing is lost.
        raise web.HTTPServiceUnavailable()
    try:
        data = await read_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an update")
        update = Update.de_json(data, application.bot)
    except (json.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError):
        raise web.HTTPBadRequest() from None
    return await _handled(request.app, application, update)


async def _handled(
    app: web.Application, application: BotApplication, update: Update
) -> web.Response:
    """Handle ``update`` now: 200 once its step committed, 503 while the database fails."""
    tries = app[FIRST_TRIES]
    loop = asyncio.get_running_loop()
    first = tries.setdefault(update.update_id, loop.time())
    while len(tries) > FIRST_TRIES_KEPT:
        tries.popitem(last=False)
    # The step may retry for what is left of its patience since the first delivery.
    token = STEP_DEADLINE.set(first + WRITE_PATIENCE_SECONDS)
    try:
        handling = handle(application, commits_of(application), update)
    finally:
        STEP_DEADLINE.reset(token)
    handlings = app[HANDLINGS]
    handlings.add(handling)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(handling.settled), WEBHOOK_HOLD_SECONDS)
    finally:
        handlings.discard(handling)
    if handling.settled.done():
        tries.pop(update.update_id, None)
        return web.Response(text="ok")
    # Still waiting for the database: Telegram delivers the update again later.
    await handling.cancel()
    return web.Response(status=503, text="retry later")


def conversation_factory(app: web.Application, factory: ConversationFactory) -> None:
    """Use ``factory`` instead of the default engine (tests, the browser chat sharing one)."""
    app[CONVERSATION_FACTORY] = factory
