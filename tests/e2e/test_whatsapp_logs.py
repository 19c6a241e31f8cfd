"""Logs at DEBUG from a real ``pmd serve`` with its WhatsApp channel: no number, no secret."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.e2e.hosting import free_port, served_health, spawn_pmd_serve
from tests.e2e.test_logs import _open_consultation
from tests.waapi import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, WhatsAppCloudServer, press
from web.whatsapp import WEBHOOK_PATH

NUMBER = "5217713334444"


async def test_no_number_no_text_and_no_secret_in_any_line_at_debug(
    waapi: WhatsAppCloudServer, sqlite_url: str, tmp_path: Path
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
        "WHATSAPP_API_URL": waapi.url,
        "WHATSAPP_PHONE_NUMBER_ID": waapi.phone_number_id,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    waapi.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    with log_file.open("wb") as sink:
        process = await spawn_pmd_serve(env, stderr=sink)
        try:
            assert await served_health(port, timeout=20, process=process, bot=False)
            phone = waapi.phone(NUMBER)
            await phone.run(
                [
                    ("Hola", "bienvenida"),
                    (press("Acepto"), "Pregunta 1 de 4"),
                    (press("Mujer"), "Pregunta 2 de 4"),
                ]
            )
            await phone.send("sticker", {"id": "1", "mime_type": "image/webp"})
            forged = waapi.message(NUMBER, "text", {"body": "Hola"})
            await phone.deliver(forged, secret="someone-elses-app-secret-0123456")
            assert phone.last_status == 403
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    text = log_file.read_text("utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line["event"] == "whatsapp up" for line in lines), text[:2000]
    assert any(line["event"] == "whatsapp delivery refused" for line in lines)
    for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, NUMBER):
        assert secret not in text, [line for line in text.splitlines() if secret in line][:3]
    assert "Mujer" not in text
