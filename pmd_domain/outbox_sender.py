"""Delivers the outbox of one channel: at once after each step, and again until it arrives.

A channel gives a ``Transport`` that delivers one reply and says, by what it raises,
whether to try again later (``TryLater``: a timeout, a network error, a 5xx, a 429
with its ``retry_after``), to skip that reply (``Refused``: Telegram's 400) or to
give up on the chat (``Unreachable``: the citizen blocked the bot). Everything else
is the sender's:

- ``deliver(outgoing)`` runs in the step's own task right after its commit (the
  common path: no extra transaction; delivered rows are marked ``sent`` in batches
  by a small flusher). When earlier replies of the chat are still waiting, the new
  ones queue behind them instead.
- A reply that cannot go out is held by a worker of its chat, which tries again
  after ``retry_after`` or a pause that doubles up to ``BACKOFF_MAX`` seconds,
  recording progress, attempts and the reason in the row each time. One chat's
  replies stay in order; other chats do not wait for it.
- Every ``scan_every`` seconds the sender looks for rows nobody is sending (their
  lease passed: the process that stored them died, or gave them up) and claims
  them. The look is a read; only a find is a write.
- ``adopt()``: the only process of a bot that polls Telegram takes over every
  pending row when it starts, before it takes any update, so that what a killed
  process left unsent goes out first, in order.

An occasional duplicate is the price: a reply whose answer timed out may have
arrived, and the rows delivered in the last tenth of a second before a crash are
not yet marked. A reply is never lost to a passing failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pmd_domain.aio import raise_if_cancelled
from pmd_domain.clock import utcnow
from pmd_domain.conversation.types import Outgoing
from pmd_domain.db import Database
from pmd_domain.logs import RepeatedLog
from pmd_domain.metrics import Metrics
from pmd_domain.services import outbox

log = logging.getLogger("pmd.outbox")

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0
SCAN_EVERY = 2.0
FLUSH_EVERY = 0.1
CONCURRENCY = 16  # chat workers sending at the same moment
DELIVERED_KEPT = 10_000


class TryLater(Exception):
    """The reply did not go out for a passing reason; ``after``: when to try again."""

    def __init__(self, reason: str, *, after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Refused(Exception):
    """The channel refuses this reply for good (it is skipped, the reason recorded)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unreachable(Exception):
    """The chat takes no messages (the citizen blocked the bot): give up on it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Transport(Protocol):
    """A channel's way of delivering one reply of a step."""

    channel: str

    async def deliver(self, outgoing: Outgoing, index: int) -> None:
        """Deliver ``outgoing.replies[index]``; raise ``TryLater``, ``Refused`` or ``Unreachable``."""
        ...


@dataclass(frozen=True)
class _Try:
    kind: Literal["done", "later", "unreachable"]
    index: int  # the first reply not delivered
    reason: str | None = None
    after: float | None = None
    refused: str | None = None  # a reply skipped on the way


class OutboxSender:
    """The outbox sender of one channel in one process."""

    def __init__(
        self,
        database: Database,
        transport: Transport,
        *,
        scan_every: float = SCAN_EVERY,
        flush_every: float = FLUSH_EVERY,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ):
        self.database = database
        self.metrics = metrics or Metrics()
        self.transport = transport
        self.channel = transport.channel
        self.scan_every = scan_every
        self.flush_every = flush_every
        self._clock = clock
        self._chats: dict[str, deque[Outgoing]] = {}  # chats whose replies wait, in order
        self._workers: set[asyncio.Task[None]] = set()
        self._known: set[int] = set()  # rows in this process's hands
        self._sent: set[int] = set()  # delivered, not marked yet
        # Delivered lately: a scan that claims one of these (its mark came later) skips it.
        self._delivered: OrderedDict[int, None] = OrderedDict()
        self._flush_wake = asyncio.Event()
        self._sending = asyncio.Semaphore(CONCURRENCY)
        self._loops: list[asyncio.Task[None]] = []
        self.failures = RepeatedLog()

    # ------------------------------------------------------------------ lifecycle
    async def adopt(self) -> int:
        """Take over every pending row of the channel (the only process of this bot)."""
        adopted = 0
        while True:
            async with self.database.transaction() as session:
                rows = await outbox.claim(
                    session, channel=self.channel, now=self._clock(), adopt=True
                )
            for row in rows:
                if not self._ours(row.id):
                    self._hold(row)
                    adopted += 1
            if len(rows) < 100:
                break
        if adopted:
            log.info("unsent replies adopted", extra={"count": adopted})
        return adopted

    def start(self) -> None:
        """Start looking for left-behind rows and marking delivered ones (once)."""
        if not self._loops:
            self._loops = [
                asyncio.create_task(self._scan(), name=f"outbox-scan-{self.channel}"),
                asyncio.create_task(self._flush_loop(), name=f"outbox-flush-{self.channel}"),
            ]

    async def stop(self) -> None:
        """Stop; mark what was delivered. Rows still waiting stay pending for the next process."""
        loops, self._loops = self._loops, []
        for task in [*loops, *self._workers]:
            task.cancel()
        await asyncio.gather(*loops, *self._workers, return_exceptions=True)
        self._chats.clear()
        with contextlib.suppress(Exception):
            await self._flush()

    @property
    def waiting_chats(self) -> int:
        """How many chats have replies waiting for another try (for tests and health)."""
        return len(self._chats)

    # ------------------------------------------------------------------ delivering
    async def deliver(self, outgoing: Outgoing) -> bool:
        """Deliver a committed step's replies now; what cannot go out is tried again later.

        Whether every reply went out now (``False``: held for another try, queued behind
        the chat's earlier replies, refused or given up).
        """
        chat = outgoing.external_id
        if chat in self._chats:
            self._chats[chat].append(outgoing)  # behind the chat's earlier replies
            self._note(outgoing.id)
            return False
        self._note(outgoing.id)
        try:
            result = await self._attempt(outgoing)
        except BaseException:
            self._forget(outgoing.id)
            raise
        if result.kind == "later":
            self._hold(_advanced(outgoing, result), wait=_wait(result, BACKOFF_FIRST), why=result)
            return False
        await self._finish([outgoing], result)
        self._forget(outgoing.id)
        return result.kind == "done" and result.refused is None

    async def _attempt(self, outgoing: Outgoing) -> _Try:
        refused = None
        for index in range(outgoing.progress, len(outgoing.replies)):
            try:
                await self.transport.deliver(outgoing, index)
            except TryLater as later:
                raise_if_cancelled()  # an HTTP client may make a cancel a network error
                return _Try("later", index, later.reason, later.after, refused)
            except Refused as no:
                refused = no.reason
                log.warning("reply refused", extra={"reason": no.reason, "outbox": outgoing.id})
            except Unreachable as gone:
                return _Try("unreachable", index, gone.reason)
            raise_if_cancelled()
        return _Try("done", len(outgoing.replies), refused=refused)

    def _hold(self, outgoing: Outgoing, *, wait: float = 0.0, why: _Try | None = None) -> None:
        """Queue ``outgoing`` for its chat's worker (started if the chat has none)."""
        chat = outgoing.external_id
        self._note(outgoing.id)
        queue = self._chats.get(chat)
        if queue is not None:
            queue.append(outgoing)
            return
        self._chats[chat] = deque([outgoing])
        worker = asyncio.create_task(self._work(chat, wait, why), name="outbox-chat")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, chat: str, wait: float, why: _Try | None) -> None:
        """Send the chat's waiting replies in order, trying again until they go out."""
        queue = self._chats[chat]
        delay = BACKOFF_FIRST if why is None else min(BACKOFF_FIRST * 2, BACKOFF_MAX)
        try:
            while queue:
                if wait:
                    await self._postpone(queue[0], why, wait)
                    await asyncio.sleep(wait)
                item = queue[0]
                async with self._sending:
                    result = await self._attempt(item)
                if result.kind == "later":
                    queue[0] = _advanced(item, result)
                    wait, why = _wait(result, delay), result
                    if result.after is None:
                        delay = min(delay * 2, BACKOFF_MAX)
                    continue
                queue.popleft()
                wait, why, delay = 0.0, None, BACKOFF_FIRST
                done = [item]
                if result.kind == "unreachable":
                    done.extend(queue)
                    queue.clear()
                await self._finish(done, result)
                for each in done:
                    self._forget(each.id)
        finally:
            if self._chats.get(chat) is queue:
                del self._chats[chat]
            for each in queue:
                self._forget(each.id)

    async def _finish(self, done: list[Outgoing], result: _Try) -> None:
        """Record how ``done`` ended: delivered (in the next batch), refused or unreachable."""
        ids = [o.id for o in done if o.id is not None]
        if result.kind == "done" and result.refused is None:
            if ids:
                self._sent.update(ids)
                self._flush_wake.set()
            return
        reason = result.reason if result.kind == "unreachable" else result.refused
        log.info("replies given up", extra={"reason": reason, "count": len(done)})
        for _ in done:
            self.metrics.reply_failed(self.channel, result.kind)
        chat = done[0].external_id

        async def record() -> None:
            async with self.database.transaction() as session:
                await outbox.give_up(session, ids=ids, reason=reason or "", now=self._clock())
                if result.kind == "unreachable":
                    await outbox.unreachable(session, channel=self.channel, external_id=chat)

        await self._record(record)

    async def _postpone(self, outgoing: Outgoing, why: _Try | None, wait: float) -> None:
        if outgoing.id is None:
            return
        reason = why.reason if why is not None and why.reason else "retry"
        self.failures.log(log, logging.WARNING, "reply delayed, retrying", reason=reason)
        until = self._clock() + timedelta(seconds=wait) + outbox.CLAIM
        outgoing_id = outgoing.id

        async def record() -> None:
            async with self.database.transaction() as session:
                await outbox.postpone(
                    session,
                    outbox_id=outgoing_id,
                    progress=outgoing.progress,
                    error=reason,
                    until=until,
                )

        await self._record(record)

    async def _record(self, write: Callable[[], Awaitable[None]]) -> None:
        """A bookkeeping write; when the database falters, the sender goes on without it."""
        try:
            await write()
        except Exception as error:
            raise_if_cancelled()  # a stop that a database driver turned into an error
            self.failures.failure(log, "outbox bookkeeping failed", error)

    # ------------------------------------------------------------------ background
    async def _scan(self) -> None:
        while True:
            await asyncio.sleep(self.scan_every)
            try:
                await self.claim_left_behind()
            except Exception as error:
                raise_if_cancelled()
                self.failures.failure(log, "outbox scan failed", error)

    async def claim_left_behind(self) -> int:
        """Claim the rows nobody is sending (their lease passed); how many were taken."""
        now = self._clock()
        async with self.database.reading() as session:
            if not await outbox.claimable(session, channel=self.channel, now=now):
                return 0
        async with self.database.transaction() as session:
            rows = await outbox.claim(session, channel=self.channel, now=now)
        taken = [r for r in rows if not self._ours(r.id)]
        for row in taken:
            self._hold(row)
        if taken:
            log.info("unsent replies claimed", extra={"count": len(taken)})
        return len(taken)

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wake.wait()
            await asyncio.sleep(self.flush_every)  # gather a batch
            self._flush_wake.clear()
            try:
                await self._flush()
            except Exception as error:
                raise_if_cancelled()
                self.failures.failure(log, "marking replies failed", error)
                self._flush_wake.set()
                await asyncio.sleep(1.0)

    async def _flush(self) -> None:
        """Mark the delivered rows ``sent``, in one transaction."""
        if not self._sent:
            return
        ids, self._sent = self._sent, set()
        try:
            async with self.database.transaction() as session:
                await outbox.mark_sent(
                    session, ids=sorted(ids), channel=self.channel, now=self._clock()
                )
        except BaseException:
            self._sent |= ids
            raise
        self._forget_all(ids)

    # ------------------------------------------------------------------ bookkeeping
    def _ours(self, outgoing_id: int | None) -> bool:
        """Whether this process holds, delivered or has just delivered the row."""
        return (
            outgoing_id in self._known
            or outgoing_id in self._sent
            or (outgoing_id in self._delivered)
        )

    def _note(self, outgoing_id: int | None) -> None:
        if outgoing_id is not None:
            self._known.add(outgoing_id)

    def _forget(self, outgoing_id: int | None) -> None:
        if outgoing_id is not None and outgoing_id not in self._sent:
            self._known.discard(outgoing_id)

    def _forget_all(self, ids: Iterable[int]) -> None:
        for each in ids:
            self._known.discard(each)
            self._delivered[each] = None
        while len(self._delivered) > DELIVERED_KEPT:
            self._delivered.popitem(last=False)


def _advanced(outgoing: Outgoing, result: _Try) -> Outgoing:
    return replace(outgoing, progress=result.index, attempts=outgoing.attempts + 1)


def _wait(result: _Try, backoff: float) -> float:
    """How long to wait before the next try: Telegram's ``retry_after``, else the backoff."""
    if result.after is not None:
        return max(result.after, 0.0)
    return backoff * random.uniform(0.8, 1.2)  # spreading retries
