"""Campaign broadcasts in the domain: audience, snapshot, leases, batches, recovery."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Campaign, Delivery, Participant
from pmd_domain.errors import InvalidAudience, InvalidCampaign, WrongCampaignState
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import Audience, Batch, Outcome
from tests.factories import make_participant, make_proposal, make_recipients


def test_audience_specs_are_checked_against_the_consultation(consultation: Consultation) -> None:
    parse = broadcasts.parse_audience
    assert parse("all", consultation=consultation) == Audience("all")
    assert parse("pillar:servicios", consultation=consultation) == Audience("pillar", "servicios")
    assert parse("gender:mujer", consultation=consultation).value == "mujer"
    assert parse("source:fb_alcalde", consultation=consultation).spec == "source:fb_alcalde"
    assert parse("unfinished", consultation=consultation) == Audience("unfinished")
    for bad in ("todos", "pillar:luna", "gender:", "age_group:99", "postal_code:abc", "all:x"):
        with pytest.raises(InvalidAudience):
            parse(bad, consultation=consultation)


def test_content_fits_telegram() -> None:
    check = broadcasts.check_content
    check(text="Hola", photo=None, button_text="Participa", button_url="https://x.mx")
    with pytest.raises(InvalidCampaign):
        check(text="  ", photo=None, button_text=None, button_url=None)
    with pytest.raises(InvalidCampaign):
        check(text="x" * 1025, photo="file-id", button_text=None, button_url=None)
    with pytest.raises(InvalidCampaign):
        check(text="Hola", photo=None, button_text="Participa", button_url=None)
    with pytest.raises(InvalidCampaign):
        check(text="Hola", photo=None, button_text="Ir", button_url="javascript:alert(1)")


async def _campaign(db: Database, consultation: Consultation, chats: range) -> int:
    """Participants for ``chats`` and a campaign to all of them, confirmed."""
    async with db.transaction() as session:
        await make_recipients(session, consultation, chats)
        campaign = await broadcasts.create(
            session,
            consultation=consultation,
            text="¡Participa!",
            audience=Audience(),
            now=utcnow(),
        )
        await broadcasts.confirm(session, campaign_id=campaign.id, now=utcnow())
        return campaign.id


def sent(batch: Batch) -> list[Outcome]:
    """Every recipient of ``batch`` reached."""
    return [Outcome(r.delivery_id, r.participant_id, "sent") for r in batch.recipients]


async def drain(
    db: Database, *, owner: str, now: datetime, outcomes: list[Outcome] | None = None
) -> list[int]:
    """Take batches as ``owner`` until the campaign is done, all sent; the chats, in order."""
    chats: list[int] = []
    while True:
        async with db.transaction() as session:
            batch = await broadcasts.next_batch(
                session, owner=owner, limit=10, now=now, outcomes=outcomes or []
            )
        assert batch is not None
        if not batch.recipients:
            assert batch.campaign.status == "done"
            return chats
        chats += [int(r.chat_id) for r in batch.recipients]
        outcomes = sent(batch)


async def test_audiences_select_the_right_citizens(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        ana = await make_participant(session, consultation, gender="mujer", source="fb_alcalde")
        beto = await make_participant(session, consultation, gender="hombre")
        await make_participant(session, consultation, channel="web", gender="mujer")
        await make_proposal(session, consultation, beto, pillar="seguridad", topic="prevencion")

    async def size(spec: str) -> int:
        async with db.reading() as session:
            audience = broadcasts.parse_audience(spec, consultation=consultation)
            return (await broadcasts.count_audience(session, audience=audience)).matching

    assert await size("all") == 2  # the browser-chat citizen cannot be messaged
    assert await size("gender:mujer") == 1
    assert await size("source:fb_alcalde") == 1
    assert await size("pillar:seguridad") == 1
    assert await size("pillar:bienestar") == 0
    assert await size("unfinished") == 1
    async with db.reading() as session:
        assert await broadcasts.sources(session) == ["fb_alcalde"]
    del ana


async def test_confirm_snapshots_once_and_a_draft_is_confirmed_once(
    db: Database, consultation: Consultation
) -> None:
    campaign_id = await _campaign(db, consultation, range(1, 51))
    async with db.transaction() as session:
        with pytest.raises(WrongCampaignState):
            await broadcasts.confirm(session, campaign_id=campaign_id, now=utcnow())
    async with db.reading() as session:
        progress = await broadcasts.progress(session, campaign_id=campaign_id)
    assert progress.status == "queued"
    assert progress.total == progress["pending"] == 50


async def test_one_sender_at_a_time_and_everyone_settled(
    db: Database, consultation: Consultation
) -> None:
    campaign_id = await _campaign(db, consultation, range(1, 29))
    async with db.transaction() as session:  # three mute campaign messages after the snapshot
        await session.execute(
            update(Participant)
            .where(Participant.external_id.in_(["26", "27", "28"]))
            .values(muted=True)
        )
    now = utcnow()
    async with db.transaction() as session:
        first = await broadcasts.next_batch(session, owner="a", limit=10, now=now)
    async with db.transaction() as session:
        other = await broadcasts.next_batch(session, owner="b", limit=10, now=now)
    assert first is not None and len(first.recipients) == 10
    assert other is None  # "a" holds the lease
    async with db.reading() as session:
        assert await broadcasts.anything_to_do(session, owner="b")
    outcomes = sent(first)
    outcomes[0] = Outcome(outcomes[0].delivery_id, outcomes[0].participant_id, "blocked")
    seen = [int(r.chat_id) for r in first.recipients]
    seen += await drain(db, owner="a", now=utcnow(), outcomes=outcomes)
    assert sorted(seen) == list(range(1, 26))
    async with db.reading() as session:  # an idle sender needs no write transaction
        assert not await broadcasts.anything_to_do(
            session, owner="a"
        )  # each once; the muted ones never
    async with db.reading() as session:
        progress = await broadcasts.progress(session, campaign_id=campaign_id)
        unreachable = await session.scalar(
            select(Participant.external_id).where(Participant.reachable.is_(False))
        )
        campaign = await session.get(Campaign, campaign_id)
    assert progress.counts == {"sent": 24, "blocked": 1, "skipped": 3}
    assert unreachable == str(first.recipients[0].chat_id)
    assert campaign is not None and campaign.lock_owner is None and campaign.finished_at


async def test_a_crashed_sender_s_batch_is_never_sent_again(
    db: Database, consultation: Consultation
) -> None:
    campaign_id = await _campaign(db, consultation, range(1, 31))
    now = utcnow()
    async with db.transaction() as session:
        crashed = await broadcasts.next_batch(session, owner="dead", limit=10, now=now)
    assert crashed is not None
    async with db.transaction() as session:  # before the lease runs out: nothing
        assert await broadcasts.next_batch(session, owner="new", limit=10, now=now) is None
    later = now + broadcasts.LEASE + timedelta(seconds=1)
    taken = await drain(db, owner="new", now=later)
    in_flight = {int(r.chat_id) for r in crashed.recipients}
    assert sorted(taken) == sorted(set(range(1, 31)) - in_flight)
    async with db.reading() as session:
        rows = (
            await session.execute(
                select(Delivery.status, Delivery.error).where(Delivery.campaign_id == campaign_id)
            )
        ).all()
    assert sorted(set(rows)) == [("failed", broadcasts.INTERRUPTED), ("sent", None)]


async def test_pause_resume_cancel(db: Database, consultation: Consultation) -> None:
    campaign_id = await _campaign(db, consultation, range(1, 21))
    async with db.transaction() as session:
        batch = await broadcasts.next_batch(session, owner="a", limit=5, now=utcnow())
        assert batch is not None
        await broadcasts.pause(session, campaign_id=campaign_id)
    outcomes = sent(batch)
    async with db.transaction() as session:
        # The batch in flight is recorded; nothing more is handed out while paused.
        assert (
            await broadcasts.next_batch(
                session, owner="a", limit=5, now=utcnow(), outcomes=outcomes
            )
            is None
        )
        paused = await broadcasts.progress(session, campaign_id=campaign_id)
        with pytest.raises(WrongCampaignState):
            await broadcasts.pause(session, campaign_id=campaign_id)
    assert paused.status == "paused" and paused["sent"] == 5 and paused["pending"] == 15
    async with db.transaction() as session:
        await broadcasts.resume(session, campaign_id=campaign_id)
        again = await broadcasts.next_batch(session, owner="b", limit=5, now=utcnow())
        assert again is not None and len(again.recipients) == 5
        await broadcasts.cancel(session, campaign_id=campaign_id, now=utcnow())
    async with db.transaction() as session:
        assert await broadcasts.next_batch(session, owner="b", limit=5, now=utcnow()) is None
        assert not await broadcasts.renew(session, campaign_id=campaign_id, owner="b", now=utcnow())
        campaign = await session.get(Campaign, campaign_id)
    assert campaign is not None and campaign.status == "cancelled"


async def test_citizens_who_opt_out_after_the_snapshot_are_skipped(
    db: Database, consultation: Consultation
) -> None:
    campaign_id = await _campaign(db, consultation, range(1, 6))
    async with db.transaction() as session:
        await session.execute(
            update(Participant).where(Participant.external_id == "3").values(muted=True)
        )
        batch = await broadcasts.next_batch(session, owner="a", limit=10, now=utcnow())
    assert batch is not None
    assert [int(r.chat_id) for r in batch.recipients] == [1, 2, 4, 5]
    async with db.reading() as session:
        progress = await broadcasts.progress(session, campaign_id=campaign_id)
    assert progress.counts == {"sending": 4, "skipped": 1}


@pytest.mark.parametrize(
    ("text", "photo", "problem"),
    [
        ("\x01\x02 \u200b", None, "empty"),
        ("Hola", "ftp://imagenes.example.mx/a.png", "photo"),
        ("Hola", "http://imagenes.example.mx/a.png", "photo"),
    ],
)
def test_content_that_could_not_go_out_as_written_is_refused(
    text: str, photo: str | None, problem: str
) -> None:
    with pytest.raises(InvalidCampaign) as refused:
        broadcasts.check_content(text=text, photo=photo, button_text=None, button_url=None)
    assert refused.value.params["problem"] == problem
    broadcasts.check_content(
        text="Hola", photo="AgACAgQAAxkBAAI", button_text=None, button_url=None
    )
