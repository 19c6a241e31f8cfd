"""Domain services on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate, ConversationState, Participant, Proposal
from pmd_domain.errors import (
    AlreadyJudged,
    Erased,
    ExerciseClosed,
    InvalidChoice,
    LimitReached,
    NotPublished,
    OwnProposal,
    TextNotReadable,
    TextTooLong,
    TextTooShort,
)
from pmd_domain.publication import HIDDEN
from pmd_domain.services import (
    counters,
    disclosure,
    erasure,
    participants,
    proposals,
    sources,
    stats,
    votes,
)
from tests.factories import (
    closed_consultation,
    make_participant,
    make_proposal,
    report_proposal,
)


async def test_register_records_consent_once_per_chat(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        first = await participants.register(
            session,
            consultation=consultation,
            channel="telegram",
            external_id="42",
            now=now,
            source="FB_Alcalde",
        )
        again = await participants.register(
            session,
            consultation=consultation,
            channel="telegram",
            external_id="42",
            now=now,
        )
    assert first.id == again.id
    assert first.source == "fb_alcalde"
    assert first.notice_version == consultation.privacy.version
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 1


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        ("<script>", "otra"),
        ("vota_por_fulano_2027", "otra"),
        ("FB_Alcalde", "fb_alcalde"),
        ("", None),
    ],
)
async def test_only_listed_sources_are_recorded(
    db: Database, consultation: Consultation, payload: str, stored: str | None
) -> None:
    async with db.transaction() as session:
        person = await participants.register(
            session,
            consultation=consultation,
            channel="telegram",
            external_id="7",
            now=utcnow(),
            source=payload,
        )
    assert person.source == stored


async def test_erasure_takes_the_person_out_of_every_counter(
    db: Database, consultation: Consultation
) -> None:
    privacy = consultation.privacy.model_copy(update={"keep_anonymous_proposals": False})
    consultation = consultation.model_copy(update={"privacy": privacy})
    async with db.transaction() as session:
        before = await stats.counters(session)
        other = await make_participant(session, consultation, gender="hombre")
        theirs = await make_proposal(
            session, consultation, other, pillar="gobierno", topic="tramites"
        )
        middle = await stats.counters(session)
        person = await make_participant(
            session, consultation, gender="mujer", age_group="18_29", sector="hogar", source="radio"
        )
        mine = await make_proposal(session, consultation, person)
        for proposal, voter in ((theirs.id, person), (mine.id, other)):
            await votes.judge(
                session,
                consultation=consultation,
                participant=voter,
                proposal_id=proposal,
                verdict="support",
                now=utcnow(),
            )
        await erasure.erase(
            session, consultation=consultation, participant_id=person.id, now=utcnow()
        )
        after = await stats.counters(session)
        supported = await session.get(Proposal, theirs.id, populate_existing=True)
        assert supported is not None and supported.supports == 0
    assert before != middle
    for key in set(middle) | set(after):
        if key[0] == "changes":
            continue
        kept = {b: v for b, v in after.get(key, {}).items() if v}
        assert kept == {b: v for b, v in middle.get(key, {}).items() if v}, key


async def test_demographics_are_validated_and_skippable(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=person,
            question="gender",
            answer="mujer",
            now=utcnow(),
        )
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=person,
            question="postal_code",
            answer=" 42080 ",
            now=utcnow(),
        )
        await participants.record_answer(
            session,
            consultation=consultation,
            participant=person,
            question="sector",
            answer=None,
            now=utcnow(),
        )
        with pytest.raises(InvalidChoice):
            await participants.record_answer(
                session,
                consultation=consultation,
                participant=person,
                question="gender",
                answer="marciano",
                now=utcnow(),
            )
        with pytest.raises(InvalidChoice):
            await participants.record_answer(
                session,
                consultation=consultation,
                participant=person,
                question="postal_code",
                answer="4208",
                now=utcnow(),
            )
    assert (person.gender, person.postal_code, person.sector) == ("mujer", "42080", None)
    async with db.reading() as session:
        stored = await session.get(Participant, person.id)
        assert stored is not None
        assert (stored.gender, stored.postal_code, stored.sector) == ("mujer", "42080", None)
        assert stored.demographics_at is not None


async def test_submit_gives_a_public_folio_and_waits_for_moderation(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(
            session, consultation, author, publish=False, vision="  Calles   limpias  y seguras. "
        )
    assert record.folio == f"PMD23-{record.id:06d}"
    assert record.status == "pending"
    assert record.vision == "Calles limpias y seguras."


@pytest.mark.parametrize(
    ("problem", "error"),
    [
        ("😀😀😀😀😀😀😀😀😀😀😀", TextNotReadable),
        ("Poco", TextTooShort),
        ("a" * 1001, TextTooLong),
        ("   ", TextNotReadable),
    ],
)
async def test_unreadable_or_out_of_limits_text_is_refused(
    db: Database, consultation: Consultation, problem: str, error: type[Exception]
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        with pytest.raises(error):
            await make_proposal(session, consultation, author, problem=problem, publish=False)


async def test_topic_must_belong_to_pillar(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        with pytest.raises(InvalidChoice):
            await make_proposal(session, consultation, author, pillar="seguridad", topic="agua")


async def test_proposals_per_participant_limit(db: Database, consultation: Consultation) -> None:
    limits = consultation.limits.model_copy(update={"proposals_per_participant": 2})
    small = consultation.model_copy(update={"limits": limits})
    async with db.transaction() as session:
        author = await make_participant(session, small)
        await make_proposal(session, small, author)
        await make_proposal(session, small, author)
        with pytest.raises(LimitReached):
            await make_proposal(session, small, author)


async def test_no_proposals_or_votes_after_close(db: Database) -> None:
    closed = closed_consultation()
    async with db.transaction() as session:
        author = await make_participant(session, closed)
        with pytest.raises(ExerciseClosed):
            await make_proposal(session, closed, author)


async def test_voting_rules(db: Database, consultation: Consultation) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        voter = await make_participant(session, consultation)
        published = await make_proposal(session, consultation, author)
        pending = await make_proposal(session, consultation, author, publish=False)
        with pytest.raises(OwnProposal):
            await votes.judge(
                session,
                consultation=consultation,
                participant=author,
                proposal_id=published.id,
                verdict="support",
                now=now,
            )
        with pytest.raises(NotPublished):
            await votes.judge(
                session,
                consultation=consultation,
                participant=voter,
                proposal_id=pending.id,
                verdict="support",
                now=now,
            )
        judged = await votes.judge(
            session,
            consultation=consultation,
            participant=voter,
            proposal_id=published.id,
            verdict="support",
            now=now,
        )
        assert judged.supports == 1
    async with db.transaction() as session:
        voter = await participants.get(session, participant_id=voter.id)
        with pytest.raises(AlreadyJudged):
            await votes.judge(
                session,
                consultation=consultation,
                participant=voter,
                proposal_id=published.id,
                verdict="support",
                now=now,
            )
    async with db.reading() as session:
        refreshed = await session.get(Proposal, published.id)
        assert refreshed is not None and refreshed.supports == 1
    closed = closed_consultation()
    async with db.transaction() as session:
        with pytest.raises(ExerciseClosed):
            await votes.judge(
                session,
                consultation=closed,
                participant=voter,
                proposal_id=published.id,
                verdict="skip",
                now=now,
            )


async def test_least_seen_first_never_own_never_judged(
    db: Database, consultation: Consultation
) -> None:
    now = utcnow()
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        voter = await make_participant(session, consultation)
        own = await make_proposal(session, consultation, voter)
        seen_a = await make_proposal(session, consultation, author)
        fresh = await make_proposal(
            session, consultation, author, pillar="seguridad", topic="policia"
        )
        judged = await make_proposal(session, consultation, author)
        for _ in range(3):
            await votes.record_view(session, proposal_id=seen_a.id)
        await votes.judge(
            session,
            consultation=consultation,
            participant=voter,
            proposal_id=judged.id,
            verdict="skip",
            now=now,
        )
    shown = []
    async with db.transaction() as session:
        voter = await participants.get(session, participant_id=voter.id)
        for _ in range(2):
            chosen = await votes.next_proposal(
                session, participant=voter, pillar=None, rng=random.Random(1)
            )
            assert chosen is not None
            shown.append(chosen.id)
            await votes.judge(
                session,
                consultation=consultation,
                participant=voter,
                proposal_id=chosen.id,
                verdict="skip",
                now=now,
            )
        assert await votes.next_proposal(session, participant=voter, pillar=None) is None
    assert shown == [fresh.id, seen_a.id]
    assert own.id not in shown and judged.id not in shown


async def test_reports_send_a_proposal_back_to_moderation(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
        await report_proposal(
            session, consultation, record.id, times=consultation.limits.reports_to_requeue
        )
        queue = await proposals.pending_queue(session)
    assert record.status == "pending"
    assert queue[0].id == record.id


async def test_erasure_removes_personal_data_and_keeps_published_text(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation, gender="mujer", age_group="30_44")
        published = await make_proposal(session, consultation, person)
        draft = await make_proposal(session, consultation, person, publish=False)
        session.add(
            ConversationState(participant_id=person.id, state="menu", data={}, updated_at=utcnow())
        )
        session.add(
            Certificate(
                participant_id=person.id,
                token="t" * 32,
                name="Ana López",
                issued_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    async with db.transaction() as session:
        exported = await erasure.export(session, participant_id=person.id)
        assert exported["participante"]["género"] == "mujer"
        await erasure.erase(
            session, consultation=consultation, participant_id=person.id, now=utcnow()
        )
    async with db.reading() as session:
        shell = await session.get(Participant, person.id)
        assert shell is not None
        assert (shell.external_id, shell.gender, shell.age_group, shell.erased_at is not None) == (
            None,
            None,
            None,
            True,
        )
        assert await session.get(Proposal, published.id) is not None
        assert await session.get(Proposal, draft.id) is None
        assert await session.scalar(select(func.count()).select_from(Certificate)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
    async with db.transaction() as session:
        with pytest.raises(Erased):
            await participants.get(session, participant_id=person.id)


async def test_snapshot_publishes_breakdowns_in_batches_with_the_rule(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        women = [
            await make_participant(session, consultation, gender="mujer", source="fb_alcalde")
            for _ in range(6)
        ]
        man = await make_participant(session, consultation, gender="hombre")
        await make_participant(session, consultation)
        for person in women:
            await make_proposal(session, consultation, person, pillar="bienestar", topic="salud")
        popular = await make_proposal(
            session, consultation, man, pillar="bienestar", topic="educacion"
        )
        for person in women[:3]:
            await votes.judge(
                session,
                consultation=consultation,
                participant=person,
                proposal_id=popular.id,
                verdict="support",
                now=utcnow(),
            )
    async with db.reading() as session:
        before = await stats.snapshot(session, consultation=consultation, now=utcnow())
    assert before["breakdowns"]["published_at"] is None  # nothing published yet
    assert {row["count"] for row in before["participants"]["gender"]} == {0}
    await disclosure.publish_if_due(db, consultation=consultation, now=utcnow())
    async with db.reading() as session:
        figures = await stats.snapshot(session, consultation=consultation, now=utcnow())
    assert figures["totals"] == {"participants": 8, "proposals": 7, "published": 7, "supports": 3}
    assert figures["breakdowns"]["participants"] == 8
    gender = {row["key"]: row["count"] for row in figures["participants"]["gender"]}
    # one man and one who did not say: reserved, with the women so that 8 - 6 tells nothing
    assert gender == {"mujer": HIDDEN, "hombre": HIDDEN, "otro": 0, "sin_respuesta": HIDDEN}
    source = {row["key"]: row["count"] for row in figures["participants"]["source"]}
    assert (source["fb_alcalde"], source["sin_respuesta"], source["otra"]) == (HIDDEN, HIDDEN, 0)
    cross = figures["crosstabs"]["gender:pillar"]
    rows = [r["key"] for r in cross["rows"]]
    assert cross["cells"][rows.index("mujer")][0] == HIDDEN
    assert cross["cells"][rows.index("hombre")][0] == HIDDEN
    assert figures["proposals"]["pillar"][0]["count"] == 7  # contributions stay exact
    assert figures["top"]["bienestar"][0]["folio"] == popular.folio
    assert figures["top"]["bienestar"][0]["supports"] == 3
    shares = {r["key"]: r for r in figures["representativeness"]["gender"]}
    assert shares["mujer"]["census_share"] == 0.519
    assert shares["mujer"]["participant_share"] is None  # would tell the reserved cells


async def test_timestamps_come_back_aware(db: Database, consultation: Consultation) -> None:
    moment = utcnow() - timedelta(hours=3)
    async with db.transaction() as session:
        person = await make_participant(session, consultation, now=moment)
    async with db.reading() as session:
        again = await session.get(Participant, person.id)
        assert again is not None
        stored = again.consent_at
    assert stored.tzinfo is not None
    assert abs((stored - moment).total_seconds()) < 1


async def test_the_export_holds_everything_stored_about_the_person(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation, gender="mujer", source="radio")
        other = await make_participant(session, consultation)
        theirs = await make_proposal(session, consultation, other)
        await make_proposal(session, consultation, person, problem="Mi calle se inunda cada año.")
        await votes.judge(
            session,
            consultation=consultation,
            participant=person,
            proposal_id=theirs.id,
            verdict="support",
            now=utcnow(),
        )
        session.add(
            ConversationState(
                participant_id=person.id,
                state="p_proposal",
                data={"pillar": "servicios", "problem": "Un borrador a medio escribir", "_s": "3"},
                version=3,
                updated_at=utcnow(),
            )
        )
    async with db.reading() as session:
        data = await erasure.export(session, participant_id=person.id)
    assert data["participante"]["género"] == "mujer" and data["participante"]["origen"] == "radio"
    assert data["propuestas"][0]["problema"] == "Mi calle se inunda cada año."
    assert data["propuestas"][0]["contada_como"]["gender"] == "mujer"
    assert data["votos"] == [
        {"propuesta": theirs.folio, "voto": "support", "fecha": data["votos"][0]["fecha"]}
    ]
    assert data["conversación"]["paso"] == "p_proposal"
    assert data["conversación"]["datos"]["problem"] == "Un borrador a medio escribir"
    assert data["constancia"] is None and data["mensajes_de_campaña"] == []


async def test_sources_recorded_before_the_list_become_otra(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        await make_participant(session, consultation, source="fb_alcalde")
        kept = await make_participant(session, consultation)
        await make_participant(session, consultation)
        # as an older version recorded any payload
        await session.execute(
            update(Participant)
            .where(Participant.id == kept.id)
            .values(source="vota_por_fulano_2027")
        )
        await counters.bump(
            session,
            [
                ("participants", "source", "sin_respuesta", -1),
                ("participants", "source", "vota_por_fulano_2027", 1),
            ],
        )
        assert await sources.fold_unlisted(session, consultation=consultation) == 1
        assert await sources.fold_unlisted(session, consultation=consultation) == 0
        table = await stats.counters(session)
        stored = set(await session.scalars(select(Participant.source)))
    assert table[("participants", "source")] == {"fb_alcalde": 1, "otra": 1, "sin_respuesta": 1}
    assert stored == {"fb_alcalde", "otra", None}
