"""Conversation step cost: the real bot against a bare echo bot on the same stack.

Both bots are python-telegram-bot long polling the same local Bot API server
(``tests/botapi``). A "citizen" sends ``/start`` and then presses the first button of
the bot's latest message a few times (consent, then demographic answers): each step
is timed from the update reaching the server to the bot's reply (sent or edited
message) reaching it. The real bot goes through the adapter, the engine and a
database write (SQLite file) per step; the echo bot answers with a message and a
button, nothing else.

The server and the simulated citizens run in a process of their own, as Telegram's
servers and the citizens' phones are elsewhere in production: the bot measured (echo
or real, the same for both) has its process and event loop to itself, and the
server's work does not count against it.

The two bots take turns (``BENCH_ROUNDS`` turns each, default 10), each turn with a
share of the citizens, so that a change of load on a shared machine does not fall on
one bot only. Size from the environment: ``BENCH_CITIZENS`` (default 300),
``BENCH_STEPS`` (4), ``BENCH_CONCURRENCY`` (4 citizens at a time; every run also
measures one at a time).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackContext, TypeHandler

from bot.app import ALLOWED_UPDATES, BotApplication, shutdown, start_polling, startup
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Conversation
from pmd_domain.conversation.types import Inbound
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade_async
from pmd_domain.i18n import Catalogs
from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.e2e.harness import StubLinks, make_application
from tests.factories import open_consultation

STEP_TIMEOUT = 10.0
ECHO = "echo bot (PTB, no database)"
PMD = "Participa PMD (adapter + engine + database)"
ECHO_BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton("Otra vez", callback_data="again")]])


async def _echo(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
        text = update.callback_query.data or ""
    else:
        text = update.message.text if update.message and update.message.text else "?"
    await context.bot.send_message(chat.id, text, reply_markup=ECHO_BUTTON)


def _echo_application(telegram: TelegramSide) -> BotApplication:
    application: BotApplication = (
        Application.builder()
        .token(DEFAULT_TOKEN)
        .base_url(f"{telegram.url}/bot")
        .base_file_url(f"{telegram.url}/file/bot")
        .concurrent_updates(32)
        .connection_pool_size(64)
        .build()
    )
    application.add_handler(TypeHandler(Update, _echo))
    return application


async def _citizen(botapi: BotApiServer, chat_id: int, steps: int, timings: list[float]) -> None:
    for step in range(steps):
        cursor = botapi.change_count(chat_id)
        started = time.perf_counter()
        if step == 0:
            await botapi.user_sends(chat_id, "/start bench")
        else:
            message = botapi.last_message(chat_id)
            assert message is not None
            data = next(b["callback_data"] for b in message.inline_buttons if "callback_data" in b)
            await botapi.user_presses(chat_id, message, data)
        await botapi.wait_for_changes(chat_id, cursor, count=1, timeout=STEP_TIMEOUT)
        timings.append(time.perf_counter() - started)


async def _drive(
    botapi: BotApiServer, first_chat: int, citizens: int, steps: int, concurrency: int
) -> list[float]:
    timings: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(chat_id: int) -> None:
        async with gate:
            await _citizen(botapi, chat_id, steps, timings)

    await asyncio.gather(*(one(first_chat + i) for i in range(citizens)))
    return timings


class TelegramSide:
    """The Bot API server and the simulated citizens, in a process of their own."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._orders, theirs = context.Pipe()
        self._process = context.Process(target=_telegram_side, args=(theirs,), daemon=True)
        self.url = ""

    async def start(self) -> None:
        """Start the process and wait for its server to listen."""
        self._process.start()
        self.url = await asyncio.to_thread(self._orders.recv)

    async def drive(self, first_chat: int, citizens: int, steps: int, at_once: int) -> list[float]:
        """Have ``citizens`` go through ``steps`` steps, ``at_once`` at a time: their timings."""
        self._orders.send((first_chat, citizens, steps, at_once))
        timings: list[float] = await asyncio.to_thread(self._orders.recv)
        return timings

    async def stop(self) -> None:
        """Stop the server and the process."""
        self._orders.send(None)
        await asyncio.to_thread(self._process.join, 10)


def _telegram_side(orders: Connection) -> None:
    asyncio.run(_serve(orders))


async def _serve(orders: Connection) -> None:
    botapi = BotApiServer(create_unknown_chats=True)
    await botapi.start()
    orders.send(botapi.url)
    try:
        while (order := await asyncio.to_thread(orders.recv)) is not None:
            first_chat, citizens, steps, at_once = order
            orders.send(await _drive(botapi, first_chat, citizens, steps, at_once))
    finally:
        await botapi.stop()


async def _measure(
    telegram: TelegramSide,
    application: BotApplication,
    first_chat: int,
    citizens: int,
    steps: int,
    concurrency: int,
) -> list[float]:
    await startup(application)
    if application.updater is not None:  # the echo bot: PTB's own long polling
        await application.updater.start_polling(
            poll_interval=0.0, timeout=5, allowed_updates=ALLOWED_UPDATES
        )
    else:  # Participa PMD: its own, which confirms an update once its step committed
        await start_polling(application, timeout=5)
    try:
        await telegram.drive(first_chat - 1000, min(10, citizens), steps, concurrency)  # warm-up
        return await telegram.drive(first_chat, citizens, steps, concurrency)
    finally:
        await shutdown(application)


async def _engine_alone(
    database: Database, consultation: Consultation, citizens: int, steps: int
) -> list[float]:
    """The same steps straight into the engine: what the database step itself costs."""
    conversation = Conversation(
        consultation=consultation, catalogs=Catalogs.load(), links=StubLinks()
    )
    timings: list[float] = []
    update_ids = itertools.count(1)
    for citizen in range(citizens):
        outcome = None
        for _ in range(steps):
            if outcome is None:
                inbound = Inbound(kind="start", text="bench")
            else:
                last = outcome.replies[-1]
                data = next(b.data for row in last.buttons for b in row if b.url is None)
                inbound = Inbound(kind="button", data=data)
            inbound = replace(inbound, update_id=f"alone-{next(update_ids)}")
            started = time.perf_counter()
            async with database.transaction() as session:
                outcome = await conversation.handle(
                    session,
                    channel="bench",
                    external_id=str(citizen),
                    inbound=inbound,
                    now=utcnow(),
                )
            timings.append(time.perf_counter() - started)
    return timings


def _figures(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "mean": statistics.fmean(ordered) * 1000,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
    }


async def _run(citizens: int, steps: int, concurrency: int, rounds: int, folder: Path) -> str:
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await upgrade_async(url)
    database = Database(url)
    telegram = TelegramSide()
    await telegram.start()
    consultation = open_consultation()
    bots: dict[str, Callable[[], BotApplication]] = {
        ECHO: lambda: _echo_application(telegram),
        PMD: lambda: make_application(telegram, database, consultation),
    }
    timings: dict[tuple[str, int], list[float]] = {}
    try:
        first_chat = 100_000
        for at_once in sorted({1, concurrency}):
            # The bots take turns, a share of the citizens each time: a change in the
            # load of a shared machine falls on both alike.
            for turn in range(rounds):
                share = citizens // rounds + (turn < citizens % rounds)
                for name, build in bots.items():
                    first_chat += 100_000
                    timings.setdefault((name, at_once), []).extend(
                        await _measure(telegram, build(), first_chat, share, steps, at_once)
                    )
        results = {key: _figures(values) for key, values in timings.items()}
        engine_alone = _figures(await _engine_alone(database, consultation, citizens, steps))
    finally:
        await telegram.stop()
        await database.dispose()
    rows = "\n".join(
        f"| {name} | {at_once} | {f['mean']:.1f} | {f['p50']:.1f} | {f['p95']:.1f} |"
        for (name, at_once), f in results.items()
    )
    rows += (
        f"\n| the engine step alone (transaction, no Telegram) | 1 | {engine_alone['mean']:.1f} "
        f"| {engine_alone['p50']:.1f} | {engine_alone['p95']:.1f} |"
    )
    lines = []
    for at_once in sorted({1, concurrency}):
        echo, real = results[ECHO, at_once], results[PMD, at_once]
        ratio = real["mean"] / echo["mean"]
        lines.append(
            f"- {at_once} citizen(s) at a time: mean ratio **{ratio:.2f}×** "
            f"({'meets' if ratio <= 2 else 'misses'} ≤ 2×), Participa PMD p95 "
            f"**{real['p95']:.1f} ms** ({'meets' if real['p95'] < 50 else 'misses'} < 50 ms)"
        )
    verdicts = "\n".join(lines)
    return (
        "## Conversation step (Telegram)\n\n"
        f"{citizens} citizens × {steps} steps per bot and setting (the bots taking turns, "
        f"{rounds} turns each), one citizen at a time "
        f"(the cost of a step) and {concurrency} at a time (steps competing for the one "
        "SQLite writer). Both bots long poll the same local Bot API server, which runs "
        "with the simulated citizens in a process of its own; a step is an update in → "
        "the reply at the server; Participa PMD writes one SQLite transaction per step.\n\n"
        "| bot | citizens at a time | mean ms | p50 ms | p95 ms |\n|---|---|---|---|---|\n"
        f"{rows}\n\n{verdicts}"
    )


def run() -> str:
    """Run the benchmark and return its Markdown section."""
    citizens = int(os.environ.get("BENCH_CITIZENS", "300"))
    steps = int(os.environ.get("BENCH_STEPS", "4"))
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "4"))
    rounds = max(1, min(citizens, int(os.environ.get("BENCH_ROUNDS", "10"))))
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_run(citizens, steps, concurrency, rounds, Path(folder)))
