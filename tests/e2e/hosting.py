"""The bot hosted in the web process (``create_app``), as ``pmd serve`` runs it."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import IO

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient

from tests.botapi.server import DEFAULT_TOKEN
from web.keys import BOT_STATUS

PMD = Path(sys.executable).parent / "pmd"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_bot_state(client: TestClient, state: str, timeout: float = 10.0) -> dict[str, str]:
    """Poll ``/healthz`` until it reports the bot in ``state``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await client.get("/healthz")
        body: dict[str, str] = await response.json()
        if body["bot"] == state:
            return body
        if loop.time() > deadline:
            raise TimeoutError(f"bot state {body['bot']!r}, wanted {state!r}")
        await asyncio.sleep(0.05)


def bot_state(app: web.Application) -> str:
    """The bot state the web app keeps."""
    return str(app[BOT_STATUS]["state"])


async def start_pmd_serve(
    env: dict[str, str],
    port: int,
    *,
    bot: bool = True,
    stderr: int | IO[bytes] = asyncio.subprocess.DEVNULL,
    log: Path | None = None,
) -> asyncio.subprocess.Process:
    """``pmd serve`` as a real process, returned once its bot is up (``bot=False``: once it
    answers, for a process without a bot token).

    Its log lines (stderr) are appended to ``log``, or go to ``stderr`` (discarded).
    """
    process = await spawn_pmd_serve(env, log=log, stderr=stderr)
    health = await served_health(port, timeout=20.0, process=process, bot=bot)
    if health.get("bot") == "up" or (not bot and health):
        return process
    process.kill()
    raise AssertionError("pmd serve did not start")


async def serve_env(database_url: str, api_url: str, folder: Path) -> tuple[dict[str, str], int]:
    """The environment of a ``pmd serve`` in development on a free port, with an open
    consultation written to ``folder``; and that port."""
    consultation_file = folder / "consulta.toml"
    init = await asyncio.create_subprocess_exec(
        str(PMD), "consultation", "init", str(consultation_file),
        "--opens", "2020-01-01", "--closes", "2099-12-31",
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await init.wait() == 0
    port = free_port()
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": database_url,
        "PMD_CONSULTATION": str(consultation_file),
        "PMD_PORT": str(port),
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": api_url,
    }
    return env, port


async def spawn_pmd_serve(
    env: dict[str, str],
    *,
    log: Path | None = None,
    stderr: int | IO[bytes] = asyncio.subprocess.DEVNULL,
) -> asyncio.subprocess.Process:
    """``pmd serve`` as a real process, returned at once (see ``served_health``)."""
    if log is None:
        return await asyncio.create_subprocess_exec(str(PMD), "serve", env=env, stderr=stderr)
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(str(PMD), "serve", env=env, stderr=sink)


async def served_health(
    port: int,
    *,
    timeout: float,
    process: asyncio.subprocess.Process | None = None,
    bot: bool = True,
) -> dict[str, str]:
    """``/healthz`` of the server on ``port`` once its bot is up (``bot=False``: once it
    answers).

    The last answer after ``timeout``, or as soon as ``process`` has ended.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    body: dict[str, str] = {}
    async with ClientSession() as http:
        while loop.time() < deadline and (process is None or process.returncode is None):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    body = await response.json()
            except OSError:
                body = {}
            if body.get("bot") == "up" or (not bot and body):
                break
            await asyncio.sleep(0.05)
    return body
