"""Staff flows are screens of the conversation's machine, their state versioned like a citizen's.

Driven through ``StaffConversation`` against a real database (SQLite and PostgreSQL):
each step reads the state the last one stored, with its version, and writes the next
one in its own transaction; two steps that read the same version cannot both win.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation.staff import StaffConversation, StaffOutcome
from pmd_domain.conversation.types import Inbound, Reply
from pmd_domain.db import Database
from pmd_domain.db.models import Campaign, Proposal, StaffDraft
from pmd_domain.i18n import Catalogs
from pmd_domain.services import staff_drafts
from pmd_domain.services.staff_drafts import DraftConflict
from tests.domain.conversation.chat import FixedLinks, new_conversation
from tests.factories import (
    last_evening,
    make_participant,
    make_proposal,
    make_recipients,
    spanish_day,
)

ADMIN, MODERATOR = 7501, 7502


def staff_conversation(consultation: Consultation) -> StaffConversation:
    return StaffConversation(
        consultation=consultation,
        catalogs=Catalogs.load(),
        links=FixedLinks(),
        admin_ids=[ADMIN],
    )


class StaffChat:
    """One staff member's chat with the staff flows: say things, press buttons."""

    def __init__(self, database: Database, flows: StaffConversation, user_id: int = ADMIN):
        self.database, self.flows, self.user_id = database, flows, user_id
        self.replies: tuple[Reply, ...] = ()
        self.now = utcnow()

    async def send(self, inbound: Inbound, *, now: datetime | None = None) -> StaffOutcome | None:
        moment = now or self.now
        async with self.database.transaction() as session:
            outcome = await self.flows.handle(
                session, user_id=self.user_id, chat_id=self.user_id, inbound=inbound, now=moment
            )
        if outcome is not None:
            self.replies = outcome.replies
        return outcome

    async def say(self, words: str) -> StaffOutcome | None:
        if words.startswith("/"):
            return await self.send(Inbound(kind="command", command=words[1:]))
        return await self.send(Inbound(kind="text", text=words))

    def data_of(self, label: str) -> str:
        return next(
            b.data for r in self.replies for row in r.buttons for b in row if label in b.label
        )

    async def press(self, label: str) -> StaffOutcome | None:
        return await self.send(Inbound(kind="button", data=self.data_of(label), message_ref="77"))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)


async def stored(database: Database, user_id: int = ADMIN) -> StaffDraft | None:
    async with database.reading() as session:
        return await staff_drafts.get(session, user_id=user_id)


async def test_each_step_reads_the_state_the_last_one_wrote_with_its_version(
    db: Database, consultation: Consultation
) -> None:
    chat = StaffChat(db, staff_conversation(consultation))
    await chat.say("/difundir")
    first = await stored(db)
    assert first is not None and (first.kind, first.version) == ("bc.text", 0)
    await chat.say("Mañana cierra la consulta.")
    second = await stored(db)
    assert second is not None and (second.kind, second.version) == ("bc.button", 1)
    assert second.data["text"] == "Mañana cierra la consulta."
    # The button on display carries the token of the screen that drew it, stored with it.
    assert chat.data_of("Sin botón").split(":")[0] == second.data["_s"]
    await chat.press("Sin botón")
    third = await stored(db)
    assert third is not None and (third.kind, third.version) == ("bc.audience", 2)
    assert third.data["text"] == "Mañana cierra la consulta." and third.data["button_url"] is None


async def test_a_step_on_a_state_another_step_moved_loses_and_changes_nothing(
    db: Database, consultation: Consultation
) -> None:
    chat = StaffChat(db, staff_conversation(consultation))
    await chat.say("/difundir")
    await chat.say("Primer aviso")
    async with db.transaction() as session:
        draft = await staff_drafts.get(session, user_id=ADMIN)
        assert draft is not None
        read = staff_drafts.data_of(draft)
    # Another process's step is stored first ...
    await chat.press("Sin botón")
    # ... so one that read the earlier version changes nothing.
    with pytest.raises(DraftConflict):
        async with db.transaction() as session:
            await staff_drafts.put(
                session,
                user_id=ADMIN,
                kind="bc.button",
                data={**read, "text": "Otro"},
                now=utcnow(),
            )
    after = await stored(db)
    assert after is not None and (after.kind, after.version, after.data["text"]) == (
        "bc.audience",
        2,
        "Primer aviso",
    )


async def test_a_rejection_takes_its_typed_reason_for_thirty_minutes_only(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation, external_id="75100")
        waiting = await make_proposal(session, consultation, author, publish=False)
    flows = staff_conversation(consultation)
    chat = StaffChat(db, flows)
    await chat.say("/moderar")
    await chat.press("Rechazar")
    assert f"¿Por qué rechazas {waiting.folio}?" in chat.text
    reason = Inbound(kind="text", text="No es un asunto del municipio.")
    async with db.reading() as session:
        assert await flows.takes(session, user_id=ADMIN, inbound=reason, now=chat.now)
        later = chat.now + timedelta(minutes=31)
        assert not await flows.takes(session, user_id=ADMIN, inbound=reason, now=later)
    # Half an hour later the text is not the rejection's (the citizen flow gets it).
    assert await chat.send(reason, now=chat.now + timedelta(minutes=31)) is None
    async with db.reading() as session:
        assert (await session.get(Proposal, waiting.id)).status == "pending"  # type: ignore[union-attr]
    # The screen's buttons still work: a quick reason rejects it.
    quick = Inbound(kind="button", data=chat.data_of("No trata de un asunto"), message_ref="77")
    outcome = await chat.send(quick, now=chat.now + timedelta(minutes=31))
    assert outcome is not None and f"{waiting.folio} rechazada" in chat.text
    async with db.reading() as session:
        assert (await session.get(Proposal, waiting.id)).status == "rejected"  # type: ignore[union-attr]


async def test_the_moderation_card_dates_a_proposal_on_the_exercise_s_calendar(
    db: Database, consultation: Consultation
) -> None:
    # 03:00 UTC is 21:00 of the day before in Pachuca: the card says the day there.
    evening = last_evening()
    async with db.transaction() as session:
        author = await make_participant(session, consultation, external_id="75100")
        waiting = await make_proposal(session, consultation, author, publish=False, now=evening)
    chat = StaffChat(db, staff_conversation(consultation))
    await chat.say("/moderar")
    day = evening.astimezone(ZoneInfo(consultation.exercise.timezone)).date()
    assert day != evening.date()
    assert f"Folio: {waiting.folio} ({spanish_day(day)})" in chat.text


async def test_a_staff_button_of_an_earlier_screen_draws_the_screen_on_display(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation, external_id="75101")
        waiting = await make_proposal(session, consultation, author, publish=False)
    chat = StaffChat(db, staff_conversation(consultation))
    await chat.say("/moderar")
    publish = chat.data_of("Publicar")
    await chat.press("Rechazar")
    outcome = await chat.send(Inbound(kind="button", data=publish, message_ref="77"))
    assert outcome is not None
    [reply] = outcome.replies
    assert reply.text.startswith("Ese botón es de un mensaje anterior. Sigamos aquí:")
    assert f"¿Por qué rechazas {waiting.folio}?" in reply.text
    assert reply.notice == "Ese botón ya no está activo."
    async with db.reading() as session:
        assert (await session.get(Proposal, waiting.id)).status == "pending"  # type: ignore[union-attr]


async def test_a_non_member_s_input_is_not_the_staff_s(
    db: Database, consultation: Consultation
) -> None:
    chat = StaffChat(db, staff_conversation(consultation), user_id=75_999)
    assert await chat.say("/difundir") is None
    assert await chat.say("/moderar") is None
    assert await chat.send(Inbound(kind="button", data="s1.abc:p")) is None
    assert await stored(db, 75_999) is None


async def test_enviar_pressed_again_after_the_campaign_went_out_sends_nothing_more(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        await make_recipients(session, consultation, range(75_200, 75_203))
    chat = StaffChat(db, staff_conversation(consultation))
    for step in ("/difundir", "Mañana cierra la consulta."):
        await chat.say(step)
    await chat.press("Sin botón")
    await chat.press("Todas las personas")
    send = chat.data_of("Enviar")
    outcome = await chat.press("Enviar")
    assert outcome is not None and outcome.queued
    again = await chat.send(Inbound(kind="button", data=send, message_ref="77"))
    assert again is not None and not again.queued
    assert again.replies[0].notice == "Ese botón ya no está activo."
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 1
    assert await stored(db) is None


@pytest.mark.postgres
async def test_two_steps_that_read_one_version_the_second_writer_loses(
    postgres_url: str, consultation: Consultation
) -> None:
    """Two processes take two presses of Enviar at once: one campaign, the other rolls back."""
    db = Database(postgres_url)
    try:
        async with db.transaction() as session:
            await make_recipients(session, consultation, range(75_300, 75_303))
        flows = staff_conversation(consultation)
        chat = StaffChat(db, flows)
        for step in ("/difundir", "Mañana cierra la consulta."):
            await chat.say(step)
        await chat.press("Sin botón")
        await chat.press("Todas las personas")
        send = Inbound(kind="button", data=chat.data_of("Enviar"), message_ref="77")

        async def press() -> StaffOutcome | None:
            async with db.transaction() as session:
                return await flows.handle(
                    session, user_id=ADMIN, chat_id=ADMIN, inbound=send, now=utcnow()
                )

        async with db.transaction() as first:
            won = await flows.handle(
                first, user_id=ADMIN, chat_id=ADMIN, inbound=send, now=utcnow()
            )
            # The second press reads the same version (the first has not committed) and
            # waits for the first one's row lock when it writes.
            second = asyncio.create_task(press())
            while not await _someone_waits_for_a_lock(db):
                assert not second.done(), second
                await asyncio.sleep(0.02)
        assert won is not None and won.queued
        with pytest.raises(DraftConflict):
            await second
        async with db.reading() as session:
            assert await session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert await stored(db) is None
    finally:
        await db.dispose()


async def _someone_waits_for_a_lock(db: Database) -> bool:
    async with db.reading() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
    return bool(waiting)


async def test_a_redelivered_update_is_handled_once_and_never_by_the_citizen_conversation(
    db: Database, consultation: Consultation
) -> None:
    # Telegram delivers an update again when its answer was lost: the staff step it
    # made must not run twice, nor may the citizen conversation take it instead (the
    # member's reason stored as their own proposal's text, say).
    chat = StaffChat(db, staff_conversation(consultation))
    await chat.say("/difundir")
    typed = Inbound(kind="text", text="Mañana cierra la consulta.", update_id="9001")
    first = await chat.send(typed)
    assert first is not None and first.replies
    again = await chat.send(typed)
    assert again is not None and again.replies == ()
    draft = await stored(db)
    assert draft is not None and (draft.kind, draft.version) == ("bc.button", 1)
    async with db.transaction() as session:
        outcome = await new_conversation(consultation).handle(
            session, channel="telegram", external_id=str(ADMIN), inbound=typed, now=utcnow()
        )
    assert outcome.duplicate and outcome.replies == ()
