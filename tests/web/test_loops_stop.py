"""The background loops of the web side stop when asked, whatever their database call does.

A database driver may turn a cancellation into an error of its own; a loop that then
logs it and goes on to its next round keeps ``pmd serve`` from exiting after SIGINT.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from pmd_domain.db import Database
from pmd_domain.services import serving
from web import housekeeping, presence
from web.keys import DATABASE


def _swallowing(started: asyncio.Event) -> Callable[..., Awaitable[Any]]:
    """A database call that hangs, and answers a cancel with an error of its own."""

    async def work(*_args: object, **_kwargs: object) -> dict[str, int]:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise ConnectionResetError("connection closed") from None
        return {}

    return work


async def test_the_housekeeping_loop_stops_during_a_clean_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = asyncio.Event()
    monkeypatch.setattr(housekeeping, "FIRST_RUN_AFTER", 0)
    monkeypatch.setattr(housekeeping, "prune_once", _swallowing(started))
    task = asyncio.create_task(housekeeping._loop(web.Application()))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert task in done, "the loop went on to its next round instead of stopping"


async def test_the_presence_loop_stops_during_a_beat(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    started = asyncio.Event()
    beats = 0
    hanging = _swallowing(started)

    async def beat(*args: object, **kwargs: object) -> None:
        nonlocal beats
        beats += 1
        if beats > 1:  # the start-up beat is quick, the next ones hang
            await hanging()

    monkeypatch.setattr(serving, "BEAT_SECONDS", 0)
    monkeypatch.setattr(serving, "beat", beat)
    app = web.Application()
    app[DATABASE] = Database(sqlite_url)
    context = presence.presence_ctx(app)
    await anext(context)
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(anext(context, None))
    done, _ = await asyncio.wait({stopping}, timeout=3)
    await app[DATABASE].dispose()
    assert stopping in done, "the beat loop went on instead of stopping"
