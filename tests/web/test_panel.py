"""The staff analysis area over HTTP: login links, sessions, roles, CSRF, analysis, exports."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Notification, Proposal, StaffSession
from pmd_domain.services import analysis, participants, staff, staff_login
from pmd_domain.settings import Settings
from tests.factories import make_participant, make_proposal
from web.keys import CONSULTATION, DATABASE
from web.links import RouterLinks
from web.panel.session import COOKIE

ANALYST, MODERATOR = 7001, 7002
CHAT_ID = "555000111"
POSTAL_CODE = "42083"


@dataclass
class Seeded:
    first: Proposal
    second: Proposal
    third: Proposal


def database(client: TestClient) -> Database:
    return client.server.app[DATABASE]


@pytest.fixture
async def seeded(client: TestClient, consultation: Consultation) -> Seeded:
    """Staff and three proposals by a Telegram citizen who gave a postal code."""
    now = utcnow()
    async with database(client).transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=now, name="Laura Analista")
        await staff.add(session, user_id=MODERATOR, role="moderator", now=now)
        author = await make_participant(
            session, consultation, external_id=CHAT_ID, gender="mujer", age_group="30_44"
        )
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=author,
            question="postal_code",
            answer=POSTAL_CODE,
            now=now,
        )
        first = await make_proposal(
            session, consultation, author, problem='=HYPERLINK("http://mal") fugas de agua'
        )
        second = await make_proposal(session, consultation, author, problem="Baches en la calle.")
        third = await make_proposal(
            session,
            consultation,
            author,
            pillar="seguridad",
            topic=consultation.pillar("seguridad").topics[0].key,  # type: ignore[union-attr]
            problem="Falta vigilancia por las noches.",
            publish=False,
        )
    return Seeded(first, second, third)


async def login(client: TestClient, user_id: int) -> str:
    """Log in through a one-time link; the CSRF token of the session."""
    async with database(client).transaction() as session:
        token = await staff_login.create_login_link(
            session, user_id=user_id, admin_ids=[], now=utcnow()
        )
    response = await client.get(f"/panel/entrar/{token}", allow_redirects=False)
    assert response.status == 200
    assert '<meta http-equiv="refresh" content="0; url=/panel">' in await response.text()
    return await csrf(client)


async def csrf(client: TestClient) -> str:
    page = await (await client.get("/panel")).text()
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


async def test_the_link_opens_a_strict_httponly_session_once(
    client: TestClient, seeded: Seeded, settings: Settings
) -> None:
    async with database(client).transaction() as session:
        token = await staff_login.create_login_link(
            session, user_id=ANALYST, admin_ids=[], now=utcnow()
        )
    url = RouterLinks(client.server.app.router, settings.public_url).panel_login(token)
    assert url == f"http://testserver/panel/entrar/{token}"
    # Link previews and HEAD requests do not use the link up.
    preview = await client.get(
        f"/panel/entrar/{token}", headers={"User-Agent": "TelegramBot (like TwitterBot)"}
    )
    assert preview.status == 200 and COOKIE not in preview.cookies
    assert (await client.head(f"/panel/entrar/{token}")).status == 405
    response = await client.get(f"/panel/entrar/{token}", allow_redirects=False)
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/panel" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie
    listing = await client.get("/panel")
    assert listing.status == 200
    assert seeded.first.folio in await listing.text()

    client.session.cookie_jar.clear()
    again = await client.get(f"/panel/entrar/{token}", allow_redirects=False)
    assert again.status == 403
    assert "El enlace ya no es válido; pide uno nuevo con /panel en el bot" in await again.text()
    assert COOKIE not in again.cookies
    assert (await client.get("/panel/entrar/inventado")).status == 403


async def test_without_a_session_nothing_is_shown(client: TestClient, seeded: Seeded) -> None:
    for path in (
        "/panel",
        f"/panel/propuestas/{seeded.first.folio}",
        "/panel/exportar.csv",
        "/panel/exportar.xlsx",
    ):
        response = await client.get(path)
        body = await response.text()
        assert response.status == 403, path
        assert "pide un enlace con /panel" in body
        assert "PMD23-" not in body and "fugas" not in body
    response = await client.post(
        f"/panel/propuestas/{seeded.first.folio}/resultado", data={"resultado": "incluida"}
    )
    assert response.status == 403


async def test_forged_and_tampered_cookies_are_refused(client: TestClient, seeded: Seeded) -> None:
    await login(client, MODERATOR)
    genuine = cookie_of(client)
    flipped = ("A" if genuine[0] != "A" else "B") + genuine[1:]
    forgeries = [
        flipped,  # one character changed
        genuine[:-1],
        secrets.token_urlsafe(32),  # a well-formed id nobody was given
        f"{MODERATOR}.admin.9999999999.{'0' * 64}",  # the old signed form, role raised
        "x" * 500,
        "",
    ]
    for forged in forgeries:
        client.session.cookie_jar.clear()
        response = await client.get("/panel", headers={"Cookie": f"{COOKIE}={forged}"})
        assert response.status == 403, forged
        assert seeded.first.folio not in await response.text()


def cookie_of(client: TestClient) -> str:
    """The panel session cookie the client holds now."""
    return next(c for c in client.session.cookie_jar if c.key == COOKIE).value


async def with_cookie(client: TestClient, value: str, path: str = "/panel") -> int:
    """The status of a GET sent with ``value`` as the only panel cookie."""
    client.session.cookie_jar.clear()
    return (await client.get(path, headers={"Cookie": f"{COOKIE}={value}"})).status


async def test_sessions_are_held_on_the_server_hashed(client: TestClient, seeded: Seeded) -> None:
    await login(client, ANALYST)
    value = cookie_of(client)
    async with database(client).reading() as session:
        rows = list(await session.scalars(select(StaffSession)))
    assert [r.user_id for r in rows] == [ANALYST]
    assert rows[0].id_hash == staff_login.token_hash(value) and value not in rows[0].id_hash


async def test_after_logout_the_old_cookie_is_refused(client: TestClient, seeded: Seeded) -> None:
    token = await login(client, ANALYST)
    old = cookie_of(client)
    # Logging out is a POST with the session's form token: without it nothing ends.
    assert (await client.post("/panel/salir", data={"csrf": "f" * 64})).status == 403
    assert (await client.get("/panel/salir")).status == 200  # the page offers the button
    assert await with_cookie(client, old) == 200
    client.session.cookie_jar.update_cookies({COOKIE: old})
    response = await client.post("/panel/salir", data={"csrf": token})
    assert response.status == 200 and "Sesión cerrada" in await response.text()
    assert await with_cookie(client, old) == 403
    assert await with_cookie(client, old, f"/panel/propuestas/{seeded.first.folio}") == 403


async def test_removal_or_a_new_role_ends_every_open_session(
    client: TestClient, seeded: Seeded
) -> None:
    await login(client, ANALYST)
    laptop = cookie_of(client)
    client.session.cookie_jar.clear()
    await login(client, ANALYST)
    phone = cookie_of(client)
    assert laptop != phone
    assert await with_cookie(client, laptop) == 200 and await with_cookie(client, phone) == 200
    async with database(client).transaction() as session:
        await staff.add(session, user_id=ANALYST, role="moderator", now=utcnow())
    assert await with_cookie(client, laptop) == 403 and await with_cookie(client, phone) == 403

    client.session.cookie_jar.clear()
    await login(client, ANALYST)
    again = cookie_of(client)
    async with database(client).transaction() as session:
        await staff.remove(session, user_id=ANALYST)
        await staff.add(session, user_id=ANALYST, role="moderator", now=utcnow())
    # Added back with the same role a moment later: the old cookie still opens nothing.
    assert await with_cookie(client, again) == 403


async def test_a_removed_staff_member_loses_access_at_once(
    client: TestClient, seeded: Seeded
) -> None:
    await login(client, ANALYST)
    assert (await client.get("/panel")).status == 200
    async with database(client).transaction() as session:
        await staff.remove(session, user_id=ANALYST)
    response = await client.get(f"/panel/propuestas/{seeded.first.folio}")
    assert response.status == 403
    assert "fugas" not in await response.text()


async def test_a_moderator_views_but_cannot_change_the_analysis(
    client: TestClient, seeded: Seeded
) -> None:
    token = await login(client, MODERATOR)
    folio = seeded.first.folio
    page = await client.get(f"/panel/propuestas/{folio}")
    body = await page.text()
    assert page.status == 200 and "fugas de agua" in body
    assert "Guardar resultado" not in body
    for action, data in (
        ("resultado", {"resultado": "incluida"}),
        ("acciones", {"accion": "2.1.1"}),
        ("duplicado", {"original": seeded.second.folio}),
    ):
        response = await client.post(
            f"/panel/propuestas/{folio}/{action}",
            data={**data, "csrf": token},
            allow_redirects=False,
        )
        assert response.status == 403, action
    async with database(client).reading() as session:
        stored = await session.get(Proposal, seeded.first.id)
        assert stored is not None and (stored.outcome, stored.duplicate_of) == (None, None)
        assert await analysis.actions_of(session, proposal_id=stored.id) == []


async def test_posts_need_the_sessions_csrf_token(client: TestClient, seeded: Seeded) -> None:
    await login(client, ANALYST)
    url = f"/panel/propuestas/{seeded.first.folio}/resultado"
    for token in (None, "", "f" * 64):
        data = {"resultado": "incluida"} | ({"csrf": token} if token is not None else {})
        response = await client.post(url, data=data, allow_redirects=False)
        assert response.status == 403
        assert "El formulario caducó" in await response.text()
    async with database(client).reading() as session:
        stored = await session.get(Proposal, seeded.first.id)
        assert stored is not None and stored.outcome is None


async def test_the_analyst_aligns_groups_and_records_the_outcome(
    client: TestClient, seeded: Seeded
) -> None:
    token = await login(client, ANALYST)
    folio, other = seeded.first.folio, seeded.second.folio

    async def post(action: str, *fields: tuple[str, str]) -> str:
        response = await client.post(
            f"/panel/propuestas/{folio}/{action}",
            data=[("csrf", token), *fields],
            allow_redirects=False,
        )
        assert response.status == 303
        return response.headers["Location"]

    assert (await post("acciones", ("accion", "2.1.1"), ("accion", "2.6.1"))).endswith(
        "aviso=acciones"
    )
    assert (await post("acciones", ("accion", "1.1.1"))).endswith("aviso=accion_invalida")
    assert (await post("duplicado", ("original", other.lower()))).endswith("aviso=duplicado")
    assert (await post("duplicado", ("original", "PMD23-999999"))).endswith(
        "aviso=folio_desconocido"
    )
    location = await post(
        "resultado", ("resultado", "incluida"), ("nota", "Se suma a la acción 2.1.1")
    )
    page = await (await client.get(location)).text()
    assert "Resultado guardado" in page
    assert f'Original: <a href="/panel/propuestas/{other}">{other}</a>' in page

    async with database(client).reading() as session:
        stored = await session.get(Proposal, seeded.first.id)
        assert stored is not None
        assert (stored.outcome, stored.outcome_note) == ("incluida", "Se suma a la acción 2.1.1")
        assert stored.duplicate_of == seeded.second.id
        assert await analysis.actions_of(session, proposal_id=stored.id) == ["2.1.1", "2.6.1"]
        queued = list(await session.scalars(select(Notification)))
    assert [(n.text_key, n.params["folio"], n.sent_at) for n in queued] == [
        ("notify.outcome", folio, None)
    ]

    assert (await post("duplicado", ("quitar", "1"))).endswith("aviso=sin_duplicado")
    async with database(client).reading() as session:
        stored = await session.get(Proposal, seeded.first.id)
        assert stored is not None and stored.duplicate_of is None


async def test_the_list_filters_and_escapes(client: TestClient, seeded: Seeded) -> None:
    await login(client, ANALYST)
    body = await (await client.get("/panel", params={"estado": "pending"})).text()
    assert seeded.third.folio in body and seeded.first.folio not in body
    body = await (await client.get("/panel", params={"q": "baches"})).text()
    assert seeded.second.folio in body and seeded.first.folio not in body
    body = await (
        await client.get("/panel", params={"tema": "servicios.agua", "orden": "recent"})
    ).text()
    assert seeded.first.folio in body and seeded.third.folio not in body
    body = await (await client.get("/panel", params={"q": "<script>alert(1)</script>"})).text()
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    assert (await client.get("/panel/propuestas/PMD23-999999")).status == 404


async def test_exports_hold_the_analysis_and_no_personal_data(
    client: TestClient, seeded: Seeded
) -> None:
    await login(client, MODERATOR)  # viewing and exporting is open to every staff role
    async with database(client).transaction() as session:
        await analysis.align(
            session,
            consultation=client.server.app[CONSULTATION],
            proposal_id=seeded.second.id,
            actions=["2.4.1"],
        )
        await analysis.mark_duplicate(
            session, proposal_id=seeded.third.id, original_id=seeded.second.id
        )
        await analysis.record_outcome(
            session,
            proposal_id=seeded.second.id,
            outcome="considerada",
            note="Ver 2.4.1",
            now=utcnow(),
        )

    response = await client.get("/panel/exportar.csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    text = (await response.read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == analysis.EXPORT_COLUMNS
    by_folio = {row["folio"]: row for row in rows}
    assert set(by_folio) == {seeded.first.folio, seeded.second.folio, seeded.third.folio}
    assert by_folio[seeded.second.folio]["acciones"] == "2.4.1"
    assert by_folio[seeded.second.folio]["resultado"] == "considerada"
    assert by_folio[seeded.second.folio]["nota"] == "Ver 2.4.1"
    assert by_folio[seeded.third.folio]["duplicado_de"] == seeded.second.folio
    assert by_folio[seeded.third.folio]["estado"] == "pending"
    # A text that starts like a formula stays text.
    assert by_folio[seeded.first.folio]["problema"].startswith("'=HYPERLINK")
    for secret in (CHAT_ID, POSTAL_CODE, "Laura", str(ANALYST), str(MODERATOR)):
        assert secret not in text

    response = await client.get("/panel/exportar.xlsx")
    assert response.status == 200
    body = await response.read()
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Propuestas", "Participación"]
    sheet = [list(r) for r in book["Propuestas"].iter_rows(values_only=True)]
    assert tuple(sheet[0]) == analysis.EXPORT_COLUMNS
    assert len(sheet) == 4
    problem = sheet[0].index("problema")
    first = next(r for r in sheet if r[0] == seeded.first.folio)
    assert first[problem] == '=HYPERLINK("http://mal") fugas de agua'
    assert book["Propuestas"].cell(row=sheet.index(first) + 1, column=problem + 1).data_type == "s"
    counts = [list(r) for r in book["Participación"].iter_rows(values_only=True)]
    assert counts[0] == ["medida", "dimension", "clave", "etiqueta", "columna", "valor"]
    assert ["participantes", "gender", "mujer"] in [r[:3] for r in counts]
    everything = " ".join(str(c) for ws in book for r in ws.iter_rows(values_only=True) for c in r)
    for secret in (CHAT_ID, POSTAL_CODE, "Laura"):
        assert secret not in everything


async def test_logout_ends_the_session(client: TestClient, seeded: Seeded) -> None:
    token = await login(client, ANALYST)
    response = await client.post("/panel/salir", data={"csrf": token})
    assert response.status == 200 and "Sesión cerrada" in await response.text()
    assert (await client.get("/panel")).status == 403
