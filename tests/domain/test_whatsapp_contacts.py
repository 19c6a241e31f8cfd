"""WhatsApp chats in the database: the sealed number, the window, erasure (both databases)."""

from __future__ import annotations

from datetime import timedelta

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation.types import Button, Reply
from pmd_domain.db import Database
from pmd_domain.sealing import Sealer
from pmd_domain.services import broadcasts, erasure, outbox, whatsapp_contacts
from tests.factories import make_participant

SECRET = "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV"
CHAT = "9f" * 32  # a keyed hash, as the channel stores it


async def test_the_number_is_sealed_and_the_window_follows_the_last_message(
    db: Database, consultation: Consultation
) -> None:
    sealer = Sealer(SECRET, "whatsapp")
    sealed = sealer.seal("5217711234567")
    assert "5217711234567" not in sealed and sealer.seal("5217711234567") != sealed
    assert Sealer("another-secret-of-32-characters-x", "whatsapp").open(sealed) is None
    then = utcnow() - timedelta(days=2)
    async with db.transaction() as session:
        await whatsapp_contacts.seen(session, external_id=CHAT, sealed_wa_id=sealed, now=then)
    async with db.reading() as session:
        contact = await whatsapp_contacts.lookup(session, external_id=CHAT)
    assert contact is not None and sealer.open(contact.sealed_wa_id) == "5217711234567"
    assert not whatsapp_contacts.within_window(contact.last_inbound_at, utcnow())
    now = utcnow()
    async with db.transaction() as session:  # the citizen writes again: an update, one row
        await whatsapp_contacts.seen(session, external_id=CHAT, sealed_wa_id=sealed, now=now)
    async with db.reading() as session:
        times = await whatsapp_contacts.last_inbound(session, external_ids=[CHAT, "other"])
    assert list(times) == [CHAT]
    assert whatsapp_contacts.within_window(times[CHAT], utcnow())


async def test_typed_answers_are_matched_against_the_last_choices_offered(db: Database) -> None:
    choices = (Button("Mujer", "3:g:mujer"), Button("Hombre", "3:g:hombre"))
    async with db.transaction() as session:
        for replies in (
            (Reply(text="Pregunta 1", buttons=(choices,)),),
            (Reply(text="Gracias"), Reply(text="Pregunta 2", buttons=((choices[1],),))),
        ):
            await outbox.store(
                session,
                channel="whatsapp",
                external_id=CHAT,
                update_id=None,
                edit_target=None,
                replies=replies,
                now=utcnow(),
            )
    async with db.reading() as session:
        assert await whatsapp_contacts.latest_choices(session, external_id=CHAT) == (choices[1],)
        assert await whatsapp_contacts.latest_choices(session, external_id="nobody") == ()


async def test_campaigns_reach_whatsapp_citizens_and_erasure_forgets_the_number(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        person = await make_participant(session, consultation, channel="whatsapp", external_id=CHAT)
        await make_participant(session, consultation, external_id="4242")
        await whatsapp_contacts.seen(session, external_id=CHAT, sealed_wa_id="x", now=now)
        size = await broadcasts.count_audience(session, audience=broadcasts.Audience())
        assert size.matching == 2
        campaign = await broadcasts.create(
            session, consultation=consultation, text="Foro", audience=broadcasts.Audience(), now=now
        )
        await broadcasts.confirm(session, campaign_id=campaign.id, now=now)
    async with db.transaction() as session:
        batch = await broadcasts.next_batch(session, owner="a", limit=10, now=now)
    assert batch is not None
    assert sorted((r.channel, r.chat_id) for r in batch.recipients) == [
        ("telegram", "4242"),
        ("whatsapp", CHAT),
    ]
    async with db.transaction() as session:
        await erasure.erase(session, consultation=consultation, participant_id=person.id, now=now)
    async with db.reading() as session:
        assert await whatsapp_contacts.lookup(session, external_id=CHAT) is None
