"""The database falters while citizens chat: nothing they send is lost, no draft either.

Real parts only: ``create_app`` as ``pmd serve`` builds it, on a real socket; the
real bot (long polling, or the webhook the local Bot API server posts to and
delivers again on non-2xx); a PostgreSQL server of the test's own, stopped with
``pg_ctl`` and started again, or frozen with SIGSTOP; SQLite on a small tmpfs that
the test fills up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import inbound
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade_async
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.e2e.citizens import (
    PROBLEM,
    PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    onboard_quickly,
    proposals_of,
)
from tests.e2e.harness import polling_bot
from tests.e2e.hosting import free_port, wait_bot_state
from tests.pg import PostgresServer
from web.app import create_app

ERROR = "Uy, no pudimos atender tu mensaje"
CITIZENS = [9601, 9602, 9603, 9604]
OUTAGE_SECONDS = 10


@contextlib.asynccontextmanager
async def served(
    database_url: str, consultation: Consultation, *, mode: str, botapi: BotApiServer
) -> AsyncIterator[TestClient]:
    """The web side with the bot, as ``pmd serve`` runs it, once its bot is up."""
    port = free_port()
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=database_url,
        PMD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        TELEGRAM_MODE=mode,
        TELEGRAM_WEBHOOK_SECRET="outage-secret",
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app, port=port)) as client:
        await wait_bot_state(client, "up")
        yield client


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_postgresql_stopped_for_ten_seconds_while_citizens_chat(
    mode: str,
    own_postgres: PostgresServer,
    consultation: Consultation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A webhook request is held for less than the outage, so that every held one is
    # answered 503 before the database is back (held the full ten seconds, a request
    # that arrived a moment late could see its step commit just in time, and Telegram
    # would never be told to come again).
    monkeypatch.setattr("web.telegram.WEBHOOK_HOLD_SECONDS", OUTAGE_SECONDS / 2)
    botapi = BotApiServer(webhook_retry_for=90)
    await botapi.start()
    loop = asyncio.get_running_loop()
    try:
        async with served(own_postgres.url(), consultation, mode=mode, botapi=botapi) as client:
            chats = [botapi.chat(chat_id) for chat_id in CITIZENS]
            for chat in chats:
                await onboard_quickly(chat)
                await chat.run(UP_TO_PROBLEM, **STEP)
            seen = {chat.chat_id: len(chat.messages()) for chat in chats}
            await asyncio.to_thread(own_postgres.pg_ctl, "stop", "-m", "fast")
            stopped = loop.time()
            # Each citizen goes on writing their proposal, two messages in a row.
            for text in (PROBLEM, PROPOSAL):
                for chat in chats:
                    await botapi.user_sends(chat.chat_id, text)
            asked = loop.time()
            health = await client.get("/healthz")
            assert loop.time() - asked < 2.0
            assert health.status == 503
            # A page that needs the database says to try again: a 503, not a 500.
            page = await client.get("/constancias/" + "a" * 32)
            assert page.status == 503 and "Inténtalo de nuevo" in await page.text()
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (loop.time() - stopped)))
            await asyncio.to_thread(own_postgres.pg_ctl, "start")
            # Every message sent meanwhile is handled, in order, and nobody was told
            # that something failed.
            for chat in chats:
                await botapi.wait_for_new_messages(
                    chat.chat_id, 2, timeout=45, since=seen[chat.chat_id]
                )
                texts = [m.text or "" for m in chat.messages()[seen[chat.chat_id] :]]
                assert "¿Qué propones?" in texts[0] and "¿Cómo imaginas" in texts[1], texts
                assert not any(ERROR in t for t in texts)
            # The drafts are whole: the preview shows them and they are sent.
            for chat in chats:
                [preview] = await chat.press("Omitir", count=1, timeout=10)
                assert PROBLEM in (preview.text or "") and PROPOSAL in (preview.text or "")
                await chat.run([(press("Enviar"), "PMD23-")], **STEP)
            assert (await client.get("/healthz")).status == 200
        if mode == "webhook":
            # Telegram was told to come again (non-2xx) and did.
            statuses = {d["status"] for d in botapi.webhook_deliveries}
            assert 503 in statuses and 200 in statuses
    finally:
        await botapi.stop()
    database = Database(own_postgres.url())
    try:
        for chat_id in CITIZENS:
            [proposal] = await proposals_of(database, chat_id)
            assert (proposal.problem, proposal.proposal) == (PROBLEM, PROPOSAL)
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_healthz_answers_in_time_while_postgresql_is_frozen(
    own_postgres: PostgresServer, consultation: Consultation
) -> None:
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=own_postgres.url())  # type: ignore[call-arg]
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        loop = asyncio.get_running_loop()
        with own_postgres.frozen():
            for _ in range(2):
                asked = loop.time()
                response = await client.get("/healthz")
                assert loop.time() - asked < 2.0
                assert response.status == 503
                assert (await response.json())["database"] == "down"
        await _healthy(client)


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only)."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path, *, leave: int = 0) -> Path:
    """Write a ballast file until the disk has only ``leave`` bytes free (or none)."""
    ballast = disk / "ballast"
    left = shutil.disk_usage(disk).free - leave
    chunk = b"\0" * 65536
    with ballast.open("wb") as sink, contextlib.suppress(OSError):
        while left > 0:
            sink.write(chunk[: min(len(chunk), left)])
            sink.flush()
            left -= len(chunk)
    return ballast


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root (CI runs as root)")
async def test_a_full_disk_is_a_503_and_service_comes_back_with_the_space(
    tmp_path: Path,
    sqlite_template: Path,
    consultation: Consultation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    botapi = BotApiServer()
    await botapi.start()
    try:
        with small_disk(tmp_path / "disk", "24m") as disk:
            path = disk / "pmd.sqlite3"
            shutil.copy(sqlite_template, path)
            url = f"sqlite+aiosqlite:///{path}"
            await upgrade_async(url)
            async with served(url, consultation, mode="polling", botapi=botapi) as client:
                chat = botapi.chat(9701)
                await onboard_quickly(chat)
                assert (await client.get("/healthz")).status == 200
                # The log is emptied into the file, then the disk fills up: the next
                # write has nowhere to go.
                with contextlib.closing(sqlite3.connect(path)) as other:
                    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                ballast = fill(disk)
                seen = len(chat.messages())
                await botapi.user_sends(9701, "/ayuda")
                await asyncio.sleep(1.0)
                health = await client.get("/healthz")
                assert health.status == 503
                assert (await health.json())["database"] == "failing"
                assert len(chat.messages()) == seen  # nothing said yet: it is retrying
                # The log names the fault, once per interval, without the data.
                retries = [r for r in caplog.records if r.getMessage().startswith("database write")]
                assert [getattr(r, "code", None) for r in retries] == ["SQLITE_FULL"]
                # Space comes back: the message is handled, health is good again.
                ballast.unlink()
                [reply] = await botapi.wait_for_new_messages(9701, 1, timeout=20, since=seen)
                assert "Así funciona" in (reply.text or "") and ERROR not in (reply.text or "")
                await _healthy(client)
            # With most of the disk taken, health warns before writes fail.
            fill(disk, leave=4 * 1024 * 1024)
            async with served(url, consultation, mode="polling", botapi=botapi) as client:
                health = await client.get("/healthz")
                assert health.status == 503
                assert (await health.json())["database"] == "low_disk"
    finally:
        await botapi.stop()


async def _healthy(client: TestClient) -> None:
    for _ in range(50):
        if (await client.get("/healthz")).status == 200:
            return
        await asyncio.sleep(0.1)
    assert (await client.get("/healthz")).status == 200


@pytest.mark.postgres
async def test_a_step_given_up_after_its_patience_asks_to_send_the_message_again(
    own_postgres: PostgresServer,
    consultation: Consultation,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The error message comes only once the retries are over, and tells what to do."""
    monkeypatch.setattr(inbound, "WRITE_PATIENCE_SECONDS", 1.5)  # a minute in production
    await upgrade_async(own_postgres.url())
    database = Database(own_postgres.url())
    botapi = BotApiServer()
    await botapi.start()
    try:
        async with polling_bot(botapi, database, consultation):
            chat = botapi.chat(9801)
            await onboard_quickly(chat)
            await chat.run(UP_TO_PROBLEM, **STEP)
            await asyncio.to_thread(own_postgres.pg_ctl, "stop", "-m", "fast")
            loop = asyncio.get_running_loop()
            sent = loop.time()
            [told] = await chat.say(PROBLEM, count=1, timeout=15)
            assert loop.time() - sent >= 1.5  # not before the retries were over
            assert (told.text or "").startswith(ERROR)
            assert "Envía tu mensaje otra vez" in (told.text or "") and "/ayuda" in (
                told.text or ""
            )
            given_up = [r for r in caplog.records if r.getMessage().startswith("update failed")]
            assert [getattr(r, "code", None) for r in given_up] == ["ConnectionRefusedError"]
            await asyncio.to_thread(own_postgres.pg_ctl, "start")
            # The draft is where it was: the same message, sent again, goes on.
            await chat.run([(PROBLEM, "¿Qué propones?")], **STEP)
    finally:
        await botapi.stop()
        await database.dispose()
