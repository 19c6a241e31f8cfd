"""A step's replies are stored in the outbox with the step, and found again.

The outbox is what makes a reply survive a crash or a channel that falters: the
row commits with the step (or not at all), a sender claims it, a repeated update
re-sends it unless it is known delivered, the browser chat fetches it again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Button, Document, Inbound, Reply
from pmd_domain.db import Database
from pmd_domain.db.models import OutboxStep, ProcessedUpdate
from pmd_domain.services import outbox
from tests.domain.conversation.chat import Chat, new_conversation
from tests.domain.conversation.conftest import onboard


async def _rows(db: Database) -> list[OutboxStep]:
    async with db.reading() as session:
        return list(await session.scalars(select(OutboxStep).order_by(OutboxStep.id)))


async def test_the_replies_of_a_step_are_stored_with_it(db: Database, chat: Chat) -> None:
    await chat.start("fb_alcalde")
    [row] = await _rows(db)
    assert (row.channel, row.external_id, row.status) == ("telegram", "555", "pending")
    assert outbox.decode(row) == chat.last
    assert row.update_id is not None and row.lease_until is not None
    assert row.lease_until > row.created_at  # the process that stored it sends it first


async def test_a_step_that_is_rolled_back_leaves_no_reply_behind(
    db: Database, consultation: Consultation
) -> None:
    conversation = new_conversation(consultation)

    class Boom(Exception):
        pass

    async def step_then_fail() -> None:
        async with db.transaction() as session:
            await conversation.handle(
                session,
                channel="telegram",
                external_id="555",
                inbound=Inbound(kind="start", update_id="u-1"),
                now=utcnow(),
            )
            raise Boom

    with pytest.raises(Boom):
        await step_then_fail()
    assert await _rows(db) == []
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_a_repeated_update_resends_replies_unless_someone_is_on_them(
    db: Database, chat: Chat
) -> None:
    await onboard(chat)
    inbound = Inbound(kind="command", command="ayuda", update_id="repeat-1")
    first = await chat.send(inbound)
    assert first.outgoing is not None and first.outgoing.id is not None
    # While the process that stored them is sending them, a repeat sends nothing ...
    again = await chat.send(inbound)
    assert again.duplicate and again.outgoing is None and again.replies == ()
    # ... once its lease has passed (that process died), the repeat takes them over.
    chat.now = utcnow() + outbox.LEASE + timedelta(seconds=1)
    later = await chat.send(inbound)
    assert later.duplicate and later.outgoing is not None
    assert later.outgoing.id == first.outgoing.id
    assert later.replies == first.replies
    # Taken over: a second repeat at the same moment finds it taken.
    assert (await chat.send(inbound)).outgoing is None
    # Delivered: nothing to send again, ever.
    async with db.transaction() as session:
        await outbox.mark_sent(session, ids=[first.outgoing.id], channel="telegram", now=utcnow())
    chat.now = utcnow() + 10 * outbox.LEASE
    assert (await chat.send(inbound)).outgoing is None


async def test_the_browser_chat_gets_its_replies_again_on_a_repeat(
    db: Database, consultation: Consultation
) -> None:
    chat = Chat(db, new_conversation(consultation), channel="web", external_id="abc")
    inbound = Inbound(kind="start", update_id="web-1")
    first = await chat.send(inbound)
    [row] = await _rows(db)
    assert row.status == "sent"  # the answer to the request carries them
    again = await chat.send(inbound)
    assert again.duplicate and again.replies == first.replies
    assert again.outgoing is not None and again.outgoing.id == row.id


async def test_the_browser_chat_reads_its_replies_since_a_message(
    db: Database, consultation: Consultation
) -> None:
    chat = Chat(db, new_conversation(consultation), channel="web", external_id="abc")
    other = Chat(db, new_conversation(consultation), channel="web", external_id="xyz")
    await chat.start()
    await other.start()
    await chat.press("Acepto")
    async with db.reading() as session:
        everything = await outbox.since(session, channel="web", external_id="abc", after=0)
        assert [s.replies for s in everything] == [*chat.history[1:], chat.last]
        later = await outbox.since(
            session, channel="web", external_id="abc", after=everything[0].id or 0
        )
    assert [s.replies for s in later] == [chat.last]


def test_a_reply_comes_back_from_its_row_as_it_went_in() -> None:
    replies = (
        Reply("Elige:", buttons=((Button("Uno", "1:a"), Button("Aviso", url="https://x.mx")),)),
        Reply("Listo", edit=True, notice="¡Hecho!"),
        Reply(
            "Tu constancia",
            document=Document("c.pdf", b"%PDF-1.4 \x00\xff", "application/pdf", "Aquí"),
        ),
    )
    row = OutboxStep(**outbox.encode(replies))
    assert outbox.decode(row) == replies


async def test_a_sender_claims_what_nobody_is_sending(db: Database, chat: Chat) -> None:
    await chat.start()
    await chat.press("Acepto")
    now = utcnow()
    async with db.transaction() as session:
        # Still leased to the process that stored them.
        assert await outbox.claim(session, channel="telegram", now=now) == []
    later = now + outbox.LEASE + timedelta(seconds=1)
    async with db.transaction() as session:
        claimed = await outbox.claim(session, channel="telegram", now=later)
    assert [c.replies for c in claimed] == [*chat.history[1:], chat.last]
    async with db.transaction() as session:
        assert await outbox.claim(session, channel="telegram", now=later) == []
    # A process that starts polling adopts every unsent row at once.
    async with db.transaction() as session:
        adopted = await outbox.claim(session, channel="telegram", now=later, adopt=True)
    assert [a.id for a in adopted] == [c.id for c in claimed]


async def test_a_sender_records_progress_and_gives_up_with_the_reason(
    db: Database, chat: Chat
) -> None:
    await chat.start()
    [row] = await _rows(db)
    now = utcnow()
    async with db.transaction() as session:
        await outbox.postpone(
            session, outbox_id=row.id, progress=1, error="NetworkError", until=now
        )
    [row] = await _rows(db)
    assert (row.progress, row.attempts, row.error, row.status) == (1, 1, "NetworkError", "pending")
    async with db.transaction() as session:
        await outbox.give_up(session, ids=[row.id], reason="Forbidden", now=now)
    [row] = await _rows(db)
    assert (row.status, row.error) == ("failed", "Forbidden")


async def test_old_rows_are_pruned_and_stale_ones_expire(db: Database, chat: Chat) -> None:
    await chat.start()
    await chat.press("Acepto")
    first, second = await _rows(db)
    async with db.transaction() as session:
        await outbox.mark_sent(session, ids=[first.id], channel="telegram", now=utcnow())
    async with db.transaction() as session:
        assert await outbox.prune(session, now=utcnow()) == 0
    async with db.transaction() as session:
        removed = await outbox.prune(session, now=utcnow() + outbox.KEPT + timedelta(hours=1))
    assert removed == 1
    [left] = await _rows(db)
    assert (left.id, left.status, left.error) == (second.id, "failed", "expired")


async def test_erasing_ones_data_erases_the_replies_kept_for_the_chat(
    db: Database, chat: Chat
) -> None:
    await onboard(chat)
    await chat.press("Mis datos")
    await chat.press("Borrar mis datos")
    [erased] = await chat.press("Sí, borrar todo")
    # Only the confirmation of the erasure is left, to be delivered.
    [row] = await _rows(db)
    assert [r.text for r in outbox.decode(row)] == [erased]


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
async def test_a_delivered_reply_keeps_its_words_only_where_they_are_read_again(
    db: Database, consultation: Consultation, channel: str
) -> None:
    chat = Chat(db, new_conversation(consultation), channel=channel, external_id="chat-1")
    await chat.start()
    [row] = await _rows(db)
    assert row.replies  # pending: the words wait to go out
    async with db.transaction() as session:
        await outbox.mark_sent(session, ids=[row.id], channel=channel, now=utcnow())
    [row] = await _rows(db)
    assert row.status == "sent"
    if channel == "whatsapp":  # a typed "1" is matched against the choices last sent
        assert outbox.decode(row) == chat.last
    else:  # nothing reads them again: no copy of what a chat was told stays behind
        assert (row.replies, row.document) == ([], None)
