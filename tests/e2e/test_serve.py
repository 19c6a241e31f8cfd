"""``pmd serve`` as a real process: web side and bot together, stopped by Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.e2e.hosting import free_port, served_health
from tests.pg import PostgresServer

PMD = Path(sys.executable).parent / "pmd"


async def test_pmd_serve_runs_the_bot_by_long_polling(
    botapi: BotApiServer, sqlite_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": sqlite_url,
        "PMD_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
    }
    process = await asyncio.create_subprocess_exec(
        str(PMD), "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        body = await served_health(port, timeout=10.0)
        assert body == {"status": "ok", "database": "ok", "bot": "up"}
        [greeting, *_] = await botapi.chat(8101).say("/start fb_alcalde")
        # the packaged 2023 exercise has closed: a newcomer is told so before anything else
        assert greeting.text is not None and "ya cerró" in greeting.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert b"Traceback" not in stderr


@pytest.mark.postgres
async def test_pmd_serve_waits_for_a_database_that_is_not_up_yet(
    botapi: BotApiServer, tmp_path: Path, own_postgres: PostgresServer
) -> None:
    await asyncio.to_thread(own_postgres.pg_ctl, "stop", "-m", "fast")
    port = free_port()
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": own_postgres.url(),
        "PMD_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(str(PMD), "serve", env=env, stderr=sink)
    try:
        # It waits, saying so, instead of exiting.
        for _ in range(100):
            if "waiting for the database" in log.read_text():
                break
            await asyncio.sleep(0.05)
        assert "waiting for the database" in log.read_text()
        assert process.returncode is None
        await asyncio.to_thread(own_postgres.pg_ctl, "start")
        body = await served_health(port, timeout=15.0)
        assert body == {"status": "ok", "database": "ok", "bot": "up"}
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)
    assert process.returncode == 0
    assert "Traceback" not in log.read_text()
