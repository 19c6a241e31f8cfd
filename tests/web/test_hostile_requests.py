"""Requests a script sends and no browser would: a short Spanish 4xx, never a 500 or a traceback.

Found by trying every route as an attacker would: a NUL in an address (PostgreSQL
refuses it in text), digits that are not 0-9 ("²" passes ``str.isdigit``), a staff
form in a broken encoding, and requests so malformed that aiohttp answers them itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import StaffMember
from pmd_domain.settings import Settings
from tests.web.conftest import serving, web_settings
from tests.web.test_panel_actions import ADMIN, database, enter, team
from web.app import create_app

MARK = "Calle-Secreta-123"  # what must never reach the log
JSON = "application/json"


def _clean_log(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        line = record.getMessage() + repr(record.__dict__)
        assert MARK not in line, line
        assert "\x00" not in line, line
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()


@pytest.fixture
async def any_client(database_url: str, consultation: Consultation) -> AsyncIterator[TestClient]:
    """The application on a fresh database of each kind (PostgreSQL refuses NUL in text)."""
    async with serving(web_settings(database_url), consultation) as client:
        yield client


@pytest.fixture
async def admin(client: TestClient, caplog: pytest.LogCaptureFixture) -> str:
    """An administrator's panel session on ``client``: its CSRF token; the log from then on."""
    await team(client)
    csrf = await enter(client, ADMIN)
    caplog.set_level(logging.DEBUG)
    return csrf


async def test_a_nul_in_an_address_a_query_or_a_body_is_a_short_4xx(
    any_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = any_client
    await team(client)
    csrf = await enter(client, ADMIN)
    caplog.set_level(logging.DEBUG)
    for path in ["/propuestas/%00", "/propuestas/DEMO%00", "/panel/propuestas/DEMO%00"]:
        response = await client.get(path)
        assert response.status == 404, path
        assert "Página no encontrada" in await response.text()
    for path in ["/propuestas?q=a%00b", "/panel?q=%00", f"/propuestas?{MARK}=%00"]:
        response = await client.get(path)
        assert response.status == 400, path
        assert "La dirección no es válida" in await response.text()
    for path, form in [
        ("/panel/constancias/revocar", {"folio": "A\x00B", "motivo": "x"}),
        ("/panel/propuestas/X/duplicado", {"original": "A\x00B"}),
        ("/panel/equipo/agregar", {"telegram": "", "correo": "a\x00@b.mx", "rol": "analyst"}),
    ]:
        response = await client.post(path, data={"csrf": csrf, **form})
        assert response.status < 500, path
    await client.get("/participa")
    response = await client.post(
        "/participa/mensajes", json={"kind": "start", "text": "", "id": "a\x00b"}
    )
    assert response.status < 500
    assert "error" in await response.json() or response.status == 200
    _clean_log(caplog)


async def test_numbers_are_ascii_digits_in_addresses_and_forms(
    client: TestClient, caplog: pytest.LogCaptureFixture, admin: str
) -> None:
    csrf = admin
    await client.get("/participa")
    for cursor in ["%C2%B2", "%E2%91%A0", "%D9%A3"]:
        response = await client.get(f"/participa/mensajes?desde={cursor}")
        assert response.status == 400, cursor
        assert "error" in await response.json()
    for page in ["%C2%B2", "%E2%91%A0"]:
        assert (await client.get(f"/panel?pagina={page}")).status == 200
    kiosk = await client.post("/panel/integridad/kioscos/%C2%B2/retirar", data={"csrf": csrf})
    assert kiosk.status == 404
    for target in ["burst:s@prop:²:1", "burst:s@addr:abc:" + "9" * 30]:
        response = await client.post(
            "/panel/integridad/descontar",
            data={"csrf": csrf, "objetivo": target, "accion": "descontar"},
        )
        assert response.status < 500, target
    for raw in ["²", "٣"]:  # an Arabic-Indic three is not staff member 3
        response = await client.post(
            "/panel/equipo/agregar", data={"csrf": csrf, "telegram": raw, "rol": "analyst"}
        )
        assert response.status < 500, raw
    async with database(client).reading() as session:
        assert await session.scalar(select(StaffMember).where(StaffMember.user_id == 3)) is None
    # Nor in an address: the routes' numbers are 0-9 (a regex's \d is any decimal digit).
    for path in [
        "/panel/equipo/%D9%A3/quitar",
        "/panel/moderar/%D9%A3",
        "/panel/difusiones/%D9%A3",
    ]:
        response = await client.post(path, data={"csrf": csrf})
        assert response.status in (404, 405), path
    _clean_log(caplog)


BROKEN_FORMS: list[tuple[str, bytes, str]] = [
    ("csrf not ASCII", b"csrf=%ff", "application/x-www-form-urlencoded"),
    ("not UTF-8", b"csrf=abc&x=\xff" + MARK.encode(), "application/x-www-form-urlencoded"),
    ("unknown charset", b"csrf=abc", "application/x-www-form-urlencoded; charset=zzz"),
    ("UTF-16", "csrf=abc".encode("utf-16"), "application/x-www-form-urlencoded; charset=utf-16"),
    ("multipart without boundary", b"csrf=abc", "multipart/form-data"),
    (
        "broken multipart",
        b"--b\r\nContent-Disposition: form-data; name=\x01\r\n\r\n" + MARK.encode(),
        "multipart/form-data; boundary=b",
    ),
    (
        "multipart part charset",
        b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n'
        b"Content-Type: text/plain; charset=zzz\r\n\r\nabc\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
]


@pytest.mark.parametrize(
    ("what", "body", "content_type"), BROKEN_FORMS, ids=[b[0] for b in BROKEN_FORMS]
)
async def test_a_staff_form_in_a_broken_encoding_is_a_short_400(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    what: str,
    body: bytes,
    content_type: str,
) -> None:
    await team(client)
    await enter(client, ADMIN)
    caplog.set_level(logging.DEBUG)
    for path in ["/panel/salir", "/panel/equipo/agregar"]:
        response = await client.post(path, data=body, headers={"Content-Type": content_type})
        assert response.status in (400, 403), (what, path, response.status)
        assert "formulario" in await response.text()
    _clean_log(caplog)
    # The session is still open: nothing was done, nothing was broken.
    assert (await client.get("/panel")).status == 200


async def test_a_request_too_malformed_for_the_application_logs_one_line_without_it(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raws = [
        f"GET /panel HTTP/1.1\r\nHost: x\r\nCookie: pmd_staff=abc; x={MARK}\x01\r\n\r\n".encode(),
        f"GET /propuestas/{MARK}ñ HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /constancias/{MARK}\x01 HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /propuestas/{MARK}{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    ]
    for raw in raws:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(raw)
        await writer.drain()
        answer = await reader.read(65536)
        writer.close()
        assert answer.startswith(b"HTTP/1.") and b" 400 " in answer[:20], answer[:80]
    _clean_log(caplog)
    refused = [r for r in caplog.records if r.getMessage() == "malformed request refused"]
    assert refused and all(r.__dict__["reason"] for r in refused)


async def test_every_refusal_is_a_spanish_page(
    client: TestClient, caplog: pytest.LogCaptureFixture, admin: str
) -> None:
    csrf = admin
    too_big = await client.post(
        "/panel/equipo/agregar", data={"csrf": csrf, "nombre": MARK * 20_000}
    )
    assert too_big.status == 413
    assert "demasiado grande" in await too_big.text()
    assert "Content-Security-Policy" in too_big.headers
    await client.get("/participa")
    chat = await client.post(
        "/participa/mensajes",
        data=b'{"kind":"text","text":"' + b"x" * 300_000 + b'"}',
        headers={"Content-Type": JSON},
    )
    assert chat.status == 413 and "demasiado grande" in (await chat.json())["error"]
    assert "Content-Security-Policy" in chat.headers
    for path in ["/static/", "/static/no-existe.css", "/static/" + "a" * 300 + ".css"]:
        response = await client.get(path)
        assert response.status in (403, 404), path
        text = await response.text()
        assert "<html" in text and ("no existe" in text or "no está disponible" in text), path
    decision = await client.post("/panel/moderar/1", data={"csrf": csrf, "decision": "zzz"})
    assert decision.status == 400
    assert "La solicitud no es válida" in await decision.text()
    _clean_log(caplog)


async def test_a_failure_behind_the_chat_answers_json(
    settings: Settings, consultation: Consultation, caplog: pytest.LogCaptureFixture
) -> None:
    """The page's script reads every answer of the chat's endpoints as JSON, errors too."""
    from aiohttp import web

    async def broken(request: web.Request) -> web.Response:
        raise ValueError(MARK)

    app = create_app(settings, consultation=consultation)
    app.router.add_post("/participa/roto", broken)
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/participa/roto", json={"kind": "start"})
        assert response.status == 500
        assert (await response.json())["error"]
        polled = await client.get("/participa/roto", headers={"Accept": JSON})
        assert polled.status == 405 and (await polled.json())["error"]
