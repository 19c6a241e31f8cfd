"""The per-address limits hold across ``pmd serve`` processes that share one database.

Two real processes on one SQLite file, each on its own port; one client address
(127.0.0.1) alternates between them, a new browser each time. The consultation file
lets 6 new participants per address in 10 minutes: 6 get in, whichever process they
reach, and the rest get the kind refusal in the chat.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation.loader import DEFAULT_NAME
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from tests.e2e.hosting import free_port, start_pmd_serve

pytestmark = pytest.mark.slow
ADMITTED = 6
DEFAULT = Path(__file__).parents[2] / "pmd_domain" / "consultation" / DEFAULT_NAME
_ids = itertools.count()


def _consultation_file(folder: Path) -> Path:
    """The default consultation, open now, letting ADMITTED new participants per address in."""
    text = DEFAULT.read_text("utf-8")
    now = utcnow().astimezone().replace(microsecond=0, tzinfo=None)
    opens, closes = now - timedelta(days=2), now + timedelta(days=30)
    text = re.sub(r"^opens = .*$", f"opens = {opens.isoformat()}", text, count=1, flags=re.M)
    text = re.sub(r"^closes = .*$", f"closes = {closes.isoformat()}", text, count=1, flags=re.M)
    text = text.replace(
        "participants = { count = 30, minutes = 10 }",
        f"participants = {{ count = {ADMITTED}, minutes = 10 }}",
    )
    target = folder / "consulta.toml"
    target.write_text(text, "utf-8")
    return target


async def _post(http: aiohttp.ClientSession, base: str, message: dict[str, Any]) -> str:
    message["id"] = f"m{next(_ids)}"
    async with http.post(f"{base}/participa/mensajes", json=message) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    return "\n".join(r["text"] for r in body["replies"])


async def _new_browser_accepts(base: str) -> str:
    """A new browser opens the chat and accepts the notice; what the chat answers."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/participa") as page:
            assert page.status == 200
        async with http.post(
            f"{base}/participa/mensajes", json={"kind": "start", "text": "", "id": f"m{next(_ids)}"}
        ) as response:
            body = await response.json()
        accept = next(
            b["data"]
            for reply in body["replies"]
            for row in reply["buttons"]
            for b in row
            if b.get("data", "").startswith("c:y")
        )
        return await _post(http, base, {"kind": "button", "data": accept})


async def test_new_participants_per_address_are_limited_across_two_processes(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))},
        "PMD_ENV": "test",
        "PMD_DATABASE_URL": sqlite_url,
        "PMD_CONSULTATION": str(_consultation_file(tmp_path)),
        "PMD_LOG_LEVEL": "WARNING",
    }
    ports = [free_port(), free_port()]
    processes = [
        await start_pmd_serve({**env, "PMD_PORT": str(port)}, port, bot=False) for port in ports
    ]
    try:
        answers = []
        for n in range(2 * ADMITTED):
            base = f"http://127.0.0.1:{ports[n % 2]}"
            answers.append((n % 2, await _new_browser_accepts(base)))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
    admitted = [server for server, text in answers if "¿Con qué género" in text]
    refused = [text for _, text in answers if "mucha actividad desde tu conexión" in text]
    assert len(admitted) == ADMITTED, answers
    assert set(admitted) == {0, 1}  # both processes admitted some: the count is shared
    assert len(refused) == ADMITTED
    database = Database(sqlite_url)
    try:
        async with database.reading() as session:
            people = list(await session.scalars(select(Participant)))
    finally:
        await database.dispose()
    assert len(people) == ADMITTED
