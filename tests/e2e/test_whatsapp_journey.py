"""The whole citizen journey on WhatsApp, over HTTP against the local Cloud API.

The product runs as ``pmd serve`` builds it (``create_app``), on SQLite and on
PostgreSQL; the local server delivers each citizen message to its webhook, signed,
and keeps what the phone shows.
"""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal, WhatsAppContact
from pmd_domain.services import proposals
from tests.e2e.citizens import PROBLEM, PROPOSAL, VISION
from tests.qr import qr_texts
from tests.waapi import WhatsAppCloudServer, press
from tests.waapi.hosting import serving
from web.keys import DATABASE

NUMBER = "5217711234567"
NAME = "María Fernanda Ortiz-Núñez"


async def test_the_whole_journey_on_whatsapp(
    waapi: WhatsAppCloudServer, database_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, database_url, consultation) as app, aiohttp.ClientSession() as http:
        phone = waapi.phone(NUMBER)
        await phone.run(
            [
                ("Hola", "Te damos la bienvenida"),
                (press("Acepto"), "Pregunta 1 de 4"),
                (press("Mujer"), "Pregunta 2 de 4"),
                (press("30 a 44 años"), "Pregunta 3 de 4"),
                (press("Estudiante"), "Pregunta 4 de 4"),
                ("42080", "¿Qué quieres hacer?"),
                (press("Hacer una propuesta"), "¿De qué eje es tu propuesta?"),
            ]
        )
        # Five pillars with long names: a list message, the whole name as the description.
        pillars = phone.last()
        assert pillars.kind == "list"
        assert len(pillars.rows) == 6  # and Cancelar
        assert all(len(title) <= 24 for _, title, _ in pillars.rows)
        await phone.run(
            [
                (press("2. Servicios públicos y desarrollo sostenible"), "¿De qué tema?"),
                (press("Alumbrado público"), "¿Cuál es el problema?"),
                (PROBLEM, "¿Qué propones?"),
                (PROPOSAL, "¿Cómo imaginas los servicios públicos"),
                (VISION, "Revisa tu propuesta:"),
                (press("Enviar"), "PMD23-"),
            ]
        )
        async with app[DATABASE].reading() as session:
            [proposal] = (await session.scalars(select(Proposal))).all()
            person = await session.scalar(select(Participant))
            assert person is not None
            assert person.channel == "whatsapp"
            assert person.assurance == "phone"
            # the number itself is never an identifier: a keyed hash, and sealed
            assert person.external_id is not None and NUMBER not in person.external_id
            contact = await session.scalar(select(WhatsAppContact))
            assert contact is not None and NUMBER not in contact.sealed_wa_id
        assert proposal.folio is not None
        assert any(proposal.folio in m.text for m in phone.messages[-3:])

        # Staff publish it; another citizen votes on it with buttons.
        async with app[DATABASE].transaction() as session:
            await proposals.moderate(
                session,
                consultation=consultation,
                proposal_id=proposal.id,
                decision="publish",
                staff_id=1,
                now=utcnow(),
            )
        voter = waapi.phone("5215512345678", name="Luis")
        await voter.run([("hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
        while "Prefiero no decir" in voter.choices():
            await voter.press("Prefiero no decir")
        await voter.run(
            [
                (press("Votar propuestas"), "¿Qué propuestas quieres ver?"),
                (press("Todos los ejes"), str(proposal.folio)),
            ]
        )
        # Apoyo · Saltar · Reportar · Menú: four choices, more than WhatsApp's three
        # reply buttons, so a list to tap.
        shown = voter.last()
        assert shown.kind == "list" and "👍 Apoyo" in shown.choices
        await voter.run([(press("👍 Apoyo"), "¡Gracias por tu apoyo!")])
        async with app[DATABASE].reading() as session:
            supported = await session.get(Proposal, proposal.id)
            assert supported is not None and supported.supports == 1

        # The certificate: a PDF document whose QR leads to the verification page.
        await phone.run(
            [("menu", "¿Qué quieres hacer?"), (press("Mi constancia"), "nombre completo")]
        )
        arrived = await phone.say(NAME)
        [document] = [m for m in arrived if m.kind == "document"]
        assert document.filename.endswith(".pdf") and document.document is not None
        [url] = qr_texts(document.document, dpi=150)
        async with http.get(url) as response:
            page = await response.text()
            assert response.status == 200
        assert "Constancia válida" in page
        assert NAME in page
