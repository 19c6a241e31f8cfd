"""Updates in hand until their step has committed; only then are they confirmed to Telegram.

Telegram forgets an update once the bot confirms it: by asking ``getUpdates`` for a
later offset (``bot/polling.py``) or by answering its webhook request with a 2xx
(``web/telegram.py``). Both confirm an update only when its step has committed
(or its handling ended without one: a staff command, an ignored update, a step
given up after the retries and answered with the error message), so an update whose
step failed on a passing database fault comes again instead of being lost.

``handle(application, update)`` starts an update in its chat's turn and returns a
``Handling`` whose ``settled`` resolves at that moment; the citizen handler reports
the commit with ``Commits.committed``. ``step_patience()`` is how long the step may
retry a passing database fault: the webhook gives a redelivered update what is left
of one minute since its first try, so that the citizen is told after about a minute
either way.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import Application

from pmd_domain.aio import cancel_and_wait
from pmd_domain.db.engine import WRITE_PATIENCE_SECONDS

# The loop time by which the step of the update being handled must give up.
STEP_DEADLINE: ContextVar[float | None] = ContextVar("pmd_step_deadline", default=None)


def step_patience() -> float:
    """How long the current update's step may retry a passing database fault."""
    deadline = STEP_DEADLINE.get()
    if deadline is None:
        return WRITE_PATIENCE_SECONDS
    return max(0.0, deadline - asyncio.get_running_loop().time())


class Commits:
    """Updates waiting for their step to commit, by update id."""

    def __init__(self) -> None:
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def expect(self, update_id: int) -> asyncio.Future[None]:
        """A future resolved when ``committed(update_id)`` is called."""
        future = self._waiting.get(update_id)
        if future is None or future.done():
            future = self._waiting[update_id] = asyncio.get_running_loop().create_future()
        return future

    def committed(self, update_id: int) -> None:
        """The step of ``update_id`` has committed: it may be confirmed to Telegram."""
        future = self._waiting.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    def forget(self, update_id: int) -> None:
        """Stop waiting for ``update_id``."""
        future = self._waiting.pop(update_id, None)
        if future is not None and not future.done():
            future.cancel()


class Handling:
    """One update being handled: ``settled`` once its step committed or its handling ended.

    A handling that was cancelled before its step committed never settles: its update
    must come again.
    """

    def __init__(self, task: asyncio.Task[Any], commit: asyncio.Future[None]):
        self.task = task
        self.commit = commit
        self.settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        commit.add_done_callback(self._settle)
        task.add_done_callback(self._settle)

    def _settle(self, done: asyncio.Future[Any]) -> None:
        if not done.cancelled() and not self.settled.done():
            self.settled.set_result(None)

    @property
    def committed(self) -> bool:
        """Whether the step committed (rather than ended some other way)."""
        return self.commit.done() and not self.commit.cancelled()

    async def cancel(self) -> None:
        """Stop a handling that has not settled (its update will come again)."""
        await cancel_and_wait(self.task)


def handle(
    application: Application[Any, Any, Any, Any, Any, Any], commits: Commits, update: Update
) -> Handling:
    """Start handling ``update`` in its chat's turn (``bot/ordering.py``)."""
    commit = commits.expect(update.update_id)
    task = application.create_task(
        application.update_processor.process_update(update, application.process_update(update)),
        update=update,
        name="pmd-update",
    )
    task.add_done_callback(lambda _t: commits.forget(update.update_id))
    return Handling(task, commit)
