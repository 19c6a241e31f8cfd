"""Test data builders: an open consultation, participants, proposals."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation, load_consultation
from pmd_domain.db.models import Certificate, Participant, Proposal
from pmd_domain.services import certificates, participants, proposals

_ids = itertools.count(1000)
# The oracle of the date tests, written out independently of Babel.
SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
SEASONED = timedelta(hours=2)  # longer ago than any report rule's minimum account age


def open_consultation(*, now: datetime | None = None, days: int = 30) -> Consultation:
    """The default consultation with its dates moved so that it is open at ``now``."""
    base = load_consultation()
    moment = now or utcnow()
    exercise = base.exercise.model_copy(
        update={"opens": moment - timedelta(days=1), "closes": moment + timedelta(days=days)}
    )
    return base.model_copy(update={"exercise": exercise})


def closed_consultation() -> Consultation:
    """The default consultation, closed since yesterday."""
    moment = utcnow()
    return open_consultation(now=moment - timedelta(days=31), days=30)


async def make_participant(
    session: AsyncSession,
    consultation: Consultation,
    *,
    channel: str = "telegram",
    external_id: str | None = None,
    source: str | None = None,
    gender: str | None = None,
    age_group: str | None = None,
    sector: str | None = None,
    now: datetime | None = None,
) -> Participant:
    """A participant who accepted the notice, with the given answers."""
    moment = now or utcnow()
    person = await participants.register(
        session,
        consultation=consultation,
        channel=channel,
        external_id=external_id or str(next(_ids)),
        now=moment,
        source=source,
    )
    for question, answer in (("gender", gender), ("age_group", age_group), ("sector", sector)):
        if answer is not None:
            await participants.record_answer(
                session,
                consultation=consultation,
                participant=person,
                question=question,
                answer=answer,
                now=moment,
            )
    return person


async def make_proposal(
    session: AsyncSession,
    consultation: Consultation,
    author: Participant,
    *,
    pillar: str = "servicios",
    topic: str = "agua",
    problem: str = "Falta agua en la colonia tres días por semana.",
    proposal: str = "Reparar las fugas y publicar el calendario de suministro.",
    vision: str | None = None,
    publish: bool = True,
    now: datetime | None = None,
) -> Proposal:
    """A submitted proposal, published by default."""
    moment = now or utcnow()
    record = await proposals.submit(
        session,
        consultation=consultation,
        participant=author,
        pillar=pillar,
        topic=topic,
        problem=problem,
        proposal=proposal,
        vision=vision,
        now=moment,
    )
    if publish:
        await proposals.moderate(
            session,
            consultation=consultation,
            proposal_id=record.id,
            decision="publish",
            staff_id=1,
            now=moment,
        )
    return record


async def judge(
    session: AsyncSession,
    consultation: Consultation,
    person: Participant,
    proposal_id: int,
    verdict: str = "support",
    *,
    now: datetime | None = None,
    **extra: Any,
) -> Proposal:
    """``person`` supports (or skips, reports) the proposal (now); ``extra``: channel, client."""
    from pmd_domain.services import votes

    return await votes.judge(
        session,
        consultation=consultation,
        participant=person,
        proposal_id=proposal_id,
        verdict=verdict,
        now=now or utcnow(),
        **extra,
    )


async def report_proposal(
    session: AsyncSession, consultation: Consultation, proposal_id: int, *, times: int
) -> None:
    """``times`` new participants report the proposal (each once)."""
    for _ in range(times):
        # participants long enough in the consultation for their reports to count
        reporter = await make_participant(session, consultation, now=utcnow() - SEASONED)
        await judge(session, consultation, reporter, proposal_id, "report")


async def make_recipients(
    session: AsyncSession,
    consultation: Consultation,
    chat_ids: Iterable[int],
    *,
    now: datetime | None = None,
    **fields: object,
) -> None:
    """Many Telegram participants at once (a broadcast audience), in one INSERT."""
    moment = now or utcnow()
    rows = [
        {
            "channel": "telegram",
            "external_id": str(chat_id),
            "consent_at": moment,
            "notice_version": consultation.privacy.version,
            "language": "es",
            "muted": False,
            "reachable": True,
            "supports_given": 0,
            "proposals_made": 0,
            "created_at": moment,
            **fields,
        }
        for chat_id in chat_ids
    ]
    if rows:
        await session.execute(insert(Participant), rows)


def make_certificate(
    session: AsyncSession, author: Participant, *, name: str, folio: str, token: str
) -> Certificate:
    """A certificate with ``name`` on it for ``author`` (added to the session)."""
    moment = utcnow()
    record = Certificate(
        participant_id=author.id,
        folio=folio,
        token=token,
        name=name,
        topics=[["servicios", "agua"]],
        issued_at=moment,
        updated_at=moment,
    )
    session.add(record)
    return record


def sample_certificate(*, name: str = "Ana López", folio: str = "C-000001") -> Certificate:
    """A certificate record not stored anywhere, to render a PDF from."""
    moment = utcnow()
    return Certificate(
        participant_id=1,
        folio=folio,
        token=certificates.new_token(),
        name=name,
        topics=[["servicios", "agua"]],
        issued_at=moment,
        updated_at=moment,
    )


def spanish_day(day: date) -> str:
    """``9 de enero de 2027``: a day as the Spanish texts write it out."""
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"


def spanish_moment(moment: datetime, zone: str) -> str:
    """``30 nov 2026, 9:00 p.m.``: a moment as the staff panel writes it, in ``zone``."""
    local = moment.astimezone(ZoneInfo(zone))
    hour = local.hour % 12 or 12
    half = "a.m." if local.hour < 12 else "p.m."
    month = SPANISH_MONTHS[local.month - 1][:3]
    return f"{local.day} {month} {local.year}, {hour}:{local.minute:02d}\u202f{half}"


def last_evening() -> datetime:
    """The last 03:00 UTC before now: 21:00 of the day before in Pachuca."""
    now = utcnow()
    evening = now.replace(hour=3, minute=0, second=0, microsecond=0)
    return evening - timedelta(days=1) if evening > now else evening
