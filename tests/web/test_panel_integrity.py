"""The panel's integrity page over HTTP: alerts and discounts, codes on the spot, kiosks."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.schema import Window
from pmd_domain.db.models import AuditEntry, Participant, Proposal
from pmd_domain.services import audit, staff
from tests.factories import judge, make_participant, make_proposal, spanish_moment
from tests.factories import open_consultation as _open
from tests.web.test_panel import database, login
from tests.web.test_webchat import WebChat
from web.identity import KIOSK_COOKIE
from web.keys import CONSULTATION

ANALYST, MODERATOR = 7001, 7002
CODE = re.compile(r'<p class="code" id="codigo">([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})</p>')


@pytest.fixture
def consultation() -> Consultation:
    """An open consultation that flags small bursts and lets one new participant per address in."""
    base = _open()
    integrity = base.integrity.model_copy(
        update={
            "bursts": base.integrity.bursts.model_copy(update={"supports_per_source": 5}),
            "address_limits": base.integrity.address_limits.model_copy(
                update={"participants": Window(count=1, minutes=10)}
            ),
        }
    )
    return base.model_copy(update={"integrity": integrity})


@pytest.fixture
async def team(client: TestClient) -> None:
    async with database(client).transaction() as session:
        await staff.add(session, user_id=ANALYST, role="analyst", now=utcnow())
        await staff.add(session, user_id=MODERATOR, role="moderator", now=utcnow(), name="Lucía")


def _mid_hour() -> datetime:
    return utcnow().replace(minute=30, second=0, microsecond=0)


async def test_a_moderator_discounts_a_flagged_burst_and_an_analyst_only_looks(
    client: TestClient, consultation: Consultation, team: None
) -> None:
    moment = _mid_hour()
    async with database(client).transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        for _ in range(6):
            person = await make_participant(session, consultation, source="qr_mercados", now=moment)
            await judge(session, consultation, person, record.id, now=moment)
    csrf = await login(client, ANALYST)
    page = await (await client.get("/panel/integridad")).text()
    assert "6 apoyos de participantes de la fuente «qr_mercados»" in page
    assert "Descontar estos apoyos" not in page  # an analyst looks, does not act
    target = f"burst:s@src:qr_mercados:{int(moment.timestamp()) // 3600 * 60}"
    refused = await client.post(
        "/panel/integridad/descontar", data={"csrf": csrf, "objetivo": target}
    )
    assert "no hacer cambios" in await refused.text()
    forged = await client.post("/panel/integridad/descontar", data={"objetivo": target})
    assert forged.status == 403

    client.session.cookie_jar.clear()
    csrf = await login(client, MODERATOR)
    page = await (await client.get("/panel/integridad")).text()
    assert f'value="{target}"' in page and "Descontar estos apoyos" in page
    done = await client.post(
        "/panel/integridad/descontar",
        data={"csrf": csrf, "objetivo": target, "accion": "descontar"},
    )
    assert "Apoyos descontados" in await done.text()
    async with database(client).reading() as session:
        stored = await session.get(Proposal, record.id)
        [entry] = await session.scalars(select(AuditEntry))
    assert stored is not None and (stored.supports, stored.supports_discounted) == (0, 6)
    assert (entry.actor, entry.action, entry.target) == (
        f"staff:{MODERATOR}",
        "supports.discount",
        target,
    )
    stats = await (await client.get("/api/estadisticas")).json()
    stats = await (await client.get("/api/estadisticas")).json()  # stale while revalidating
    assert [p["supports"] for p in stats["top"]["servicios"]] == [0]
    restored = await client.post(
        "/panel/integridad/descontar",
        data={"csrf": csrf, "objetivo": target, "accion": "restaurar"},
    )
    assert "Apoyos restaurados" in await restored.text()
    bogus = await client.post(
        "/panel/integridad/descontar", data={"csrf": csrf, "objetivo": "burst:nada"}
    )
    assert bogus.status == 200 and "No se pudo hacer ese cambio" in await bogus.text()


async def test_a_code_issued_on_the_spot_verifies_a_browser_once(
    client: TestClient, team: None
) -> None:
    csrf = await login(client, MODERATOR)
    response = await client.post("/panel/integridad/codigo", data={"csrf": csrf})
    found = CODE.search(await response.text())
    assert response.status == 200 and found
    assert response.headers["Cache-Control"] == "no-store"
    chat = WebChat(client)
    await chat.open()
    await chat.start()
    await chat.press("Acepto")
    while "Prefiero no decir" in chat.labels():
        await chat.press("Prefiero no decir")
    await chat.press("Tengo un código")
    done = await chat.say(found.group(1).lower())
    assert "Tu participación quedó verificada" in done
    log = await (await client.get("/panel/integridad")).text()
    # The audit log names the action in the staff's words, beside its exact id, and
    # its details too: a moment as the panel writes one, not its stored ISO text.
    assert "<td>Emisión de códigos para verificar en persona <code>codes.issue</code></td>" in log
    async with database(client).reading() as session:
        [entry] = await session.scalars(select(AuditEntry))
    expires = datetime.fromisoformat(entry.details["expires"])
    zone = client.app[CONSULTATION].exercise.timezone
    assert f"<td>Cantidad: 1 · Vence: {spanish_moment(expires, zone)}</td>" in log
    assert f"<td>Lucía <code>staff:{MODERATOR}</code></td>" in log  # who, by name
    async with database(client).transaction() as session:
        await audit.record(
            session, actor=audit.CLI, action="codes.issue", target="codes:x", now=utcnow()
        )
    log = await (await client.get("/panel/integridad")).text()
    assert "<td>Línea de comandos <code>cli</code></td>" in log
    # The command for printing many is shown as code, not as its escaped tags.
    assert "<code>pmd codes issue --count 100 --output tarjetas.pdf</code>" in log


async def test_a_kiosk_verifies_in_person_and_is_exempt_until_withdrawn(
    client: TestClient, team: None
) -> None:
    csrf = await login(client, MODERATOR)
    enrolled = await client.post(
        "/panel/integridad/kiosco", data={"csrf": csrf, "nombre": "Módulo Plaza Juárez"}
    )
    assert "registrado como módulo" in await enrolled.text()
    kiosk = client.session.cookie_jar.filter_cookies(client.make_url("/participa"))
    assert KIOSK_COOKIE in kiosk
    for _ in range(2):  # two people in a row at the kiosk: the address limit (1) does not apply
        chat = WebChat(client)
        await chat.open()
        await chat.start()
        thanks = await chat.press("Acepto")
        assert "Prefiero no decir" in chat.labels(), thanks
        forgotten = await client.post("/participa/olvidar", allow_redirects=False)
        assert forgotten.status == 303
    async with database(client).reading() as session:
        people = list(await session.scalars(select(Participant)))
    assert [p.assurance for p in people] == ["verified", "verified"]

    page = await (await client.get("/panel/integridad")).text()
    assert "Módulo Plaza Juárez" in page and "En uso" in page
    [withdraw] = re.findall(r'action="(/panel/integridad/kioscos/\d+/retirar)"', page)
    done = await client.post(withdraw, data={"csrf": csrf})
    assert "Módulo retirado" in await done.text()
    outcomes = []
    for _ in range(2):  # an ordinary browser again: one new participant per address
        chat = WebChat(client)
        await chat.open()
        await chat.start()
        outcomes.append(await chat.press("Acepto"))
        await client.post("/participa/olvidar", allow_redirects=False)
    assert "¿Con qué género" in outcomes[0]
    assert "mucha actividad desde tu conexión" in outcomes[1]
    assert "Acepto" in chat.labels()  # nothing stored, the greeting again
    async with database(client).reading() as session:
        people = list(await session.scalars(select(Participant)))
    assert [p.assurance for p in people] == ["verified", "verified", "anonymous"]
