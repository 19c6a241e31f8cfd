"""The WhatsApp channel hosted in the web process: the webhook Meta calls.

``setup(app)`` does nothing unless the ``WHATSAPP_*`` settings are given. With them:

- ``GET /whatsapp/webhook`` answers Meta's verification request (``hub.mode=subscribe``,
  ``hub.verify_token`` equal to ``WHATSAPP_VERIFY_TOKEN``, compared in constant time)
  with ``hub.challenge``;
- ``POST /whatsapp/webhook`` takes a delivery: its ``X-Hub-Signature-256`` must be the
  HMAC-SHA256 of the raw body with ``WHATSAPP_APP_SECRET`` (else 403, nothing read);
  every message is handled in its chat's turn (different chats side by side), and the
  answer is 200 once every step committed and its replies went out. The handling runs
  in the request itself; while the database fails the request waits up to
  ``WEBHOOK_HOLD_SECONDS`` and is answered 503 as the handling goes on, so Meta
  delivers it again (a message id already handled is not handled twice).

The channel uses the browser chat's conversation engine (one engine for every
channel). Campaign messages to WhatsApp citizens go through the process's campaign
sender: Telegram's when a bot runs here, else one of the channel's own; outcome
notifications through the channel's notification loop (``whatsapp/notify.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from bot.broadcast import BroadcastWorker, worker_for
from pmd_domain import jsoncodec
from pmd_domain.aio import raise_if_cancelled
from pmd_domain.campaign_transport import CampaignTransport
from pmd_domain.notification_sender import Notifier
from web.keys import CAMPAIGN_TRANSPORTS, CATALOGS, CONVERSATION, DATABASE, METRICS, SETTINGS
from web.links import RouterLinks
from whatsapp import notify
from whatsapp.broadcast import WhatsAppCampaigns
from whatsapp.channel import WhatsAppChannel
from whatsapp.updates import SIGNATURE_HEADER, Incoming, Status, messages_of, signed, statuses_of

log = logging.getLogger("pmd.whatsapp")

WEBHOOK_PATH = "/whatsapp/webhook"
WEBHOOK_HOLD_SECONDS = 10.0
MAX_CHALLENGE_CHARS = 256

WHATSAPP = web.AppKey("whatsapp_channel", WhatsAppChannel)
NOTIFIER = web.AppKey("whatsapp_notifier", Notifier)


def setup(app: web.Application) -> None:
    """Serve the WhatsApp webhook when the channel is configured (call before telegram.setup)."""
    settings = app[SETTINGS]
    if not settings.whatsapp_enabled:
        return
    app.router.add_get(WEBHOOK_PATH, verify, name="whatsapp_verify")
    app.router.add_post(WEBHOOK_PATH, receive, name="whatsapp_webhook")
    app.cleanup_ctx.append(_channel_ctx)


async def _channel_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    channel = WhatsAppChannel(
        settings,
        database=app[DATABASE],
        conversation=app[CONVERSATION],
        catalogs=app[CATALOGS],
        metrics=app[METRICS],
    )
    app[WHATSAPP] = channel
    await channel.start()
    outcomes = notify.notifier(channel, links=RouterLinks(app.router, settings.public_url))
    outcomes.start()
    app[NOTIFIER] = outcomes
    campaigns: CampaignTransport = WhatsAppCampaigns(channel)
    worker: BroadcastWorker | None = None
    if settings.telegram_bot_token:
        app[CAMPAIGN_TRANSPORTS].append(campaigns)  # the bot's campaign sender takes it
    else:
        worker = worker_for(
            settings, app[DATABASE], app[CATALOGS], metrics=app[METRICS], transports=(campaigns,)
        )
        await worker.start()
    log.info("whatsapp up")
    yield
    if worker is not None:
        await worker.stop()
    await outcomes.stop()
    await channel.stop()


async def verify(request: web.Request) -> web.Response:
    """Meta's subscription check: the challenge back when the verify token is ours."""
    query = request.query
    expected = request.app[SETTINGS].whatsapp_verify_token or ""
    given = query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    if (
        query.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
        or not challenge
        or len(challenge) > MAX_CHALLENGE_CHARS
    ):
        raise web.HTTPForbidden()
    return web.Response(text=challenge, content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    """One delivery from Meta: checked, handled, answered once it is stored."""
    app = request.app
    body = await request.read()
    if not signed(
        app[SETTINGS].whatsapp_app_secret or "", body, request.headers.get(SIGNATURE_HEADER)
    ):
        log.warning("whatsapp delivery refused", extra={"reason": "signature"})
        raise web.HTTPForbidden()
    channel = app.get(WHATSAPP)
    if channel is None:
        raise web.HTTPServiceUnavailable()  # starting: Meta delivers it again
    try:
        payload = jsoncodec.loads(body)
        incoming = messages_of(payload, channel.phone_number_id)
        statuses = statuses_of(payload, channel.phone_number_id)
    except (ValueError, TypeError, AttributeError, KeyError):
        raise web.HTTPBadRequest() from None
    if not incoming and not statuses:
        return web.Response(text="ok")
    # Handled right here, in the request's own task: the usual delivery is one message,
    # done in a few milliseconds. While the database falters a step waits for it (up
    # to its patience, longer than Meta waits for an answer), and past the hold Meta
    # is answered 503 as the handling goes on, so that it delivers the message again.
    hold = _Hold(request)
    try:
        await _handle_all(channel, incoming, statuses)
    finally:
        hold.end()
    return await hold.answer(web.Response(text="ok"))


class _Hold:
    """Answers a delivery 503 once it has taken ``WEBHOOK_HOLD_SECONDS``, handled or not.

    The answer is written by a task of its own while the request's handler still
    works; the handler then returns that same response, already sent.
    """

    def __init__(self, request: web.Request):
        self.request = request
        self.busy: web.Response | None = None
        self._sending: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(WEBHOOK_HOLD_SECONDS, self._passed)

    def _passed(self) -> None:
        self.busy = web.Response(status=503, text="retry later")
        self._sending = asyncio.create_task(self._send(self.busy), name="whatsapp-hold")

    async def _send(self, response: web.Response) -> None:
        with contextlib.suppress(ConnectionError):  # Meta hung up: it delivers again anyway
            await response.prepare(self.request)
            await response.write_eof()

    def end(self) -> None:
        self._timer.cancel()

    async def answer(self, done: web.Response) -> web.Response:
        """``done`` if the hold has not passed; else the 503 already sent."""
        if self._sending is None:
            return done
        await self._sending
        assert self.busy is not None  # set with the task
        return self.busy


async def _handle_all(
    channel: WhatsAppChannel, incoming: Sequence[Incoming], statuses: Sequence[Status]
) -> None:
    """Each chat's messages in order, the chats side by side; then the statuses."""
    chats: dict[str, list[Incoming]] = {}
    for each in incoming:
        chats.setdefault(each.wa_id, []).append(each)

    async def one_chat(messages: list[Incoming]) -> None:
        for message in messages:
            try:
                await channel.handle(message)
            except Exception as error:  # its reply waits in the outbox; never a 500
                raise_if_cancelled()
                channel.failures.failure(log, "whatsapp message failed", error)

    if len(chats) == 1:  # the usual delivery: one citizen's message
        await one_chat(next(iter(chats.values())))
    else:
        await asyncio.gather(*(one_chat(m) for m in chats.values()))
    for status in statuses:
        with contextlib.suppress(Exception):
            await channel.status(status)
