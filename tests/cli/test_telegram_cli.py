"""``pmd telegram webhook set|info|delete`` against the local Bot API server."""

from __future__ import annotations

import asyncio

import pytest

from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.cli.test_cli import pmd

SECRET = "wH00k-Secret_4Tests-7pQz2LmX9vBn3KdRt"


@pytest.mark.slow
async def test_set_info_and_delete_the_webhook(botapi: BotApiServer) -> None:
    env = {
        "PMD_ENV": "production",
        "PMD_SECRET_KEY": "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV",
        "PMD_PUBLIC_URL": "https://participa.example.mx",
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }

    async def run(*args: str, **extra: str) -> tuple[int, str]:
        result = await asyncio.to_thread(pmd, "telegram", "webhook", *args, env={**env, **extra})
        assert "Traceback" not in result.stderr, result.stderr
        return result.returncode, result.stdout + result.stderr

    code, said = await run("info")
    assert code == 0 and "Sin webhook" in said

    code, said = await run("set", "--max-connections", "10")
    assert code == 0, said
    assert "https://participa.example.mx/telegram/webhook" in said
    assert botapi.webhook is not None
    assert botapi.webhook["url"] == "https://participa.example.mx/telegram/webhook"
    assert botapi.webhook["secret_token"] == SECRET
    assert botapi.webhook["max_connections"] == 10
    assert set(botapi.webhook["allowed_updates"]) == {"message", "edited_message", "callback_query"}

    code, said = await run("info")
    assert code == 0
    assert "URL: https://participa.example.mx/telegram/webhook" in said
    assert "Actualizaciones pendientes: 0" in said and SECRET not in said

    code, said = await run("set", TELEGRAM_WEBHOOK_SECRET="corto")
    assert code == 2 and "TELEGRAM_WEBHOOK_SECRET" in said  # weak: refused before any call
    assert botapi.webhook["secret_token"] == SECRET

    code, said = await run("delete")
    assert code == 0 and "long polling" in said
    assert botapi.webhook is None

    code, said = await run("info", TELEGRAM_BOT_TOKEN="")
    assert code == 2 and "TELEGRAM_BOT_TOKEN" in said
