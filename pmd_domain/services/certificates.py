"""Participation certificates: issue (same folio and token on every re-issue), verify, revoke.

The token printed in the QR code is 32 random characters of an alphabet without
look-alikes (160 bits; older ones are ``secrets.token_urlsafe(24)`` and keep working),
not derived from any id, so a certificate cannot be guessed from its folio. The folio
and a short code derived from the token (``short_code``) find it too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import as_aware
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Certificate, Participant, Proposal
from pmd_domain.errors import (
    CertificateRevoked,
    Erased,
    InvalidName,
    NoParticipation,
    NotFound,
    TextNotReadable,
    TextTooLong,
)
from pmd_domain.i18n import long_date
from pmd_domain.services import audit, cache_versions, public_proposals, staff
from pmd_domain.services.texts import clean_text, require_name
from pmd_domain.statuses import ProposalStatus

TOKEN_BYTES = 24  # the tokens issued before the legible alphabet (still verified)
# A token is 32 characters: the older ones of the URL-safe base64 alphabet, the newer
# ones of ALPHABET only (no 0/O, 1/I/l: a person may type it from the paper).
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols, 5 bits each: 160 bits a token
TOKEN_CHARS = 32
CODE_CHARS = 8  # the short code printed with the folio: 40 bits, rate-limited
FOLIO_PATTERN = re.compile(r"^[A-Z0-9]{1,10}-[0-9]{1,12}$")
REASON_MAX_CHARS = 500
# Every process's verification page shows a revocation within this time (it checks the
# certificates' cache version this often); whoever revokes waits it out before saying so.
PAGES_AGREE_SECONDS = 1.0


@dataclass(frozen=True)
class CertificateView:
    """What the public verification page may show about a certificate, and nothing else."""

    valid: bool
    revoked: bool
    revoked_at: datetime | None
    revoked_on: str | None  # the revocation date written out
    revoke_reason: str | None
    name: str
    exercise_title: str
    topics: tuple[tuple[str, str], ...]  # (pillar name, topic name)
    issued_at: datetime
    issued_on: str  # the issue date written out, e.g. "23 de noviembre de 2026"
    folio: str
    proposals: tuple[str, ...] = ()  # folios of the holder's published proposals (public pages)


def new_token() -> str:
    """A fresh random verification token: 32 legible characters (160 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_CHARS))


def short_code(token: str) -> str:
    """The short code printed with the folio (``ABCD-EFGH``), derived from the token.

    With the folio it finds the certificate without the whole address; it says nothing
    of the token (a hash), and works for the tokens issued before it existed.
    """
    digest = int.from_bytes(hashlib.sha256(b"pmd-code:" + token.encode()).digest()[:8], "big")
    symbols = [ALPHABET[(digest >> (5 * i)) & 31] for i in range(CODE_CHARS)]
    return "".join(symbols[:4]) + "-" + "".join(symbols[4:])


def _typed_code(code: str) -> str:
    # a person types it as they read it: case, spaces and the dash do not matter, and
    # the look-alikes they might type instead (O for 0 ...) are not in the alphabet
    plain = "".join(code.split()).replace("-", "").upper()
    return plain[:4] + "-" + plain[4:] if len(plain) == CODE_CHARS else ""


async def by_folio_and_code(session: AsyncSession, *, folio: str, code: str) -> Certificate | None:
    """The certificate with this folio whose short code is ``code`` (None otherwise)."""
    folio = "".join(folio.split()).upper()
    typed = _typed_code(code)
    if not FOLIO_PATTERN.match(folio) or not typed:
        return None
    record = await session.scalar(select(Certificate).where(Certificate.folio == folio))
    if record is None or not hmac.compare_digest(short_code(record.token), typed):
        return None
    return record


def well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of an issued token (checked before any query)."""
    return bool(TOKEN_PATTERN.match(token))


def certificate_folio(consultation: Consultation, certificate_id: int) -> str:
    """The public folio of a certificate, e.g. ``C23-000045``."""
    return f"{consultation.certificate.folio_prefix}-{certificate_id:06d}"


async def participation_topics(
    session: AsyncSession, *, consultation: Consultation, participant_id: int
) -> list[list[str]]:
    """The distinct [pillar, topic] of a participant's proposals (rejected ones excluded)."""
    rows = await session.execute(
        select(Proposal.pillar, Proposal.topic)
        .where(
            Proposal.participant_id == participant_id, Proposal.status != ProposalStatus.REJECTED
        )
        .distinct()
    )
    pairs = {(pillar, topic) for pillar, topic in rows}
    return [list(pair) for pair in sorted(pairs, key=lambda p: _order(consultation, *p))]


async def can_issue(session: AsyncSession, *, participant_id: int) -> bool:
    """Whether the participant has the proposal a certificate requires."""
    found = await session.scalar(
        select(Proposal.id)
        .where(
            Proposal.participant_id == participant_id, Proposal.status != ProposalStatus.REJECTED
        )
        .limit(1)
    )
    return found is not None


async def get_for(session: AsyncSession, *, participant_id: int) -> Certificate | None:
    """The participant's certificate, if one was issued."""
    return await session.scalar(
        select(Certificate).where(Certificate.participant_id == participant_id)
    )


async def by_token(session: AsyncSession, *, token: str) -> Certificate | None:
    """The stored certificate with ``token`` (None for malformed or unknown tokens)."""
    if not well_formed(token):
        return None
    return await session.scalar(select(Certificate).where(Certificate.token == token))


async def issue(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    name: str,
    now: datetime,
) -> Certificate:
    """Issue the participant's certificate, or re-issue it with the same folio and token.

    A corrected name replaces the old one; the topics are refreshed from the
    participant's proposals. Raises NoParticipation without a proposal,
    InvalidName for a name that is not a person's full name, and
    CertificateRevoked when staff revoked it.
    """
    if participant.erased_at is not None:
        raise Erased("participant")
    try:
        clean_name = require_name(name, max_chars=consultation.limits.name_max_chars)
    except (TextNotReadable, TextTooLong) as exc:
        raise InvalidName(max=consultation.limits.name_max_chars) from exc
    topics = await participation_topics(
        session, consultation=consultation, participant_id=participant.id
    )
    if not topics:
        raise NoParticipation()
    record = await get_for(session, participant_id=participant.id)
    if record is None:
        record = await _create(session, participant_id=participant.id, now=now)
    if record.revoked_at is not None:
        raise CertificateRevoked(folio=record.folio)
    if record.folio is None:
        record.folio = certificate_folio(consultation, record.id)
    record.name = clean_name
    record.topics = topics
    record.updated_at = now
    await session.flush()
    return record


async def _create(session: AsyncSession, *, participant_id: int, now: datetime) -> Certificate:
    record = Certificate(
        participant_id=participant_id, token=new_token(), topics=[], issued_at=now, updated_at=now
    )
    try:
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        # Another process issued it at the same moment: one certificate per participant.
        existing = await get_for(session, participant_id=participant_id)
        if existing is None:
            raise
        return existing
    return record


async def verify(
    session: AsyncSession,
    *,
    consultation: Consultation,
    token: str = "",
    folio: str = "",
    code: str = "",
    language: str = "es",
) -> CertificateView | None:
    """The public view of the certificate with ``token`` (or with ``folio`` and its short
    ``code``); None if no such certificate."""
    if token:
        record = await by_token(session, token=token)
    else:
        record = await by_folio_and_code(session, folio=folio, code=code)
    if record is None or record.folio is None or record.name is None:
        return None
    view = view_of(consultation, record, language=language)
    folios = await public_proposals.published_folios(session, participant_id=record.participant_id)
    return replace(view, proposals=tuple(folios))


def view_of(
    consultation: Consultation, record: Certificate, *, language: str = "es"
) -> CertificateView:
    """The public view of a stored certificate (names resolved from the consultation)."""
    zone = consultation.exercise.timezone
    revoked_at = as_aware(record.revoked_at) if record.revoked_at else None
    issued_at = as_aware(record.issued_at)
    return CertificateView(
        valid=revoked_at is None,
        revoked=revoked_at is not None,
        revoked_at=revoked_at,
        revoked_on=long_date(revoked_at, zone=zone, language=language) if revoked_at else None,
        revoke_reason=record.revoke_reason if revoked_at else None,
        name=record.name or "",
        exercise_title=consultation.text(consultation.exercise.title, language),
        topics=topic_names(consultation, record.topics, language=language),
        issued_at=issued_at,
        issued_on=long_date(issued_at, zone=zone, language=language),
        folio=record.folio or "",
    )


def topic_names(
    consultation: Consultation, topics: list[list[str]], *, language: str = "es"
) -> tuple[tuple[str, str], ...]:
    """(pillar name, topic name) for stored [pillar, topic] keys; unknown keys shown as is."""
    named = []
    for pillar_key, topic_key in topics:
        pillar = consultation.pillar(pillar_key)
        topic = pillar.topic(topic_key) if pillar else None
        named.append(
            (
                consultation.text(pillar.name, language) if pillar else pillar_key,
                consultation.text(topic.name, language) if topic else topic_key,
            )
        )
    return tuple(named)


async def revoke_by(
    session: AsyncSession,
    *,
    actor_id: int,
    admin_ids: Iterable[int],
    folio: str,
    reason: str,
    now: datetime,
) -> Certificate:
    """A staff member revokes a certificate: the role is checked again here (NotAllowed)."""
    await staff.require(session, user_id=actor_id, admin_ids=admin_ids, permission="revoke")
    return await revoke(
        session, folio=folio, reason=reason, now=now, actor=audit.staff_actor(actor_id)
    )


async def revoke(
    session: AsyncSession, *, folio: str, reason: str, now: datetime, actor: str = audit.CLI
) -> Certificate:
    """Revoke the certificate with ``folio``; written to the audit log as done by ``actor``.

    Every verification page says so ``PAGES_AGREE_SECONDS`` after the commit.
    """
    record = await session.scalar(select(Certificate).where(Certificate.folio == folio.strip()))
    if record is None:
        raise NotFound(f"No existe la constancia {folio}", folio=folio)
    text = clean_text(reason)[:REASON_MAX_CHARS]
    if not text:
        raise TextNotReadable()
    if record.revoked_at is None:
        record.revoked_at = now
    record.revoke_reason = text
    record.updated_at = now
    await session.flush()
    await cache_versions.bump(session, cache_versions.CERTIFICATES)
    await audit.record(
        session,
        actor=actor,
        action="certificate.revoke",
        target=f"certificate:{record.folio}",
        now=now,
        details={"reason": text},  # a later revocation's reason replaces the page's, not this
    )
    return record


async def pages_agree() -> None:
    """Wait until every process's verification page shows a revocation just committed."""
    await asyncio.sleep(PAGES_AGREE_SECONDS + 0.1)


def _order(consultation: Consultation, pillar_key: str, topic_key: str) -> tuple[int, int, str]:
    pillar = consultation.pillar(pillar_key)
    if pillar is None:
        return (999, 999, f"{pillar_key}/{topic_key}")
    keys = [t.key for t in pillar.topics]
    index = keys.index(topic_key) if topic_key in keys else 999
    return (pillar.number, index, topic_key)
