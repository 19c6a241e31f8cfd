"""A step's Core statements and adopted rows behave as the ORM session's own would."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Participant
from pmd_domain.db.statements import adopt, execute
from pmd_domain.services import participants
from tests.domain.conversation.test_step_cost import statements_of

PARTICIPANTS = cast(Table, Participant.__table__)


async def _registered(db: Database, consultation: Consultation) -> int:
    async with db.transaction() as session:
        person = await participants.register(
            session, consultation=consultation, channel="telegram", external_id="42", now=utcnow()
        )
        return person.id


async def test_an_adopted_row_is_the_session_s_object_with_nothing_to_write(
    db: Database, consultation: Consultation
) -> None:
    person_id = await _registered(db, consultation)
    with statements_of(db) as sent:
        async with db.transaction() as session:
            row = (
                await execute(session, select(PARTICIPANTS).where(PARTICIPANTS.c.id == person_id))
            ).first()
            person = adopt(session, Participant, row)
            assert person.id == person_id and person.channel == "telegram"
            assert person.consent_at is not None and person.consent_at.tzinfo is not None
            # The same row adopted again, or loaded by the ORM, is the same object.
            assert adopt(session, Participant, row) is person
            assert await session.get(Participant, person_id) is person
    assert [s.split()[0] for s in sent] == ["SELECT"]  # nothing for the commit to write


async def test_a_change_to_an_adopted_object_is_written_at_the_commit(
    db: Database, consultation: Consultation
) -> None:
    person_id = await _registered(db, consultation)
    async with db.transaction() as session:
        row = (
            await execute(session, select(PARTICIPANTS).where(PARTICIPANTS.c.id == person_id))
        ).first()
        adopt(session, Participant, row).muted = True
    async with db.reading() as session:
        assert (await session.get(Participant, person_id)).muted is True  # type: ignore[union-attr]
