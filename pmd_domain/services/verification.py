"""Verifying a browser participant: single-use codes, and the port other methods plug into.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown
as ``XXXX-XXXX`` and read back case-insensitively with spaces and dashes ignored.
Only a keyed hash of it is stored (``PMD_SECRET_KEY``: 31^8 ≈ 8.5·10^11 values would
otherwise be tried from a copy of the database in minutes). Each code has a method,
an expiry and is used once.

The built-in methods, both without an outside service:

- ``in_person``: codes printed on cards (``pmd codes issue``) or issued on the spot
  from the staff panel; the participant becomes ``verified``;
- ``telegram``: a code the bot gives a Telegram participant ("Usar en el navegador");
  typed in the browser chat it merges the browser participant into the Telegram one
  (``services.linking``), so the browser then acts as that participant.

A ``Verifier`` is the port: an object with a ``method`` name and an ``apply`` that
does what a good code of its method means. A municipality that adds an SMS or INE
gateway writes one (see docs/integrity.md) and passes it in ``CodeBook.verifiers``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import PHONE_CHANNELS, Assurance
from pmd_domain.clients import Client
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, VerificationCode
from pmd_domain.errors import (
    AlreadyVerified,
    CodeExpired,
    CodeMistyped,
    CodeUsed,
    Erased,
    NotAllowed,
    TooManyAttempts,
)
from pmd_domain.hashing import keyed_hash
from pmd_domain.services import activity, audit, levels, linking, staff

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
LENGTH = 8
MAX_BATCH = 5_000
PERMISSION = "integrity"


class Method(StrEnum):
    """How a code verifies."""

    IN_PERSON = "in_person"
    TELEGRAM = "telegram"


def new_code() -> str:
    """A fresh random code (about 39.6 bits)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """A code as printed and shown: ``ABCD-2345``."""
    return f"{code[:4]}-{code[4:]}"


def normalised(typed: str) -> str | None:
    """The code in what a citizen typed (any case, spaces and dashes), or None."""
    value = "".join(ch for ch in typed.upper() if ch not in " -_.\u2010\u2011\u2012\u2013\u2014")
    if len(value) != LENGTH or any(ch not in ALPHABET for ch in value):
        return None
    return value


def code_hash(secret: str, code: str) -> str:
    """What the database keeps of a code."""
    return keyed_hash(secret, "code", code)


class Verifier(Protocol):
    """One way of verifying a browser participant (the port)."""

    method: str

    async def apply(
        self,
        session: AsyncSession,
        *,
        consultation: Consultation,
        code: VerificationCode,
        participant: Participant,
        now: datetime,
    ) -> Participant:
        """Do what a good code of this method means; the participant the chat acts as now.

        Raise a DomainError (AlreadyVerified...) to refuse: the code stays unused.
        """
        ...


class InPerson:
    """Codes handed out in person: the participant becomes ``verified``."""

    method = str(Method.IN_PERSON)

    async def apply(
        self,
        session: AsyncSession,
        *,
        consultation: Consultation,
        code: VerificationCode,
        participant: Participant,
        now: datetime,
    ) -> Participant:
        """Raise the participant to ``verified`` (their past supports with them)."""
        if participant.assurance != Assurance.ANONYMOUS:
            raise AlreadyVerified()
        await levels.raise_to(
            session, consultation=consultation, participant=participant, level=Assurance.VERIFIED
        )
        return participant


class TelegramLink:
    """A code from the Telegram bot: the browser becomes that Telegram participant."""

    method = str(Method.TELEGRAM)

    async def apply(
        self,
        session: AsyncSession,
        *,
        consultation: Consultation,
        code: VerificationCode,
        participant: Participant,
        now: datetime,
    ) -> Participant:
        """Merge the browser participant into the code's Telegram participant."""
        if code.participant_id is None or code.participant_id == participant.id:
            raise AlreadyVerified()
        return await linking.merge(
            session,
            consultation=consultation,
            browser=participant,
            into_id=code.participant_id,
            now=now,
        )


BUILT_IN: Mapping[str, Verifier] = {v.method: v for v in (InPerson(), TelegramLink())}


@dataclass(frozen=True)
class CodeBook:
    """What issuing and redeeming codes needs: the key of their hashes and the methods."""

    secret: str
    verifiers: Mapping[str, Verifier] = field(default_factory=lambda: dict(BUILT_IN))


async def _store(
    session: AsyncSession,
    *,
    secret: str,
    method: str,
    expires: datetime,
    now: datetime,
    participant_id: int | None = None,
    issued_by: int | None = None,
) -> str:
    while True:  # a collision among 8.5·10^11 codes is unlikely, but never reuse one
        code = new_code()
        digest = code_hash(secret, code)
        if await session.get(VerificationCode, digest) is None:
            break
    session.add(
        VerificationCode(
            code_hash=digest,
            method=method,
            participant_id=participant_id,
            issued_by=issued_by,
            created_at=now,
            expires_at=expires,
        )
    )
    return code


async def issue_in_person(
    session: AsyncSession,
    *,
    secret: str,
    consultation: Consultation,
    count: int,
    now: datetime,
    staff_id: int | None = None,
    admin_ids: Iterable[int] = (),
    days: int | None = None,
) -> list[str]:
    """``count`` new in-person codes (shown once: only their hashes are kept).

    ``staff_id``: the staff member issuing them (permission ``integrity``); None for
    the command line, which is run by whoever runs the service. Goes to the audit log.
    """
    if not 1 <= count <= MAX_BATCH:
        raise NotAllowed(count=count)
    if staff_id is not None:
        await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission=PERMISSION)
    lifetime = timedelta(days=days or consultation.integrity.codes.in_person_days)
    codes = [
        await _store(
            session,
            secret=secret,
            method=Method.IN_PERSON,
            expires=now + lifetime,
            now=now,
            issued_by=staff_id,
        )
        for _ in range(count)
    ]
    await session.flush()
    await audit.record(
        session,
        actor=audit.CLI if staff_id is None else audit.staff_actor(staff_id),
        action="codes.issue",
        target=f"codes:{Method.IN_PERSON}",
        now=now,
        details={"count": count, "expires": (now + lifetime).isoformat()},
    )
    return codes


async def issue_link(
    session: AsyncSession,
    *,
    secret: str,
    consultation: Consultation,
    participant: Participant,
    now: datetime,
) -> str:
    """A code for a Telegram participant to link a browser; it replaces their earlier one."""
    if participant.erased_at is not None:
        raise Erased("participant")
    if participant.channel not in PHONE_CHANNELS:
        raise NotAllowed(channel=participant.channel)
    await session.execute(
        delete(VerificationCode).where(
            VerificationCode.participant_id == participant.id, VerificationCode.used_at.is_(None)
        )
    )
    minutes = consultation.integrity.codes.link_minutes
    code = await _store(
        session,
        secret=secret,
        method=Method.TELEGRAM,
        expires=now + timedelta(minutes=minutes),
        now=now,
        participant_id=participant.id,
    )
    await session.flush()
    return code


async def count_attempt(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participant: Participant,
    client: Client | None,
    now: datetime,
) -> None:
    """Count one attempt at typing a code: TooManyAttempts past the windows.

    Call it outside the attempt's savepoint, so a wrong code still counts.
    """
    codes, limits = consultation.integrity.codes, consultation.integrity.address_limits
    if not await activity.take(
        session,
        kind=activity.Kind.CODES_BY_PARTICIPANT,
        key=str(participant.id),
        window=codes.attempts,
        now=now,
    ):
        raise TooManyAttempts()
    if client is not None and client.limited:
        assert client.address is not None
        if not await activity.take(
            session,
            kind=activity.Kind.CODES_BY_ADDRESS,
            key=client.address,
            window=limits.codes,
            now=now,
        ):
            raise TooManyAttempts()


@dataclass(frozen=True)
class Redeemed:
    """A good code: its method, and the participant the chat acts as from now on."""

    method: str
    participant: Participant


async def redeem(
    session: AsyncSession,
    *,
    book: CodeBook,
    consultation: Consultation,
    typed: str,
    participant: Participant,
    now: datetime,
) -> Redeemed:
    """Use a typed code for ``participant``: mistyped, used and expired codes are refused.

    The code is marked used with a conditional update (two browsers typing it at
    once: one wins) before its method applies it, in the same transaction.
    """
    if participant.erased_at is not None:
        raise Erased("participant")
    code = normalised(typed)
    if code is None:
        raise CodeMistyped()
    digest = code_hash(book.secret, code)
    found = await session.scalar(
        select(VerificationCode)
        .where(VerificationCode.code_hash == digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    verifier = book.verifiers.get(found.method) if found is not None else None
    if found is None or verifier is None:
        raise CodeMistyped()
    if found.used_at is not None:
        raise CodeUsed()
    if found.expires_at <= now:
        raise CodeExpired()
    taken = await session.execute(
        update(VerificationCode)
        .where(VerificationCode.code_hash == digest, VerificationCode.used_at.is_(None))
        .values(used_at=now, used_by=participant.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeUsed()
    acting = await verifier.apply(
        session, consultation=consultation, code=found, participant=participant, now=now
    )
    return Redeemed(method=verifier.method, participant=acting)
