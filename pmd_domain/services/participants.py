"""Participants: consent, demographics, preferences."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from pmd_domain import assurance
from pmd_domain.assurance import PHONE_CHANNELS
from pmd_domain.clients import Client
from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.dialects import INSERTS, dialect_of
from pmd_domain.db.models import LinkedIdentity, Participant
from pmd_domain.db.statements import adopt, execute
from pmd_domain.errors import AddressLimit, Erased, InvalidChoice, NotFound
from pmd_domain.services import activity
from pmd_domain.services.counters import Bump, bucket, bump

DEMOGRAPHIC_FIELDS = ("gender", "age_group", "sector", "postal_code")
POSTAL_CODE = re.compile(r"^[0-9]{5}$")
_PARTICIPANTS = cast(Table, Participant.__table__)
# One statement per demographic field, built once: an answer is written straight to
# its row rather than through the session's unit of work, on every step of the
# questionnaire (see record_answer).
_STORE_ANSWER = {
    field: _PARTICIPANTS.update()
    .where(_PARTICIPANTS.c.id == bindparam("participant"))
    .values({field: bindparam("value"), "demographics_at": bindparam("at")})
    for field in DEMOGRAPHIC_FIELDS
}
CHANGES: Bump = ("changes", "total", "all", 1)  # one more change for the next publication
# The look-ups and the registration of every first step, built once (a step binds values).
_FIND = select(_PARTICIPANTS).where(
    _PARTICIPANTS.c.channel == bindparam("channel"),
    _PARTICIPANTS.c.external_id == bindparam("external_id"),
)
_LINKED = (
    select(_PARTICIPANTS)
    .join(LinkedIdentity, LinkedIdentity.participant_id == _PARTICIPANTS.c.id)
    .where(
        LinkedIdentity.channel == bindparam("channel"),
        LinkedIdentity.external_id == bindparam("external_id"),
    )
)
_REGISTERED = (
    "channel",
    "external_id",
    "consent_at",
    "notice_version",
    "language",
    "source",
    "muted",
    "reachable",
    "supports_given",
    "proposals_made",
    "created_at",
    "assurance",
    "origin",
)
_REGISTER = {
    dialect: insert(_PARTICIPANTS)
    .values({name: bindparam(name) for name in _REGISTERED})
    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    .returning(*_PARTICIPANTS.c)
    for dialect, insert in INSERTS.items()
}


def campaign_source(consultation: Consultation, payload: str | None) -> str | None:
    """What is recorded for a deep-link payload: a listed source, ``"otra"`` or None."""
    return consultation.campaign_source(payload)


async def find(session: AsyncSession, *, channel: str, external_id: str) -> Participant | None:
    """The participant behind a chat, if they consented."""
    return await _one(session, _FIND, {"channel": channel, "external_id": external_id})


async def linked(session: AsyncSession, *, channel: str, external_id: str) -> Participant | None:
    """The participant another chat identity was linked to (a browser linked to Telegram).

    Only browser identities are ever linked (``linking.merge``): a phone channel's chat
    is nobody's alias, and is not looked up.
    """
    if channel in PHONE_CHANNELS:
        return None
    return await _one(session, _LINKED, {"channel": channel, "external_id": external_id})


async def _one(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Participant | None:
    row = (await execute(session, statement, params)).first()
    return adopt(session, Participant, row) if row is not None else None


async def get(session: AsyncSession, *, participant_id: int) -> Participant:
    """A participant by id; NotFound or Erased otherwise."""
    participant = await session.get(Participant, participant_id)
    if participant is None:
        raise NotFound("participant")
    if participant.erased_at is not None:
        raise Erased("participant")
    return participant


async def register(
    session: AsyncSession,
    *,
    consultation: Consultation,
    channel: str,
    external_id: str,
    now: datetime,
    language: str = "es",
    source: str | None = None,
    known_absent: bool = False,
    client: Client | None = None,
) -> Participant:
    """Record consent (the first personal data stored). Idempotent per chat.

    ``known_absent``: the caller just looked the chat up in this transaction and found
    nobody, so the look-up is not repeated. Either way one ``INSERT ... ON CONFLICT DO
    NOTHING`` decides: when another process registered the chat at the same moment,
    its row is returned. ``client``: the browser's address (AddressLimit when too many
    new participants came from it) and whether it is a kiosk (verified in person).
    """
    if not known_absent:
        existing = await find(session, channel=channel, external_id=external_id)
        if existing is not None:
            return existing
    if client is not None and client.limited:
        assert client.address is not None
        window = consultation.integrity.address_limits.participants
        if not await activity.take(
            session,
            kind=activity.Kind.PARTICIPANTS_BY_ADDRESS,
            key=client.address,
            window=window,
            now=now,
        ):
            raise AddressLimit(action="participants")
    level = assurance.initial(channel, in_person=client is not None and client.kiosk)
    values = {
        "channel": channel,
        "external_id": external_id,
        "consent_at": now,
        "notice_version": consultation.privacy.version,
        "language": language if language in consultation.exercise.languages else "es",
        "source": campaign_source(consultation, source),
        "muted": False,
        "reachable": True,
        "supports_given": 0,
        "proposals_made": 0,
        "created_at": now,
        "assurance": str(level),
        "origin": client.address if client is not None and not client.kiosk else None,
    }
    row = (await execute(session, _REGISTER[dialect_of(session)], values)).first()
    participant = adopt(session, Participant, row) if row is not None else None
    if participant is None:
        # Another process registered the same chat at the same moment.
        again = await find(session, channel=channel, external_id=external_id)
        if again is None:
            raise NotFound("participant")
        return again
    changes: list[Bump] = [
        CHANGES,
        ("participants", "total", "all", 1),
        ("participants", "day", local_day(now, consultation.exercise.timezone), 1),
        ("participants", "source", bucket(participant.source), 1),
        ("participants", "assurance", str(level), 1),
    ]
    changes += [
        ("participants", q.key, bucket(None), 1)
        for q in consultation.demographics
        if q.kind == "choice"
    ]
    await bump(session, changes)
    if participant.source:
        await activity.note(
            session, kind=activity.Kind.PARTICIPANTS_BY_SOURCE, key=participant.source, now=now
        )
    return participant


async def uncount(
    session: AsyncSession, *, consultation: Consultation, person: Participant
) -> None:
    """Take a participant out of the participant counters (erased, or merged into another one).

    It counts as a change of the figures, toward their next publication (``disclosure``).
    """
    changes: list[Bump] = [
        CHANGES,
        ("participants", "total", "all", -1),
        ("participants", "day", local_day(person.created_at, consultation.exercise.timezone), -1),
        ("participants", "source", bucket(person.source), -1),
        ("participants", "assurance", person.assurance, -1),
    ]
    changes += [
        ("participants", q.key, bucket(getattr(person, q.key, None)), -1)
        for q in consultation.demographics
        if q.kind == "choice"
    ]
    await bump(session, changes)


def validate_answer(consultation: Consultation, *, question: str, answer: str | None) -> str | None:
    """Check one demographic answer against the consultation; None means "Prefiero no decir"."""
    spec = consultation.question(question)
    if spec is None or question not in DEMOGRAPHIC_FIELDS:
        raise InvalidChoice(question=question)
    if answer is None:
        return None
    if spec.kind == "choice":
        if answer not in {o.key for o in spec.options}:
            raise InvalidChoice(question=question)
        return answer
    if spec.kind == "postal_code":
        value = answer.strip()
        if not POSTAL_CODE.match(value):
            raise InvalidChoice(question=question)
        return value
    return answer.strip()[:64] or None


async def record_answer(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    question: str,
    answer: str | None,
    now: datetime,
) -> Participant:
    """Store (or correct) one demographic answer, frozen at this time.

    Every check comes before the first change: an error leaves nothing to undo.
    """
    if participant.erased_at is not None:
        raise Erased("participant")
    value = validate_answer(consultation, question=question, answer=answer)
    old = getattr(participant, question)
    await execute(
        session,
        _STORE_ANSWER[question],
        {"participant": participant.id, "value": value, "at": now},
    )
    # The object says what the row now holds, with nothing left for a flush to write.
    set_committed_value(participant, question, value)
    set_committed_value(participant, "demographics_at", now)
    if old == value:
        return participant
    spec = consultation.question(question)
    if spec is not None and spec.kind == "choice":
        await bump(
            session,
            [
                ("participants", question, bucket(old), -1),
                ("participants", question, bucket(value), 1),
            ],
        )
    return participant


async def accept_notice(
    session: AsyncSession, *, consultation: Consultation, participant: Participant, now: datetime
) -> None:
    """Record that the participant accepted the privacy notice in force, now."""
    if participant.erased_at is not None:
        raise Erased("participant")
    participant.notice_version = consultation.privacy.version
    participant.consent_at = now


async def set_language(session: AsyncSession, *, participant: Participant, language: str) -> None:
    """Change the participant's language."""
    participant.language = language


async def set_muted(session: AsyncSession, *, participant: Participant, muted: bool) -> None:
    """Opt out of (or back into) campaign messages."""
    participant.muted = muted
