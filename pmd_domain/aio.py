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
