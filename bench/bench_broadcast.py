"""Broadcast throughput: the product's sender against a plain PTB send loop, same rate.

Both talk to the local Bot API server (``tests/botapi``) in this process, which
enforces Telegram's limits (30 messages/s overall, 1 per chat per second: beyond them
it answers 429 and records any call made before ``retry_after`` has passed). The
product run is the real bot (``bot.app.build_application``, long polling, its
``BroadcastWorker``) sending one campaign to ``BENCH_RECIPIENTS`` participants of a
SQLite database (default 10,000): 1% of them blocked the bot, 0.5% are chats the server
does not know ("chat not found"), and a few 429s are injected on top. Meanwhile a
citizen asks ``/ayuda`` every few seconds and the reply time is measured.

The baseline is a bare ``telegram.Bot`` send loop paced at the same rate (one
``send_message`` task per 1/rate seconds, nothing recorded anywhere), over
``BENCH_BASELINE`` chats (default 1,500).

Rate = API calls of the campaign (any answer but 429) per second, first to last.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from telegram import Bot

from bot.app import shutdown, start_polling, startup
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade_async
from pmd_domain.services import broadcasts
from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.e2e.harness import make_application
from tests.factories import make_recipients, open_consultation

TEXT = "¡Participa en la consulta del Plan Municipal de Desarrollo!"
BASE_TEXT = "baseline"
CITIZEN = 7


def _rates(times: list[float], window: float = 10.0) -> tuple[float, float]:
    """Overall rate (first to last call) and the slowest full ``window``-second stretch."""
    if len(times) < 2:
        return 0.0, 0.0
    overall = (len(times) - 1) / (times[-1] - times[0])
    slowest = overall
    start, index = times[0], 0
    while start + window <= times[-1]:
        count = 0
        while index < len(times) and times[index] < start + window:
            index += 1
            count += 1
        slowest = min(slowest, count / window)
        start += window
    return overall, slowest


def _campaign_calls(botapi: BotApiServer, chats: range, text: str) -> list[float]:
    return sorted(
        c.t
        for c in botapi.calls("sendMessage")
        if c.chat_id in chats and c.status != 429 and c.params.get("text") == text
    )


async def _baseline(botapi: BotApiServer, rate: float, chats: range) -> list[float]:
    bot = Bot(DEFAULT_TOKEN, base_url=botapi.base_url, base_file_url=botapi.base_file_url)
    await bot.initialize()
    started = time.monotonic()
    tasks = []
    for i, chat in enumerate(chats):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(bot.send_message(chat, BASE_TEXT)))
    await asyncio.gather(*tasks, return_exceptions=True)
    await bot.shutdown()
    return _campaign_calls(botapi, chats, BASE_TEXT)


async def _citizen(botapi: BotApiServer, stop: asyncio.Event, latencies: list[float]) -> None:
    """Ask for help every few seconds while the broadcast runs; note the reply time."""
    chat = botapi.chat(CITIZEN)
    await chat.say("/start", quiet=0.3, timeout=10)
    while not stop.is_set():
        await asyncio.sleep(3)
        started = time.monotonic()
        await chat.say("/ayuda", count=1, timeout=10)
        latencies.append(time.monotonic() - started)


async def _product(
    botapi: BotApiServer, rate: float, recipients: int, folder: Path
) -> tuple[list[float], dict[str, int], float, list[float], int]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await upgrade_async(url)
    database = Database(url)
    consultation = open_consultation()
    chats = range(1_000_000, 1_000_000 + recipients)
    unknown = set(chats[::200])  # 0.5%: "chat not found"
    botapi.add_users(c for c in chats if c not in unknown)
    for chat in chats[1::100]:  # 1%: blocked the bot
        botapi.block(chat)
    async with database.transaction() as session:
        await make_recipients(session, consultation, chats)
    application = make_application(botapi, database, consultation, PMD_BROADCAST_RATE=str(rate))
    latencies: list[float] = []
    stop = asyncio.Event()
    await startup(application)
    await start_polling(application, timeout=5)
    citizen = asyncio.create_task(_citizen(botapi, stop, latencies))
    started = time.monotonic()
    injected = 0
    try:
        async with database.transaction() as session:
            campaign = await broadcasts.create(
                session,
                consultation=consultation,
                text=TEXT,
                audience=broadcasts.Audience(),
                now=utcnow(),
            )
            await broadcasts.confirm(session, campaign_id=campaign.id, now=utcnow())
        while True:
            await asyncio.sleep(1)
            async with database.reading() as session:
                progress = await broadcasts.progress(session, campaign_id=campaign.id)
            if progress.status == "done":
                break
            if injected < 3 and time.monotonic() - started > 60 * (injected + 1):
                botapi.inject_429("sendMessage", count=1, retry_after=1)
                injected += 1
        took = time.monotonic() - started
        outcome = progress.counts  # read together with the "done" status
    finally:
        stop.set()
        await citizen
        await shutdown(application)
        await database.dispose()
    return _campaign_calls(botapi, chats, TEXT), outcome, took, latencies, injected


async def _run(rate: float, recipients: int, baseline_chats: int, folder: Path) -> str:
    botapi = BotApiServer()
    await botapi.start()
    try:
        botapi.enforce_limits(global_per_second=30, per_chat_per_second=1)
        base_range = range(2_000_000, 2_000_000 + baseline_chats)
        botapi.add_users(base_range)
        base_times = await _baseline(botapi, rate, base_range)
        botapi.violations.clear()  # the bare loop does not wait out 429s; count ours only
        botapi.global_violations.clear()
        calls, outcome, took, latencies, injected = await _product(botapi, rate, recipients, folder)
        chats = range(1_000_000, 1_000_000 + recipients)
        per_chat = Counter(
            m.chat_id for c in chats for m in botapi.messages_to(c) if m.text == TEXT
        )
        refused = [c for c in botapi.calls("sendMessage") if c.status == 429]
        violations, global_violations = len(botapi.violations), len(botapi.global_violations)
    finally:
        await botapi.stop()
    base_rate, base_slowest = _rates(base_times)
    rate_, slowest = _rates(calls)
    settled = sum(outcome.get(s, 0) for s in ("sent", "blocked", "failed"))
    duplicates = sum(1 for n in per_chat.values() if n > 1)
    ok = rate_ >= 0.95 * rate and settled == recipients and duplicates == 0
    replies = sorted(latencies)
    reply_line = (
        f"A citizen asking `/ayuda` every 3 s meanwhile: {len(replies)} replies, median "
        f"{replies[len(replies) // 2] * 1000:.0f} ms, slowest {replies[-1] * 1000:.0f} ms."
        if replies
        else "No citizen replies measured."
    )
    return (
        "## Broadcast\n\n"
        f"Configured rate {rate:g} messages/s; the local Bot API server enforces 30/s overall "
        "and 1/s per chat (429 beyond). Rate = campaign API calls per second (429s "
        'excluded), first to last; "slowest 10 s" is the worst full 10-second stretch.\n\n'
        "| sender | recipients | rate /s | slowest 10 s /s | % of configured |\n"
        "|---|---|---|---|---|\n"
        f"| bare PTB send loop (no database) | {baseline_chats} | {base_rate:.2f} "
        f"| {base_slowest:.2f} | {base_rate / rate:.1%} |\n"
        f"| Participa PMD (`BroadcastWorker`, SQLite) | {recipients} | {rate_:.2f} "
        f"| {slowest:.2f} | {rate_ / rate:.1%} |\n\n"
        f"Participa PMD: {took:.0f} s for {recipients} recipients; outcomes "
        f"{dict(sorted(outcome.items()))} (1% blocked the bot, 0.5% unknown chats); "
        f"{settled} of {recipients} settled as sent, blocked or failed; {duplicates} "
        f"duplicates; {len(refused)} answers 429 ({injected} injected); calls before a retry_after "
        f"had passed: {violations} per chat, {global_violations} during a global hold. "
        f"Ratio to the bare loop: {rate_ / base_rate:.2f}.\n\n{reply_line}\n\n"
        f"Bar (SPEC §8: ≥ 95% of the configured rate, every recipient settled, no "
        f"duplicates): **{'met' if ok else 'missed'}**."
    )


def run() -> str:
    """Run the benchmark and return its Markdown section."""
    rate = float(os.environ.get("BENCH_RATE", "25"))
    recipients = int(os.environ.get("BENCH_RECIPIENTS", "10000"))
    baseline_chats = int(os.environ.get("BENCH_BASELINE", "1500"))
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_run(rate, recipients, baseline_chats, Path(folder)))
