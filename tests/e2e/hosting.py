"""The bot hosted in the web process (``create_app``), as ``pmd serve`` runs it."""

from __future__ import annotations

import asyncio
import socket

from aiohttp import web
from aiohttp.test_utils import TestClient

from web.keys import BOT_STATUS


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
