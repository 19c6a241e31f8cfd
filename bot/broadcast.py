"""The campaign sender: sends queued broadcasts within each channel's limits.

``BroadcastWorker`` runs as a task next to the bot (started in ``post_init``, stopped
in ``bot.app.shutdown``), or next to the WhatsApp channel in a process without a bot.
It works in steps (``broadcasts.next_batch``, one transaction each): record the
previous batch's outcomes, lease the oldest due campaign, mark a quarter second's
worth of deliveries ``sending``, send them, each through its citizen's channel
(a ``pmd_domain.campaign_transport.CampaignTransport``: Telegram's here, WhatsApp's in
``whatsapp/broadcast.py``). A citizen of a channel this process cannot send on is
``skipped``.

- A token bucket per channel keeps its rate at ``PMD_BROADCAST_RATE`` (a burst of at
  most two messages), and a chat never gets two campaign messages less than a second apart.
- A 429 holds *every* send of its channel until its ``retry_after`` has passed
  (Telegram's flood wait is for the whole bot); the message is then tried again.
- 403 (blocked, deactivated) marks the citizen unreachable; other refusals fail the
  delivery. A network error before the request left is retried; after it (a read
  timeout) the message may have arrived, so it is not sent again.
- The worker has its own ``telegram.Bot`` and connection pool: citizens' replies never
  queue behind campaign messages.
- The staff member's progress message is edited every few seconds, with Pausar /
  Reanudar / Cancelar buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.render import retry_seconds
from pmd_domain.aio import raise_if_cancelled, wait_event
from pmd_domain.campaign_transport import Blocked, CampaignTransport, Failed, Hold
from pmd_domain.clock import utcnow
from pmd_domain.conversation.staff.broadcast import progress_reply
from pmd_domain.db import Database
from pmd_domain.db.models import Campaign
from pmd_domain.i18n import Catalogs
from pmd_domain.logs import RepeatedLog
from pmd_domain.metrics import Metrics
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import Outcome, Progress, Recipient
from pmd_domain.settings import Settings
from pmd_domain.statuses import DeliveryStatus

log = logging.getLogger("pmd.broadcast")

POLL_SECONDS = 1.0
PROGRESS_EVERY_SECONDS = 3.0
PER_CHAT_GAP_SECONDS = 1.0
MAX_IN_FLIGHT = 16
MAX_ATTEMPTS = 3
BATCH_SECONDS = 0.25
CHECK_SECONDS = 0.5  # how soon a pause or cancel stops the batch in flight
STOP_GRACE_SECONDS = 3.0
LANGUAGE = "es"  # staff texts
NO_SENDER = "no sender for this channel"
WORKER = "pmd_broadcast_worker"  # key in application.bot_data


class SendPace:
    """The pace of one channel's campaign sends: a token bucket shared by every send,
    plus a hold for all of them after a 429 (not ``web.ratelimit.RateLimiter``, which
    limits requests per client)."""

    def __init__(self, rate: float, *, burst: float = 2.0):
        self.rate = rate
        self.capacity = max(1.0, min(burst, rate))
        self.tokens = 1.0
        self.stamp = time.monotonic()
        self.hold_until = 0.0
        self._turn = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (and start again without a burst)."""
        self.hold_until = max(self.hold_until, time.monotonic() + seconds)
        self.tokens = 0.0
        self.stamp = self.hold_until

    async def wait_hold(self) -> None:
        """Return once no 429 hold is running."""
        # A loop, not an Event: a new 429 may extend the hold while we sleep.
        while (delay := self.hold_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def acquire(self) -> None:
        """Wait for a token (FIFO among waiters)."""
        async with self._turn:
            while True:
                await self.wait_hold()
                now = time.monotonic()
                if now > self.stamp:
                    self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                    self.stamp = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)


def make_bot(settings: Settings, *, pool_size: int = MAX_IN_FLIGHT + 4) -> Bot:
    """A Bot with its own connection pool, for campaign messages only."""
    assert settings.telegram_bot_token
    api = settings.telegram_api_url
    request = HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=5.0,
        read_timeout=10.0,
        write_timeout=10.0,
        pool_timeout=10.0,
    )
    return Bot(
        settings.telegram_bot_token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=request,
    )


def progress_text(catalogs: Catalogs, campaign_id: int, progress: Progress) -> str:
    """The progress message of a campaign, for its staff member."""
    return progress_reply(catalogs, campaign_id, progress).text


def progress_buttons(
    catalogs: Catalogs, campaign_id: int, progress: Progress
) -> InlineKeyboardMarkup | None:
    """Pausar / Reanudar and Cancelar, while the campaign can still change."""
    rows = progress_reply(catalogs, campaign_id, progress).buttons
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def show_progress(
    bot: Bot, catalogs: Catalogs, campaign: Campaign, progress: Progress
) -> None:
    """Edit the campaign's progress message (if it has one); refusals are only logged."""
    if campaign.progress_chat_id is None or campaign.progress_message_id is None:
        return
    try:
        await bot.edit_message_text(
            progress_text(catalogs, campaign.id, progress),
            chat_id=campaign.progress_chat_id,
            message_id=campaign.progress_message_id,
            reply_markup=progress_buttons(catalogs, campaign.id, progress),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("progress not shown", extra={"campaign": campaign.id, "error": str(exc)})
    except TelegramError as exc:
        log.info("progress not shown", extra={"campaign": campaign.id, "error": str(exc)})


def campaign_markup(campaign: Campaign) -> InlineKeyboardMarkup | None:
    """The campaign's link button, if it has one."""
    if not campaign.button_text or not campaign.button_url:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(campaign.button_text, url=campaign.button_url)]]
    )


async def send_campaign(bot: Bot, campaign: Campaign, chat_id: int) -> Message:
    """Send ``campaign`` to one chat: a photo with its caption, or a text (no parse mode)."""
    markup = campaign_markup(campaign)
    if campaign.photo:
        return await bot.send_photo(
            chat_id, campaign.photo, caption=campaign.text, reply_markup=markup
        )
    return await bot.send_message(chat_id, campaign.text, reply_markup=markup)


def _safe_to_retry(exc: NetworkError) -> bool:
    """Whether the request surely never reached Telegram (so a retry cannot duplicate)."""
    cause = exc.__cause__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class TelegramCampaigns:
    """Campaign messages on Telegram (``CampaignTransport``), with the worker's own Bot."""

    channel = "telegram"

    def __init__(self, bot: Bot):
        self.bot = bot

    async def start(self) -> None:
        """Connect the Bot."""
        await self.bot.initialize()

    async def stop(self) -> None:
        """Close its connection pool (a no-op when it never initialised)."""
        await self.bot.shutdown()

    async def send(self, campaign: Campaign, chat: str) -> None:
        """Send ``campaign`` to the chat; Telegram's errors become the sender's."""
        try:
            await send_campaign(self.bot, campaign, int(chat))
        except RetryAfter as exc:
            raise Hold(retry_seconds(exc)) from None
        except Forbidden:
            raise Blocked() from None
        except NetworkError as exc:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            raise Failed(reason, again=_safe_to_retry(exc)) from None
        except TelegramError as exc:  # BadRequest and the like: not for this chat
            raise Failed(str(exc)[:200]) from None


@dataclass
class _Round:
    """One batch being sent: what is left, what happened, how often each was tried."""

    campaign: Campaign
    queue: deque[Recipient]
    outcomes: list[Outcome] = field(default_factory=list)
    tries: dict[int, int] = field(default_factory=dict)


class BroadcastWorker:
    """Sends due campaigns until stopped; one per bot process (see the module docstring)."""

    def __init__(
        self,
        *,
        bot: Bot | None,
        database: Database,
        catalogs: Catalogs,
        rate: float,
        poll_seconds: float = POLL_SECONDS,
        progress_every: float = PROGRESS_EVERY_SECONDS,
        metrics: Metrics | None = None,
        transports: tuple[CampaignTransport, ...] = (),
    ):
        # ``bot``: Telegram's campaign messages and the staff's progress message (None:
        # a process without a Telegram bot).
        self.bot = bot
        self.metrics = metrics or Metrics()
        self.database = database
        self.catalogs = catalogs
        own = (TelegramCampaigns(bot),) if bot is not None else ()
        self.transports: dict[str, CampaignTransport] = {t.channel: t for t in (*own, *transports)}
        self.paces = {channel: SendPace(rate) for channel in self.transports}
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self.poll_seconds = poll_seconds
        self.progress_every = progress_every
        # A quarter of a second's worth: what a crash can leave uncertain.
        self.batch_size = max(1, math.ceil(rate * BATCH_SECONDS))
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_sent: dict[str, float] = {}
        self._last_progress: dict[int, float] = {}
        self._checked = self._renewed = time.monotonic()
        self._failures = RepeatedLog()  # a database that is down: a line per interval

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Connect the worker's bot and start the loop as a task (once)."""
        if self._task is not None:
            return
        for transport in self.transports.values():
            await transport.start()
        self._stop_requested.clear()
        self._task = asyncio.create_task(self._run(), name="broadcast-worker")

    def wake(self) -> None:
        """Look for due campaigns now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Finish the messages in flight, put the rest back, release the lease, close."""
        self._stop_requested.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        with contextlib.suppress(Exception):
            async with self.database.transaction() as session:
                await broadcasts.release(session, owner=self.owner)
        for transport in self.transports.values():
            with contextlib.suppress(Exception):
                await transport.stop()

    # ------------------------------------------------------------------ loop
    async def _run(self) -> None:
        outcomes: list[Outcome] = []
        while not self._stop_requested.is_set():
            try:
                if not outcomes and not await self._anything_to_do():
                    await self._idle()  # no write transaction while there is nothing to send
                    continue
                async with self.database.transaction() as session:
                    batch = await broadcasts.next_batch(
                        session,
                        owner=self.owner,
                        limit=self.batch_size,
                        now=utcnow(),
                        outcomes=outcomes,
                    )
                outcomes = []
                if batch is None:
                    await self._idle()
                    continue
                if not batch.recipients:  # the campaign just finished
                    await self._report(batch.campaign, force=True)
                    log.info("broadcast done", extra={"campaign": batch.campaign.id})
                    continue
                self._checked = self._renewed = time.monotonic()  # next_batch just renewed
                outcomes = await self._send_round(_Round(batch.campaign, deque(batch.recipients)))
                await self._report(batch.campaign)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                raise_if_cancelled()  # a stop that a database driver turned into an error
                self._failures.failure(log, "broadcast step failed", error)
                await self._idle()
        if outcomes:
            async with self.database.transaction() as session:
                await broadcasts.record(session, outcomes=outcomes, now=utcnow())

    async def _anything_to_do(self) -> bool:
        async with self.database.reading() as session:
            return await broadcasts.anything_to_do(session, owner=self.owner)

    async def _idle(self) -> None:
        self._wake.clear()
        await wait_event(self._wake, self.poll_seconds)

    async def _send_round(self, round_: _Round) -> list[Outcome]:
        """Send one batch; returns every delivery's outcome (``pending`` if not tried)."""
        in_flight: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        while (round_.queue or in_flight) and not self._stop_requested.is_set():
            if not round_.queue:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            recipient = round_.queue.popleft()
            pace = self.paces.get(recipient.channel)
            if pace is None:
                round_.outcomes.append(
                    Outcome(
                        recipient.delivery_id,
                        recipient.participant_id,
                        DeliveryStatus.SKIPPED,
                        NO_SENDER,
                    )
                )
                continue
            await self._chat_turn(recipient.chat_id)
            if not await self._unless_stopped(pace.acquire()):
                round_.queue.appendleft(recipient)
                break  # stopping during a long 429 hold: record what was done
            if not await self._still_sending(round_.campaign.id):
                round_.queue.appendleft(recipient)
                break  # paused, cancelled or the lease was lost: stop here
            await slots.acquire()
            task = asyncio.create_task(self._send_one(round_, recipient, slots))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=STOP_GRACE_SECONDS)
        for task in in_flight:
            task.cancel()  # (only on stop) those deliveries stay "sending": uncertain
        round_.outcomes.extend(
            Outcome(r.delivery_id, r.participant_id, DeliveryStatus.PENDING) for r in round_.queue
        )
        return round_.outcomes

    async def _unless_stopped(self, waiting: Coroutine[Any, Any, None]) -> bool:
        """Await ``waiting`` unless ``stop()`` comes first (then False)."""
        task = asyncio.ensure_future(waiting)
        stop = asyncio.ensure_future(self._stop_requested.wait())
        await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task.done():
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

    async def _chat_turn(self, chat_id: str) -> None:
        """Wait until this chat's previous campaign message is a second old."""
        last = self._last_sent.get(chat_id)
        if last is not None:
            delay = last + PER_CHAT_GAP_SECONDS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if len(self._last_sent) > 10_000:
            horizon = time.monotonic() - PER_CHAT_GAP_SECONDS
            self._last_sent = {c: t for c, t in self._last_sent.items() if t > horizon}

    async def _still_sending(self, campaign_id: int) -> bool:
        """Whether to go on: the campaign was not paused or cancelled and the lease is ours.

        Looked up at most every ``CHECK_SECONDS`` (a read); the lease is renewed (a write)
        every third of its length, which matters only during long 429 holds.
        """
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return True
        self._checked = now
        if now - self._renewed > broadcasts.LEASE.total_seconds() / 3:
            async with self.database.transaction() as session:
                mine = await broadcasts.renew(
                    session, campaign_id=campaign_id, owner=self.owner, now=utcnow()
                )
            self._renewed = now
            return mine
        async with self.database.reading() as session:
            return await broadcasts.still_mine(session, campaign_id=campaign_id, owner=self.owner)

    async def _send_one(
        self, round_: _Round, recipient: Recipient, slots: asyncio.Semaphore
    ) -> None:
        """Send to one chat and note the outcome (or put it back in the queue)."""
        pace = self.paces[recipient.channel]
        transport = self.transports[recipient.channel]
        try:
            await pace.wait_hold()  # a 429 may have come back since the token
            self._last_sent[recipient.chat_id] = time.monotonic()
            status, error = DeliveryStatus.SENT, None
            try:
                await transport.send(round_.campaign, recipient.chat_id)
            except Hold as hold:
                pace.hold(hold.after)
                log.info(
                    "broadcast held",
                    extra={"retry_after": hold.after, "channel": recipient.channel},
                )
                round_.queue.appendleft(recipient)
                return
            except Blocked:
                status, error = DeliveryStatus.BLOCKED, "blocked"
            except Failed as failed:
                tries = round_.tries[recipient.delivery_id] = (
                    round_.tries.get(recipient.delivery_id, 0) + 1
                )
                if failed.again and tries < MAX_ATTEMPTS:
                    round_.queue.append(recipient)
                    return
                status, error = DeliveryStatus.FAILED, failed.reason[:200]
            round_.outcomes.append(
                Outcome(recipient.delivery_id, recipient.participant_id, status, error)
            )
            self.metrics.campaign_sent(status)
        finally:
            slots.release()

    async def _report(self, campaign: Campaign, *, force: bool = False) -> None:
        """Edit the progress message, at most every ``progress_every`` seconds."""
        if campaign.progress_message_id is None or self.bot is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress.get(campaign.id, 0.0) < self.progress_every:
            return
        self._last_progress[campaign.id] = now
        shown = None
        while True:
            async with self.database.reading() as session:
                progress = await broadcasts.progress(session, campaign_id=campaign.id)
            if shown is not None and progress.status == shown:
                return
            # A staff member's Pausar / Cancelar edits the same message: when it came
            # while this edit was on its way, edit again so the last word is the
            # campaign's state now, not the one read before the press.
            await show_progress(self.bot, self.catalogs, campaign, progress)
            shown = progress.status


def worker_for(
    settings: Settings,
    database: Database,
    catalogs: Catalogs,
    *,
    metrics: Metrics | None = None,
    transports: tuple[CampaignTransport, ...] = (),
) -> BroadcastWorker:
    """The worker of a process (not started): its own Bot when a token is set, and
    ``transports`` of the process's other channels."""
    return BroadcastWorker(
        bot=make_bot(settings) if settings.telegram_bot_token else None,
        database=database,
        catalogs=catalogs,
        rate=settings.broadcast_rate,
        metrics=metrics,
        transports=transports,
    )


def broadcast_worker(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> BroadcastWorker | None:
    """The campaign sender of this bot process, if it has one."""
    worker = application.bot_data.get(WORKER)
    return worker if isinstance(worker, BroadcastWorker) else None
