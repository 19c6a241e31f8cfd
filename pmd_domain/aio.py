"""Small asyncio helpers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` if the current task was asked to stop.

    A loop around python-telegram-bot calls checks this after each call: httpx can
    swallow a cancellation and return (or raise a network error) as if nothing
    happened, and the loop would then run on after ``task.cancel()``.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has stopped; its failure is not raised."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def wait_event(event: asyncio.Event, seconds: float) -> None:
    """Return once ``event`` is set, or after ``seconds``.

    Not ``asyncio.wait_for``: on Python 3.11 a cancellation that comes as the event
    ends its wait is lost there, so a loop stopped by a cancel right after a wake
    would run on (and whoever waits for it to stop, wait for ever).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
