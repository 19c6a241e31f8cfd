"""The anomaly watch: bursts flagged, their supports discounted for audit and restored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pmd_domain.clients import Client
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import AuditEntry, Proposal, StaffMember, Vote
from pmd_domain.errors import InvalidChoice, NotAllowed
from pmd_domain.i18n import Catalogs
from pmd_domain.services import anomalies, stats
from tests.factories import judge, make_participant, make_proposal

ADMIN = 9001
ANALYST = 9002


def _mid_hour() -> datetime:
    """A moment in the middle of this hour: a test's events never straddle two windows."""
    return utcnow().replace(minute=30, second=0, microsecond=0)


def _sensitive(consultation: Consultation) -> Consultation:
    bursts = consultation.integrity.bursts.model_copy(
        update={
            "participants_per_address": 10,
            "supports_per_address": 10,
            "participants_per_source": 10,
            "supports_per_source": 10,
            "supports_per_proposal": 10,
        }
    )
    integrity = consultation.integrity.model_copy(update={"bursts": bursts})
    return consultation.model_copy(update={"integrity": integrity})


async def test_a_campaign_burst_is_flagged_discounted_for_audit_and_restored(
    db: Database, consultation: Consultation
) -> None:
    watched = _sensitive(consultation)
    moment = _mid_hour()
    async with db.transaction() as session:
        session.add(StaffMember(user_id=ANALYST, role="analyst", created_at=utcnow()))
        author = await make_participant(session, watched)
        record = await make_proposal(session, watched, author)
        calm = await make_proposal(session, watched, author, topic="alumbrado")
        for _ in range(12):
            person = await make_participant(session, watched, source="qr_mercados", now=moment)
            await judge(session, watched, person, record.id, now=moment)
        neighbour = await make_participant(session, watched, now=moment)
        await judge(session, watched, neighbour, calm.id, now=moment)
        flagged = await anomalies.bursts(session, consultation=watched, now=utcnow())
    kinds = {(b.kind, b.key): b for b in flagged}
    assert set(kinds) == {
        ("p@src", "qr_mercados"),
        ("s@src", "qr_mercados"),
        ("s@prop", str(record.id)),
    }
    burst = kinds[("s@src", "qr_mercados")]
    assert (burst.count, burst.supports, burst.discounted) == (12, 12, 0)
    assert kinds[("s@prop", str(record.id))].folio == record.folio

    async with db.transaction() as session:
        with pytest.raises(NotAllowed):
            await anomalies.discount(
                session,
                consultation=watched,
                target=burst.target,
                staff_id=ANALYST,
                admin_ids=[ADMIN],
                now=utcnow(),
            )
    async with db.transaction() as session:
        changed = await anomalies.discount(
            session,
            consultation=watched,
            target=burst.target,
            staff_id=ADMIN,
            admin_ids=[ADMIN],
            now=utcnow(),
        )
        assert changed == 12
        stored = await session.get(Proposal, record.id)
        assert stored is not None and (stored.supports, stored.supports_discounted) == (0, 12)
        snapshot = await stats.snapshot(session, consultation=watched, now=utcnow())
        assert snapshot["totals"]["supports"] == 1  # the neighbour's
        levels = {r["key"]: r["count"] for r in snapshot["supports"]["assurance"]}
        assert (levels["phone"], levels["discounted"]) == (1, 12)
        kept = list(await session.scalars(select(Vote).where(Vote.proposal_id == record.id)))
        assert len(kept) == 12 and all(v.discounted_by == ADMIN for v in kept)  # never deleted
        again = await anomalies.bursts(session, consultation=watched, now=utcnow())
        flagged_again = next(b for b in again if b.target == burst.target)
        assert (flagged_again.supports, flagged_again.discounted) == (0, 12)

    async with db.transaction() as session:
        restored = await anomalies.discount(
            session,
            consultation=watched,
            target=burst.target,
            staff_id=ADMIN,
            admin_ids=[ADMIN],
            now=utcnow(),
            restore=True,
        )
        stored = await session.get(Proposal, record.id)
        log = [
            (e.action, e.target, e.details["supports"])
            for e in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    assert restored == 12
    assert stored is not None and (stored.supports, stored.supports_discounted) == (12, 0)
    assert log == [
        ("supports.discount", burst.target, 12),
        ("supports.restore", burst.target, 12),
    ]


async def test_bursts_from_one_address_are_flagged_by_a_keyed_hash(
    db: Database, consultation: Consultation
) -> None:
    watched = _sensitive(consultation)
    moment = _mid_hour()
    async with db.transaction() as session:
        author = await make_participant(session, watched)
        record = await make_proposal(session, watched, author)
        for _ in range(11):
            person = await make_participant(session, watched, channel="web", now=moment)
            await judge(
                session, watched, person, record.id, now=moment, client=Client(address="k3y")
            )
        flagged = await anomalies.bursts(session, consultation=watched, now=utcnow())
    by_address = [b for b in flagged if b.kind == "s@addr"]
    assert [(b.key, b.count, b.supports) for b in by_address] == [("k3y", 11, 11)]


async def test_a_forged_target_is_refused(db: Database, consultation: Consultation) -> None:
    for target in ("burst:x@y:1:2", "burst:s@prop:abc:1", "nada", "burst:s@addr::1"):
        async with db.transaction() as session:
            with pytest.raises(InvalidChoice):
                await anomalies.discount(
                    session,
                    consultation=consultation,
                    target=target,
                    staff_id=ADMIN,
                    admin_ids=[ADMIN],
                    now=utcnow(),
                )


def test_an_alert_line_writes_its_window_as_every_staff_page_writes_a_moment(
    consultation: Consultation,
) -> None:
    # 00:00–01:00 UTC on 4 December is 6:00–7:00 p.m. on 3 December in Pachuca: the
    # window's day is the exercise's, and a day-month like "03/12" is read as March 12
    # in English.
    burst = anomalies.Burst(
        kind="s@prop",
        key="7",
        start=datetime(2026, 12, 4, 0, 0, tzinfo=UTC),
        minutes=60,
        count=1234,
        supports=1234,
        discounted=0,
        folio="PMD-0007",
    )
    catalogs = Catalogs.load()
    spanish = anomalies.describe(burst, consultation=consultation, catalogs=catalogs, language="es")
    english = anomalies.describe(burst, consultation=consultation, catalogs=catalogs, language="en")
    assert spanish == (
        "1,234 apoyos a la propuesta PMD-0007, 3 dic 2026 de 6:00\u202fp.m. a 7:00\u202fp.m."
    )
    assert english == (
        "1,234 supports toward proposal PMD-0007, Dec 3, 2026 from 6:00\u202fPM to 7:00\u202fPM"
    )
