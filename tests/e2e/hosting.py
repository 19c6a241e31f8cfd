"""The bot hosted in the web process (``create_app``), as ``pmd serve`` runs it."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient

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
    env: dict[str, str], port: int, *, log: Path | None = None
) -> asyncio.subprocess.Process:
    """``pmd serve`` as a real process, returned once its bot is up.

    Its log lines (stderr) are appended to ``log``, or discarded.
    """
    process = await spawn_pmd_serve(env, log=log)
    if (await served_health(port, timeout=20.0, process=process)).get("bot") == "up":
        return process
    process.kill()
    raise AssertionError("pmd serve did not start")


async def spawn_pmd_serve(
    env: dict[str, str], *, log: Path | None = None
) -> asyncio.subprocess.Process:
    """``pmd serve`` as a real process, returned at once (see ``served_health``)."""
    if log is None:
        return await asyncio.create_subprocess_exec(
            str(PMD), "serve", env=env, stderr=asyncio.subprocess.DEVNULL
        )
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(str(PMD), "serve", env=env, stderr=sink)


async def served_health(
    port: int, *, timeout: float, process: asyncio.subprocess.Process | None = None
) -> dict[str, str]:
    """``/healthz`` of the server on ``port`` once its bot is up.

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
            if body.get("bot") == "up":
                break
            await asyncio.sleep(0.05)
    return body
