"""A citizen's whole journey on Telegram, read as a transcript; SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import ConversationState, Participant, Vote
from pmd_domain.services import proposals
from tests.botapi import BotApiServer, press
from tests.e2e.citizens import (
    ONBOARDING,
    PROBLEM,
    PROPOSAL,
    REST_OF_PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    VISION,
    count,
    onboard_quickly,
    participant,
    proposals_of,
)
from tests.e2e.harness import polling_bot

ANA, BETO = 9001, 9002


async def test_journey_from_a_campaign_link_to_a_support(
    botapi: BotApiServer, db: Database, consultation: Consultation
) -> None:
    async with polling_bot(botapi, db, consultation):
        ana = botapi.chat(ANA, first_name="Ana")
        replies = await ana.run(
            [*ONBOARDING, *UP_TO_PROBLEM, *REST_OF_PROPOSAL, (press("Enviar"), "folio PMD23-")],
            **STEP,
        )
        greeting = replies[0][0]
        assert "Leer el aviso completo" in greeting.buttons
        [sent] = replies[-1]
        assert sent.text is not None

        person = await participant(db, ANA)
        assert person is not None
        assert (person.source, person.gender, person.age_group, person.sector) == (
            "fb_alcalde",
            "mujer",
            "30_44",
            "estudiante",
        )
        assert person.postal_code == "42080"
        [mine] = await proposals_of(db, ANA)
        assert (mine.pillar, mine.topic, mine.status) == ("servicios", "alumbrado", "pending")
        assert (mine.problem, mine.proposal, mine.vision) == (PROBLEM, PROPOSAL, VISION)
        assert mine.folio is not None and mine.folio in sent.text

        # Staff publishes it; another citizen finds it and supports it.
        async with db.transaction() as session:
            await proposals.moderate(
                session,
                consultation=consultation,
                proposal_id=mine.id,
                decision="publish",
                staff_id=1,
                now=utcnow(),
            )
        beto = botapi.chat(BETO, first_name="Beto")
        await onboard_quickly(beto)
        await beto.run(
            [
                (press("Votar propuestas"), "¿Qué propuestas quieres ver?"),
                (press("Todos los ejes"), mine.folio),
                (press("👍 Apoyo"), "¡Gracias por tu apoyo!"),
            ],
            **STEP,
        )
        [supported] = await proposals_of(db, ANA)
        assert supported.supports == 1
        voter = await participant(db, BETO)
        assert voter is not None
        async with db.reading() as session:
            votes = list(await session.scalars(select(Vote)))
        assert [(v.participant_id, v.proposal_id) for v in votes] == [(voter.id, mine.id)]


async def test_refusing_consent_stores_nothing(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            await botapi.chat(ANA).run(
                [
                    ("/start tiktok", "¿Aceptas el aviso de privacidad"),
                    (press("No acepto"), "no guardamos nada"),
                    ("hola otra vez", "¿Aceptas el aviso de privacidad"),
                ],
                **STEP,
            )
        assert await count(database, Participant) == 0
        assert await count(database, ConversationState) == 0
    finally:
        await database.dispose()


async def test_the_same_journey_in_english(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        async with polling_bot(botapi, database, consultation):
            ana = botapi.chat(ANA, first_name="Ana")
            await onboard_quickly(ana)
            await ana.run(
                [
                    ("/idioma", "Elige tu idioma"),
                    (press("English"), "What would you like to do?"),
                    (press("Make a proposal"), "Which pillar"),
                    (press("2. Public services and sustainable development"), "Which topic"),
                    (press("Street lighting"), "What is the problem?"),
                    ("The street lights on my street have been off for months.", "What do you"),
                    ("Replace them with LED lamps and a number to report them.", "2040"),
                    (press("Skip"), "Check your proposal"),
                    (press("Send"), "PMD23-"),
                ],
                **STEP,
            )
            person = await participant(database, ANA)
            assert person is not None and person.language == "en"
            [mine] = await proposals_of(database, ANA)
            assert mine.vision is None
    finally:
        await database.dispose()
