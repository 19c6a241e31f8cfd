"""Logs at DEBUG, from a real ``pmd serve`` with its bot against the local Bot API server."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.domain.test_consultation import DEFAULT
from tests.e2e.hosting import free_port, start_pmd_serve

CHAT = 987_654_321


def _open_consultation(folder: Path) -> Path:
    path = folder / "consulta.toml"
    text = DEFAULT.read_text("utf-8")
    text = text.replace("opens = 2023-06-14T00:00:00", "opens = 2020-01-01T00:00:00")
    text = text.replace("closes = 2023-06-25T23:59:59", "closes = 2099-12-31T23:59:59")
    path.write_text(text, "utf-8")
    return path


async def test_no_token_and_no_chat_id_in_any_line_at_debug(
    botapi: BotApiServer, sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log_file = tmp_path / "pmd.log"
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_LOG_LEVEL": "DEBUG",
        "PMD_DATABASE_URL": sqlite_url,
        "PMD_CONSULTATION": str(_open_consultation(tmp_path)),
        "PMD_PORT": str(port),
        "PMD_ADMIN_IDS": str(CHAT + 1),
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
    }
    with log_file.open("wb") as sink:
        process = await start_pmd_serve(env, port, stderr=sink)
        try:
            citizen = botapi.chat(CHAT)
            await citizen.say("/start fb_alcalde", timeout=10)
            await citizen.press("Acepto", timeout=10)
            await citizen.press("Mujer", timeout=10)
            await citizen.do(botapi.user_sends_sticker(CHAT), timeout=10)
            await botapi.chat(CHAT + 1).say("/estadisticas", timeout=10)
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    text = log_file.read_text("utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(lines) >= 3, text[:2000]
    steps = [line for line in lines if line["event"] == "citizen step"]
    assert steps and steps[0]["level"] == "debug"  # DEBUG really was on
    assert {line["chat_id"] for line in steps} and all(
        line["chat_id"].startswith("h:") for line in steps
    )  # a keyed hash tells the chats apart
    assert len({line["chat_id"] for line in steps}) == 1
    token_secret = DEFAULT_TOKEN.split(":", 1)[1]
    assert token_secret not in text
    for chat in (str(CHAT), str(CHAT + 1)):
        assert chat not in text, [line for line in text.splitlines() if chat in line][:3]
    assert "Mujer" not in text and "fb_alcalde" not in text
