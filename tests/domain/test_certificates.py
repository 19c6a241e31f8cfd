"""Certificates: issue, re-issue with the same folio and token, verify, revoke (both databases)."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate, Participant
from pmd_domain.errors import CertificateRevoked, InvalidName, NoParticipation, NotFound
from pmd_domain.services import certificates, erasure
from tests.factories import closed_consultation, make_participant, make_proposal


async def test_a_certificate_needs_a_proposal(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        with pytest.raises(NoParticipation):
            await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ana Pérez",
                now=utcnow(),
            )
        assert await certificates.can_issue(session, participant_id=person.id) is False
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Certificate)) == 0


async def test_a_rejected_proposal_alone_gives_no_certificate(
    db: Database, consultation: Consultation
) -> None:
    from pmd_domain.services import proposals

    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        made = await make_proposal(session, consultation, person, publish=False)
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=made.id,
            decision="reject",
            staff_id=1,
            now=utcnow(),
            reason="Texto ofensivo",
        )
        with pytest.raises(NoParticipation):
            await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ana Pérez",
                now=utcnow(),
            )


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "Ana",
        "Ana123 López",
        "<script>alert(1)</script>",
        "🙂 🙂",
        "Ana_López",
        "x" * 400,
    ],
)
async def test_names_that_are_not_a_full_name_are_refused(
    db: Database, consultation: Consultation, name: str
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        with pytest.raises(InvalidName):
            await certificates.issue(
                session, consultation=consultation, participant=person, name=name, now=utcnow()
            )


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("María José Hernández-López", "María José Hernández-López"),
        ("  josé   o'connor  ", "josé o'connor"),
        ("Ñuu Savi Mendoza", "Ñuu Savi Mendoza"),
    ],
)
async def test_accents_hyphens_and_apostrophes_are_fine(
    db: Database, consultation: Consultation, typed: str, stored: str
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name=typed, now=utcnow()
        )
        assert issued.name == stored


async def test_reissue_keeps_folio_and_token_and_corrects_the_name(
    db: Database, consultation: Consultation
) -> None:
    first_moment = utcnow() - timedelta(hours=2)
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person, pillar="servicios", topic="agua")
        first = await certificates.issue(
            session,
            consultation=consultation,
            participant=person,
            name="Ana Peres",
            now=first_moment,
        )
        folio, token, person_id = first.folio, first.token, person.id
    assert folio is not None
    assert folio.startswith(f"{consultation.certificate.folio_prefix}-")
    assert folio == f"{consultation.certificate.folio_prefix}-{first.id:06d}"
    assert first.topics == [["servicios", "agua"]]

    async with db.transaction() as session:
        person = await session.get_one(type(person), person_id)
        second_topic = consultation.pillar("seguridad").topics[0].key  # type: ignore[union-attr]
        await make_proposal(session, consultation, person, pillar="seguridad", topic=second_topic)
        await make_proposal(session, consultation, person, pillar="servicios", topic="agua")
        again = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        assert (again.folio, again.token) == (folio, token)
        assert again.name == "Ana Pérez"
        assert again.topics == [["servicios", "agua"], ["seguridad", second_topic]]

    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Certificate)) == 1
        view = await certificates.verify(session, consultation=consultation, token=token)
    assert view is not None
    assert view.valid and not view.revoked
    assert view.name == "Ana Pérez"
    assert view.folio == folio
    assert abs(view.issued_at - first_moment) < timedelta(seconds=1)
    pillar = consultation.pillar("servicios")
    assert pillar is not None
    assert view.topics[0] == (
        consultation.text(pillar.name, "es"),
        consultation.text(pillar.topic("agua").name, "es"),  # type: ignore[union-attr]
    )
    assert view.exercise_title == consultation.text(consultation.exercise.title, "es")


async def test_tokens_are_random_urlsafe_and_long(db: Database, consultation: Consultation) -> None:
    tokens = []
    async with db.transaction() as session:
        for _ in range(40):
            person = await make_participant(session, consultation)
            await make_proposal(session, consultation, person)
            issued = await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ana Pérez",
                now=utcnow(),
            )
            tokens.append(issued.token)
    # Many more without the database: the generator itself.
    tokens += [certificates.new_token() for _ in range(5000)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens[:100]:
        assert certificates.well_formed(token)
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128
    # No token shares a long prefix with another: nothing sequential in them.
    assert len({t[:8] for t in tokens}) == len(tokens)


async def test_verify_ignores_unknown_and_malformed_tokens(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        token = issued.token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    async with db.reading() as session:
        for bad in [
            "",
            token[:-1],
            token + "x",
            tampered,
            certificates.new_token(),
            "' OR 1=1 --" + "x" * 21,
            "../" * 11,
            "ñ" * 32,
        ]:
            assert await certificates.verify(session, consultation=consultation, token=bad) is None
        assert await certificates.verify(session, consultation=consultation, token=token)


async def test_revoke_shows_on_verification_and_stops_reissue(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        folio, token = issued.folio, issued.token
    assert folio is not None
    async with db.transaction() as session:
        with pytest.raises(NotFound):
            await certificates.revoke(session, folio="C23-999999", reason="x", now=utcnow())
        revoked = await certificates.revoke(
            session, folio=folio, reason="Nombre suplantado", now=utcnow()
        )
        assert revoked.revoked_at is not None
    async with db.reading() as session:
        view = await certificates.verify(session, consultation=consultation, token=token)
    assert view is not None
    assert view.revoked and not view.valid
    assert view.revoke_reason == "Nombre suplantado"
    assert view.revoked_on
    async with db.transaction() as session:
        person = await session.get_one(type(person), person.id)
        with pytest.raises(CertificateRevoked):
            await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ana Pérez",
                now=utcnow(),
            )


async def test_erasure_removes_the_certificate(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
        token = issued.token
        await erasure.erase(
            session, consultation=consultation, participant_id=person.id, now=utcnow()
        )
    async with db.reading() as session:
        assert await certificates.verify(session, consultation=consultation, token=token) is None


async def test_two_requests_at_once_give_one_certificate(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        person_id = person.id

    first_issued = asyncio.Event()

    async def ask(name: str, *, first: bool) -> tuple[str | None, str]:
        if not first:
            await first_issued.wait()
        async with db.transaction() as session:
            me = await session.get_one(Participant, person_id)
            record = await certificates.issue(
                session, consultation=consultation, participant=me, name=name, now=utcnow()
            )
            if first:
                # Keep this transaction open while the second request issues too:
                # on PostgreSQL its insert then waits on the unique index and fails.
                first_issued.set()
                await asyncio.sleep(0.3)
            return record.folio, record.token

    first, second = await asyncio.gather(
        ask("Ana Pérez", first=True), ask("Ana Pérez López", first=False)
    )
    assert first == second
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Certificate)) == 1


async def test_certificates_keep_working_after_the_exercise_closes(
    db: Database, consultation: Consultation
) -> None:
    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session,
            consultation=closed_consultation(),
            participant=person,
            name="Ana Pérez",
            now=utcnow(),
        )
        assert issued.folio


async def test_each_revocation_keeps_its_reason_in_the_audit_log(
    db: Database, consultation: Consultation
) -> None:
    from pmd_domain.db.models import AuditEntry

    async with db.transaction() as session:
        person = await make_participant(session, consultation)
        await make_proposal(session, consultation, person)
        issued = await certificates.issue(
            session, consultation=consultation, participant=person, name="Ana Pérez", now=utcnow()
        )
    assert issued.folio is not None
    for reason in ("Nombre suplantado", "Corrección: datos de otra persona"):
        async with db.transaction() as session:
            await certificates.revoke(session, folio=issued.folio, reason=reason, now=utcnow())
    async with db.reading() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    reasons = [e.details.get("reason") for e in entries if e.action == "certificate.revoke"]
    assert reasons == ["Nombre suplantado", "Corrección: datos de otra persona"]
