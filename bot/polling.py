"""Long polling that confirms an update to Telegram only once its step has committed.

python-telegram-bot's ``Updater`` confirms every update it fetched at its next
``getUpdates`` call, whatever became of it: an update whose step failed, or that
was still in hand when the process died, was never seen again. This loop passes
``offset`` only up to the oldest update not yet settled (``bot/inbound.py``), so
Telegram keeps everything else and gives it again after a restart (the engine
recognises an update it already handled by its id).

Updates are handed to the application as they come, each in its chat's turn
(``bot/ordering.py``). While the database is failing and updates in hand wait for
it, no more are fetched: they stay with Telegram until it recovers. Telegram answers
at once, with the same updates, while any is unconfirmed: after handing updates
over (and after a fetch that brought nothing new) the loop waits for the offset to
move, a commit, before it asks again (at most 50 ms, or 250 ms, so that other chats'
updates are not held up by a slow step). When it stops it confirms what settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.inbound import Commits, Handling, handle
from bot.render import retry_seconds
from pmd_domain.aio import cancel_and_wait, raise_if_cancelled, wait_event
from pmd_domain.db import Database
from pmd_domain.logs import RepeatedLog

log = logging.getLogger("pmd.bot")

BACKOFF_MAX_SECONDS = 30.0
STALL_CHECK_SECONDS = 0.5
# While an update in hand holds the offset back, Telegram answers at once with every
# update from it on: ask again when the offset moves (the step committed: usually a
# millisecond or two), or after this long at the most, for other chats' new updates.
# Right after new updates were handed over, and after a fetch that brought nothing new.
JUST_HANDED_SECONDS = 0.05
HELD_REFETCH_SECONDS = 0.25


class Poller:
    """Fetches updates for ``application`` until stopped."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        commits: Commits,
        database: Database,
        *,
        timeout: int = 10,
        allowed_updates: list[str] | None = None,
    ):
        self.application = application
        self.commits = commits
        self.database = database
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self._hand: dict[int, Handling] = {}  # fetched, not yet confirmed
        self._highest: int | None = None
        self._confirmed: int | None = None  # the offset of the last getUpdates
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = RepeatedLog()

    @property
    def running(self) -> bool:
        """Whether the loop runs."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start fetching (once)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop fetching; confirm what settled; stop the steps that have not committed.

        Their updates stay with Telegram and come again to the next process.
        """
        task, self._task = self._task, None
        await cancel_and_wait(task)
        final = self.offset()  # before the cancelled ones count as settled
        unsettled = [h for h in self._hand.values() if not h.settled.done()]
        await asyncio.gather(*(h.cancel() for h in unsettled))
        self._hand.clear()
        if task is not None and final is not None and final != self._confirmed:
            with contextlib.suppress(TelegramError, OSError):
                await self.application.bot.get_updates(
                    offset=final, timeout=0, limit=1, allowed_updates=self.allowed_updates
                )

    def offset(self) -> int | None:
        """What ``getUpdates`` may confirm: up to the oldest update not settled."""
        waiting = [uid for uid, h in self._hand.items() if not h.settled.done()]
        if waiting:
            return min(waiting)
        return None if self._highest is None else self._highest + 1

    async def _run(self) -> None:
        delay = 1.0
        while True:
            await self._while_stalled()
            asked = self.offset()
            try:
                updates = await self.application.bot.get_updates(
                    offset=asked,
                    timeout=self.timeout,
                    allowed_updates=self.allowed_updates,
                    read_timeout=self.timeout + 5,
                )
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                log.error("polling stopped: the bot token is refused")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except (Conflict, TelegramError) as exc:
                # httpx turns a cancelled request into a network error: still a stop.
                raise_if_cancelled()
                self._failures.failure(log, "polling failed, retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
                continue
            raise_if_cancelled()
            self._confirmed = asked
            delay = 1.0
            if self._take(updates):
                # Asking at once would only bring them back: wait for their commits.
                await self._held(self.offset(), JUST_HANDED_SECONDS)
            elif updates:
                await self._held(asked, HELD_REFETCH_SECONDS)

    def _take(self, updates: list[Update]) -> int:
        """Hand the new ``updates`` to the application; how many were new."""
        floor = self.offset()
        new = 0
        for update in updates:
            uid = update.update_id
            if uid in self._hand or (floor is not None and uid < floor):
                continue
            handling = handle(self.application, self.commits, update)
            handling.settled.add_done_callback(lambda _f: self._settled())
            self._hand[uid] = handling
            self._highest = uid if self._highest is None else max(self._highest, uid)
            new += 1
        return new

    def _settled(self) -> None:
        # Updates below the new offset are confirmed by the next getUpdates: forget them.
        floor = self.offset()
        if floor is not None:
            for uid in [u for u, h in self._hand.items() if u < floor and h.settled.done()]:
                del self._hand[uid]
        self._progress.set()

    async def _held(self, asked: int | None, longest: float) -> None:
        """Wait until the offset moves past ``asked`` (or ``longest`` seconds)."""
        if asked is not None and asked == (self._highest or 0) + 1:
            return  # nothing in hand holds it back
        loop = asyncio.get_running_loop()
        deadline = loop.time() + longest
        while True:
            self._progress.clear()
            left = deadline - loop.time()
            if self.offset() != asked or left <= 0:
                return
            await wait_event(self._progress, left)

    async def _while_stalled(self) -> None:
        """No fetching while the database fails and updates in hand wait for it."""
        stalled = False
        while self.database.writes_failing and any(
            not h.settled.done() for h in self._hand.values()
        ):
            if not stalled:
                log.warning("polling paused: the database is failing")
                stalled = True
            self._progress.clear()
            await wait_event(self._progress, STALL_CHECK_SECONDS)
        if stalled:
            log.info("polling resumed")
