"""Input an attacker would send: never a 500, never a traceback or the payload in the log."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from tests.botapi import BotApiServer
from tests.e2e.hosting import free_port, wait_bot_state
from tests.e2e.test_hosting import hosted_settings
from web.app import create_app
from web.identity import COOKIE
from web.telegram import SECRET_HEADER, WEBHOOK_PATH

MARK = "Calle-Secreta-123"  # a citizen's words: must never reach the log
SECRET = "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV"
JSON = "application/json"

# (what it is, body, content type) — each must be a short 4xx.
HOSTILE: list[tuple[str, bytes, str | None]] = [
    ("deeply nested", b"[" * 50_000 + b"]" * 50_000, JSON),
    ("nested objects", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, JSON),
    ("unknown charset", f'{{"kind":"text","text":"{MARK}"}}'.encode(), f"{JSON}; charset=zzz"),
    ("latin-1 charset", f'{{"kind":"text","text":"{MARK}"}}'.encode(), f"{JSON}; charset=latin-1"),
    ("not UTF-8", b'{"kind":"text","text":"' + MARK.encode() + b'\xff\xfe"}', JSON),
    ("wrong content type", f"kind=text&text={MARK}".encode(), "application/x-www-form-urlencoded"),
    ("no content type", f'{{"kind":"text","text":"{MARK}"}}'.encode(), None),
    ("not JSON", f"{{{MARK}".encode(), JSON),
    ("huge number", b'{"kind":"text","text":' + b"9" * 5000 + b"}", JSON),
]


def _no_trace(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        line = record.getMessage() + repr(record.__dict__)
        assert MARK not in line, line
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


@pytest.mark.parametrize(("what", "body", "content_type"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_browser_chat_answers_hostile_bodies_with_a_short_4xx(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    what: str,
    body: bytes,
    content_type: str | None,
) -> None:
    await client.get("/participa")
    assert client.session.cookie_jar.filter_cookies(client.make_url("/participa")).get(COOKIE)
    headers = {"Content-Type": content_type} if content_type else {}
    caplog.set_level(logging.DEBUG)
    response = await client.post("/participa/mensajes", data=body, headers=headers)
    assert 400 <= response.status < 500, (what, response.status)
    answer = await response.json()
    assert answer["error"] and len(answer["error"]) < 80
    _no_trace(caplog)
    # One line says why, without the body.
    [refused] = [r for r in caplog.records if r.getMessage() == "request body refused"]
    assert refused.__dict__["reason"] and refused.__dict__["path"] == "/participa/mensajes"
    # The chat still works afterwards.
    ok = await client.post("/participa/mensajes", json={"kind": "start", "id": "after"})
    assert ok.status == 200


async def test_browser_chat_refuses_a_body_over_the_size_limit(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    await client.get("/participa")
    caplog.set_level(logging.DEBUG)
    body = b'{"kind":"text","text":"' + MARK.encode() * 30_000 + b'"}'
    response = await client.post("/participa/mensajes", data=body, headers={"Content-Type": JSON})
    assert response.status == 413
    _no_trace(caplog)


async def test_webhook_answers_hostile_bodies_with_a_short_4xx(
    botapi: BotApiServer,
    sqlite_url: str,
    consultation: Consultation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    settings = hosted_settings(
        botapi,
        sqlite_url,
        PMD_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app, port=port)) as client:
        await wait_bot_state(client, "up")
        caplog.set_level(logging.DEBUG)
        for what, body, content_type in HOSTILE:
            headers = {SECRET_HEADER: SECRET}
            if content_type:
                headers["Content-Type"] = content_type
            response = await client.post(WEBHOOK_PATH, data=body, headers=headers)
            assert 400 <= response.status < 500, (what, response.status)
            assert len(await response.read()) < 200
        _no_trace(caplog)
        # Real updates still go through.
        [greeting, *_] = await botapi.chat(8101).say("/start")
        assert greeting.text is not None and "consulta" in greeting.text


@pytest.mark.parametrize(
    "path",
    [
        "/datos/propuestas.csv",
        "/datos/propuestas.json",
        "/datos/participacion.csv",
        "/datos/participacion.json",
    ],
)
async def test_head_on_open_data_answers_cleanly(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    head = await client.head(path)
    assert head.status == 200
    assert head.headers["Content-Type"].startswith(("text/csv", "application/json"))
    assert await head.read() == b""
    # The connection is still usable: no body was written after the headers.
    get = await client.get(path)
    assert get.status == 200 and len(await get.read()) > 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_the_error_handler_logs_type_and_frames_never_the_message(
    settings: Settings, consultation: Consultation, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise ValueError(f"duplicate key value: {MARK}")

    app = create_app(settings, consultation=consultation)
    app.router.add_get("/roto", broken)
    async with TestClient(TestServer(app)) as client:
        caplog.set_level(logging.DEBUG)
        response = await client.get("/roto")
        assert response.status == 500
        assert MARK not in await response.text()
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is None
    assert record.__dict__["error"] == "ValueError"
    assert "broken" in record.__dict__["where"]
    assert MARK not in record.getMessage() + repr(record.__dict__)


async def test_no_versions_in_the_server_header(client: TestClient) -> None:
    for path in ["/", "/participa", "/static/site.css", "/no-existe", "/healthz"]:
        response = await client.get(path)
        server = response.headers.get("Server", "")
        assert "aiohttp" not in server and "Python" not in server, (path, server)
        assert not any(ch.isdigit() for ch in server), (path, server)
    bad = await client.post("/participa/mensajes", data=b"[" * 5000, headers={"Content-Type": JSON})
    assert "aiohttp" not in bad.headers.get("Server", "")


async def test_hsts_only_when_served_over_https(
    sqlite_url: str, consultation: Consultation
) -> None:
    for public, expected in (("https://participa.example.mx", True), ("http://testserver", False)):
        settings = Settings(  # type: ignore[call-arg]
            PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL=public
        )
        app = create_app(settings, consultation=consultation)
        async with TestClient(TestServer(app)) as client:
            for path in ["/", "/static/site.css", "/no-existe"]:
                response = await client.get(path)
                hsts = response.headers.get("Strict-Transport-Security")
                assert (hsts is not None) == expected, (public, path, hsts)
                if expected:
                    assert hsts is not None and "max-age=31536000" in hsts


async def test_malformed_requests_answered_by_aiohttp_itself_carry_no_versions(
    client: TestClient,
) -> None:
    for raw in (b"GARBAGE\r\n\r\n", b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n"):
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(raw)
        await writer.drain()
        head = (await reader.read(4096)).split(b"\r\n\r\n")[0].decode()
        writer.close()
        assert head.startswith("HTTP/1.") and " 400 " in head.splitlines()[0]
        server = next(line for line in head.splitlines() if line.startswith("Server:"))
        assert server == "Server: Participa PMD"
