"""A restart mid-flow loses nothing; a closed exercise refuses kindly but keeps the rest."""

from __future__ import annotations

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from tests.botapi import BotApiServer, press
from tests.e2e.citizens import (
    PROBLEM,
    PROPOSAL,
    STEP,
    UP_TO_PROBLEM,
    onboard_quickly,
    proposals_of,
)
from tests.e2e.harness import polling_bot
from tests.factories import closed_consultation

CHAT = 9201


async def test_a_new_bot_process_continues_where_the_citizen_was(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        chat = botapi.chat(CHAT)
        async with polling_bot(botapi, database, consultation) as first:
            await onboard_quickly(chat)
            await chat.run([*UP_TO_PROBLEM, (PROBLEM, "¿Qué propones?")], **STEP)
        assert not first.running
        # A brand-new application (another process, after a crash or a deploy).
        async with polling_bot(botapi, database, consultation) as second:
            assert second is not first
            replies = await chat.run(
                [(PROPOSAL, "2040"), (press("Omitir"), "Revisa tu propuesta")], **STEP
            )
            assert PROBLEM in (replies[-1][0].text or "")
            await chat.run([(press("Enviar"), "PMD23-")], **STEP)
        [proposal] = await proposals_of(database, CHAT)
        assert (proposal.problem, proposal.proposal) == (PROBLEM, PROPOSAL)
    finally:
        await database.dispose()


async def test_after_closing_no_proposals_or_votes_but_my_participation_works(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    try:
        chat = botapi.chat(CHAT)
        async with polling_bot(botapi, database, consultation):
            await onboard_quickly(chat)
            await chat.run(
                [
                    *UP_TO_PROBLEM,
                    (PROBLEM, "¿Qué propones?"),
                    (PROPOSAL, "2040"),
                    (press("Omitir"), "Revisa"),
                    (press("Enviar"), "PMD23-"),
                ],
                **STEP,
            )
        [proposal] = await proposals_of(database, CHAT)
        async with polling_bot(botapi, database, closed_consultation()):
            await chat.run(
                [
                    ("/menu", "¿Qué quieres hacer?"),
                    (press("Hacer una propuesta"), "ya cerró"),
                    (press("Votar propuestas"), "ya no se reciben propuestas ni votos"),
                    (press("Mi participación"), proposal.folio or "?"),
                ],
                **STEP,
            )
            texts = [m.text or "" for m in chat.messages()]
            assert "en revisión" in texts[-1]
        assert len(await proposals_of(database, CHAT)) == 1
    finally:
        await database.dispose()
