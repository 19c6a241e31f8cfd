"""Staff actions in the panel over HTTP: moderation, revocation, the team, campaigns.

Every action is checked by role on the server (a direct POST, not a hidden button),
needs the session's CSRF token, and leaves an audit record.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import (
    AuditEntry,
    Campaign,
    Certificate,
    Delivery,
    Notification,
    Proposal,
    StaffMember,
)
from pmd_domain.services import staff, staff_login
from tests.factories import (
    last_evening,
    make_certificate,
    make_participant,
    make_proposal,
    make_recipients,
    report_proposal,
    spanish_day,
    spanish_moment,
)
from web.keys import DATABASE

ADMIN, MODERATOR, ANALYST = 9101, 9102, 9103


def database(client: TestClient) -> Database:
    return client.server.app[DATABASE]


async def enter(client: TestClient, user_id: int) -> str:
    """Log in as ``user_id`` (a fresh cookie jar); the session's CSRF token."""
    client.session.cookie_jar.clear()
    async with database(client).transaction() as session:
        token = await staff_login.create_login_link(
            session, user_id=user_id, admin_ids=[], now=utcnow()
        )
    assert (await client.get(f"/panel/entrar/{token}")).status == 200
    page = await (await client.get("/panel")).text()
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


async def team(client: TestClient) -> None:
    async with database(client).transaction() as session:
        for user_id, role in ((ADMIN, "admin"), (MODERATOR, "moderator"), (ANALYST, "analyst")):
            await staff.add(session, user_id=user_id, role=role, now=utcnow())


async def audit_actions(client: TestClient) -> list[tuple[str, str, str]]:
    async with database(client).reading() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.actor, r.action, r.target) for r in rows]


async def test_a_moderator_publishes_rejects_and_reassigns_reported_first(
    client: TestClient, consultation: Consultation
) -> None:
    await team(client)
    async with database(client).transaction() as session:
        author = await make_participant(session, consultation)
        first = await make_proposal(session, consultation, author, publish=False)
        second = await make_proposal(
            session, consultation, author, problem="Baches <b>grandes</b>.", publish=False
        )
        third = await make_proposal(session, consultation, author, publish=False)
        reported = await make_proposal(session, consultation, author, problem="Reportada aquí.")
        await report_proposal(session, consultation, reported.id, times=3)
    token = await enter(client, MODERATOR)
    queue = await (await client.get("/panel/moderar")).text()
    # The reported proposal comes first, marked; texts are escaped.
    assert queue.index(reported.folio) < queue.index(first.folio)
    assert "Reportada por la ciudadanía 3 veces" in queue
    assert "Reportada aquí." in queue.split('id="cola"')[0]

    async def decide(proposal: Proposal, **fields: str) -> str:
        response = await client.post(
            f"/panel/moderar/{proposal.id}",
            data={"csrf": token, **fields},
            allow_redirects=False,
        )
        assert response.status == 303
        return response.headers["Location"]

    assert "aviso=publicada" in await decide(first, decision="publicar")
    assert "aviso=rechazada" in await decide(second, decision="rechazar", motivo="advertising")
    assert "aviso=motivo_invalido" in await decide(third, decision="rechazar", otro="no")
    assert "aviso=tema_invalido" in await decide(third, decision="tema", tema="servicios.nada")
    assert "aviso=reasignada" in await decide(
        third,
        decision="tema",
        tema="seguridad."
        + (
            consultation.pillar("seguridad").topics[0].key  # type: ignore[union-attr]
        ),
    )
    assert "aviso=rechazada" in await decide(third, decision="rechazar", otro="Está repetida.")
    # The same button once more: somebody already decided, nothing changes.
    assert "aviso=ya_revisada" in await decide(first, decision="rechazar", motivo="unclear")
    page = await (await client.get("/panel/moderar?aviso=rechazada&folio=" + third.folio)).text()
    assert f"{third.folio} quedó rechazada" in page

    async with database(client).reading() as session:
        stored = {p.id: p for p in await session.scalars(select(Proposal))}
        notes = list(await session.scalars(select(Notification).order_by(Notification.id)))
    assert stored[first.id].status == "published"
    assert (stored[second.id].status, stored[second.id].moderation_reason) == (
        "rejected",
        "Es publicidad o propaganda.",
    )
    assert stored[third.id].pillar == "seguridad" and stored[third.id].status == "rejected"
    assert stored[third.id].moderation_reason == "Está repetida."
    # The authors are told as from the bot: published, and each rejection with its reason.
    assert [(n.text_key, n.params.get("folio")) for n in notes] == [
        ("notify.published", first.folio),
        ("notify.rejected", second.folio),
        ("notify.rejected", third.folio),
    ]
    assert notes[1].params["reason_key"] == "moderation.reason.advertising"
    actions = await audit_actions(client)
    assert (f"staff:{MODERATOR}", "moderation.publish", f"proposal:{first.id}") in actions
    assert (f"staff:{MODERATOR}", "moderation.reassign", f"proposal:{third.id}") in actions
    assert sum(a[1] == "moderation.reject" for a in actions) == 2


async def test_the_moderation_page_dates_proposals_on_the_exercise_s_calendar(
    client: TestClient, consultation: Consultation
) -> None:
    # 03:00 UTC is 21:00 of the day before in Pachuca: the staff read that day.
    await team(client)
    evening = last_evening()
    async with database(client).transaction() as session:
        author = await make_participant(session, consultation)
        # One on display (its long date), one waiting in the queue below (its moment).
        shown = await make_proposal(session, consultation, author, publish=False, now=evening)
        await make_proposal(session, consultation, author, publish=False, now=evening)
    await enter(client, MODERATOR)
    page = await (await client.get("/panel/moderar")).text()
    day = evening.astimezone(ZoneInfo(consultation.exercise.timezone)).date()
    assert day != evening.date()
    assert f"<dd>{spanish_day(day)}</dd>" in page
    written = spanish_moment(evening, consultation.exercise.timezone)
    assert f"<td>{written}</td>" in page
    # The analysis page of one proposal writes its moment the same way.
    detail = await (await client.get(f"/panel/propuestas/{shown.folio}")).text()
    assert f"<dd>{written}</dd>" in detail


async def test_an_analyst_is_refused_by_the_server_on_every_action(
    client: TestClient, consultation: Consultation
) -> None:
    await team(client)
    async with database(client).transaction() as session:
        author = await make_participant(session, consultation)
        waiting = await make_proposal(session, consultation, author, publish=False)
        make_certificate(session, author, name="Ana", folio="C23-000001", token="t" * 32)
        await make_recipients(session, consultation, [1, 2, 3])
    token = await enter(client, ANALYST)
    listing = await (await client.get("/panel")).text()
    assert "/panel/moderar" not in listing and "/panel/equipo" not in listing
    for path in ("/panel/moderar", "/panel/constancias", "/panel/equipo", "/panel/difusiones"):
        assert (await client.get(path)).status == 403, path
    posts = [
        (f"/panel/moderar/{waiting.id}", {"decision": "publicar"}),
        ("/panel/constancias/revocar", {"folio": "C23-000001", "motivo": "Mal emitida"}),
        ("/panel/equipo/agregar", {"telegram": str(ANALYST), "rol": "admin"}),
        (f"/panel/equipo/{ADMIN}/quitar", {}),
        ("/panel/difusiones/enviar", {"texto": "Hola", "audiencia": "all"}),
    ]
    for path, data in posts:
        response = await client.post(path, data={"csrf": token, **data}, allow_redirects=False)
        assert response.status == 403, path
        assert "Sin permiso" in await response.text()
    # A moderator may moderate but not manage the team or send campaigns.
    token = await enter(client, MODERATOR)
    for path, data in posts[2:]:
        response = await client.post(path, data={"csrf": token, **data}, allow_redirects=False)
        assert response.status == 403, path
    # Without the form token even the right role changes nothing.
    response = await client.post(f"/panel/moderar/{waiting.id}", data={"decision": "publicar"})
    assert response.status == 403
    async with database(client).reading() as session:
        assert (await session.get(Proposal, waiting.id)).status == "pending"  # type: ignore[union-attr]
        assert (await session.scalar(select(Certificate.revoked_at))) is None
        assert (await session.get(StaffMember, ANALYST)).role == "analyst"  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert await audit_actions(client) == []


async def test_an_admin_revokes_a_certificate(
    client: TestClient, consultation: Consultation
) -> None:
    await team(client)
    async with database(client).transaction() as session:
        author = await make_participant(session, consultation)
        make_certificate(session, author, name="Ana", folio="C23-000007", token="v" * 32)
    token = await enter(client, ADMIN)

    async def revoke(folio: str, reason: str) -> str:
        response = await client.post(
            "/panel/constancias/revocar",
            data={"csrf": token, "folio": folio, "motivo": reason},
            allow_redirects=False,
        )
        return response.headers["Location"]

    assert "aviso=no_existe" in await revoke("C23-999999", "Error")
    assert "aviso=sin_motivo" in await revoke("C23-000007", "   ")
    assert "aviso=revocada" in await revoke("c23-000007", "Emitida por error")
    async with database(client).reading() as session:
        record = await session.scalar(select(Certificate))
    assert record is not None and record.revoke_reason == "Emitida por error"
    assert (f"staff:{ADMIN}", "certificate.revoke", "certificate:C23-000007") in (
        await audit_actions(client)
    )


async def test_an_admin_adds_a_web_only_member_who_logs_in_with_a_link(
    client: TestClient, consultation: Consultation
) -> None:
    await team(client)
    token = await enter(client, ADMIN)

    async def post(path: str, **data: str) -> str:
        response = await client.post(path, data={"csrf": token, **data}, allow_redirects=False)
        assert response.status == 303, path
        return response.headers["Location"]

    assert "aviso=correo_invalido" in await post(
        "/panel/equipo/agregar", nombre="Lucía", correo="no es correo", rol="moderator"
    )
    assert "aviso=rol_invalido" in await post(
        "/panel/equipo/agregar", nombre="Lucía", correo="lucia@pachuca.gob.mx", rol="jefa"
    )
    assert "aviso=agregado" in await post(
        "/panel/equipo/agregar",
        nombre="Lucía Pérez",
        correo="Lucia@Pachuca.gob.mx",
        rol="moderator",
    )
    async with database(client).reading() as session:
        member = await staff.by_email(session, email="lucia@pachuca.gob.mx")
    assert member is not None and member.user_id < 0 and member.role == "moderator"
    roster = await (await client.get("/panel/equipo")).text()
    assert "lucia@pachuca.gob.mx" in roster and "solo panel web" in roster
    response = await client.post(f"/panel/equipo/{member.user_id}/enlace", data={"csrf": token})
    body = await response.text()
    link = re.search(r"http://testserver/panel/entrar/[A-Za-z0-9_-]+", body)
    assert response.status == 200 and link
    # She enters with it, and sees the moderation queue.
    client.session.cookie_jar.clear()
    assert (await client.get(link.group(0).removeprefix("http://testserver"))).status == 200
    assert (await client.get("/panel/moderar")).status == 200
    lucia = next(c for c in client.session.cookie_jar if c.key == "pmd_staff").value
    # The admin removes her: her open session is refused at once.
    token = await enter(client, ADMIN)
    assert "aviso=quitado" in await post(f"/panel/equipo/{member.user_id}/quitar")
    client.session.cookie_jar.clear()
    response = await client.get("/panel/moderar", headers={"Cookie": f"pmd_staff={lucia}"})
    assert response.status == 403
    token = await enter(client, ADMIN)
    assert "aviso=a_ti_mismo" in await post(f"/panel/equipo/{ADMIN}/quitar")
    actions = [a[1] for a in await audit_actions(client)]
    assert actions == ["staff.role", "staff.link", "staff.remove"]


async def test_an_admin_previews_sends_pauses_and_resumes_a_campaign(
    client: TestClient, consultation: Consultation
) -> None:
    await team(client)
    async with database(client).transaction() as session:
        await make_recipients(session, consultation, range(100, 140), gender="mujer")
        await make_recipients(session, consultation, range(200, 210), gender="hombre")
    token = await enter(client, ADMIN)
    form = await (await client.get("/panel/difusiones")).text()
    assert 'value="gender:mujer"' in form
    fields = {
        "csrf": token,
        "texto": "¡La consulta <sigue> abierta!",
        "boton": "Participa",
        "enlace": "https://pachuca.gob.mx/pmd",
        "audiencia": "gender:mujer",
    }
    bad = await client.post("/panel/difusiones/vista-previa", data={**fields, "enlace": "ftp://x"})
    assert bad.status == 422 and "https://" in await bad.text()
    preview = await client.post("/panel/difusiones/vista-previa", data=fields)
    body = await preview.text()
    assert preview.status == 200
    assert "¡La consulta &lt;sigue&gt; abierta!" in body and "Se enviará a 40 personas" in body
    async with database(client).reading() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 0
    sent = await client.post("/panel/difusiones/enviar", data=fields, allow_redirects=False)
    assert sent.status == 303
    location = sent.headers["Location"]
    campaign_id = int(location.rsplit("/", 1)[1])
    status = await (await client.get(location)).text()
    assert "campaign.js" in status and "Pausar" in status
    # The figures the page's script updates in place are elements, not escaped text.
    assert 'Avance: <span id="n-done">0</span> de <span id="n-total">40</span>' in status
    figures = await (await client.get(f"{location}/avance.json")).json()
    assert figures["status"] == "queued" and figures["total"] == 40
    for action, expected in (
        ("pausar", "paused"),
        ("reanudar", "queued"),
        ("cancelar", "cancelled"),
    ):
        response = await client.post(
            f"{location}/{action}", data={"csrf": token}, allow_redirects=False
        )
        assert response.status == 303
        assert (await (await client.get(f"{location}/avance.json")).json())["status"] == expected
    again = await client.post(f"{location}/reanudar", data={"csrf": token}, allow_redirects=False)
    assert "aviso=estado" in again.headers["Location"]
    async with database(client).reading() as session:
        campaign = await session.get(Campaign, campaign_id)
        deliveries = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign_id)
        )
    assert campaign is not None and campaign.created_by == ADMIN and deliveries == 40
    assert campaign.button_url == "https://pachuca.gob.mx/pmd"
    actions = [a[1] for a in await audit_actions(client)]
    assert actions == ["broadcast.queue", "broadcast.pause", "broadcast.resume", "broadcast.cancel"]
