"""The bot inside the web process: long polling by default, webhook with its secret."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.e2e.citizens import PROBLEM, PROPOSAL, STEP, UP_TO_PROBLEM, onboard_quickly
from tests.e2e.hosting import bot_state, free_port, wait_bot_state
from web.app import create_app
from web.telegram import SECRET_HEADER, WEBHOOK_PATH

SECRET = "s3cret-Token_for-tests"


def hosted_settings(botapi: BotApiServer, sqlite_url: str, **extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=botapi.url,
        **extra,
    )


async def test_without_a_token_the_web_side_runs_alone(
    sqlite_url: str, consultation: Consultation
) -> None:
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=sqlite_url)  # type: ignore[call-arg]
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        body = await wait_bot_state(client, "disabled")
        assert body["status"] == "ok"
        assert "telegram_webhook" not in app.router


async def test_long_polling_is_the_default_and_healthz_reports_the_bot(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    app = create_app(hosted_settings(botapi, sqlite_url), consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        [greeting, *_] = await botapi.chat(8001).say("/start")
        assert greeting.text is not None and "consulta" in greeting.text
        assert botapi.calls("getUpdates"), "the bot polls"
    assert bot_state(app) == "down"


async def test_without_the_username_setting_the_dashboard_links_to_the_bot_telegram_names(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    app = create_app(hosted_settings(botapi, sqlite_url), consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        link = f"https://t.me/{botapi.bot_username}?start=tablero"
        page = await (await client.get("/")).text()
        assert f'href="{link}"' in page
        assert (await client.get("/participa/telegram.png")).status == 200


async def test_webhook_checks_the_secret_header(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    settings = hosted_settings(
        botapi,
        sqlite_url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PMD_PUBLIC_URL=public,
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app, port=port)) as client:
        await wait_bot_state(client, "up")
        assert botapi.webhook is not None
        assert botapi.webhook["url"] == public + WEBHOOK_PATH
        assert botapi.webhook["secret_token"] == SECRET
        update = {
            "update_id": 5,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": {"id": 8002, "type": "private", "first_name": "X"},
                "from": {"id": 8002, "is_bot": False, "first_name": "X"},
                "text": "/start",
            },
        }
        missing = await client.post(WEBHOOK_PATH, json=update)
        wrong = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: "nope"})
        assert (missing.status, wrong.status) == (403, 403)
        garbage = await client.post(
            WEBHOOK_PATH, data=b"{not json", headers={SECRET_HEADER: SECRET}
        )
        not_an_update = await client.post(WEBHOOK_PATH, json=[1], headers={SECRET_HEADER: SECRET})
        assert (garbage.status, not_an_update.status) == (400, 400)
        assert botapi.messages_to(8002) == []
        # Telegram (the local server) delivers with the right header: processed.
        [greeting, *_] = await botapi.chat(8003).say("/start")
        assert greeting.text is not None and "consulta" in greeting.text
        assert not botapi.calls("getUpdates"), "no polling in webhook mode"


async def test_the_web_side_starts_while_telegram_is_unreachable_and_the_bot_catches_up(
    sqlite_url: str, consultation: Consultation
) -> None:
    port = free_port()
    botapi = BotApiServer()
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_DATABASE_URL=sqlite_url,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        body = await wait_bot_state(client, "down")
        assert body["status"] == "ok" and body["database"] == "ok"
        await botapi.start(port=port)
        try:
            await wait_bot_state(client, "up", timeout=15)
            [greeting, *_] = await botapi.chat(8004).say("/start")
            assert greeting.text is not None and "consulta" in greeting.text
        finally:
            await client.close()
            await botapi.stop()


async def test_hosted_bot_sends_the_certificate_pdf(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    app = create_app(hosted_settings(botapi, sqlite_url), consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        await wait_bot_state(client, "up")
        chat = botapi.chat(8005)
        await onboard_quickly(chat)
        await chat.run(
            [
                *UP_TO_PROBLEM,
                (PROBLEM, "¿Qué propones?"),
                (PROPOSAL, "2040"),
                (press("Omitir"), "Revisa"),
                (press("Enviar"), "PMD23-"),
                (press("Mi constancia"), "nombre completo"),
            ],
            **STEP,
        )
        replies = await chat.say("Ana Pérez Hernández", count=2, timeout=30)
        text, document = replies
        assert text.text is not None and "Ana Pérez Hernández" in text.text
        assert document.file_bytes is not None and document.file_bytes.startswith(b"%PDF")
        assert document.file is not None and (document.file.file_name or "").endswith(".pdf")
        assert (8005, "upload_document") in botapi.chat_actions
