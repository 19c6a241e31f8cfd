"""An outbox of messages for participants (e.g. "your proposal has an outcome").

A notification is written in the same transaction as the fact it announces; a
sender on the channel side (``bot.notify``) delivers it later in the citizen's
language. Sending takes a row for ``LEASE`` first (a conditional update), so two
processes never send it at once, and marks it sent once it went out. A process that
dies, or a send or a database write that fails, leaves it taken until the lease
ends; then it is sent again: at least once, twice only after such a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import Notification, Participant
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links

OUTCOME_KEY = "notify.outcome"
# Channels with a sender; the browser chat shows outcomes in Mi participación instead.
CHANNELS = ("telegram", "whatsapp")
# How long a process has to send a notification it took (one message, its retries
# within the client included) before another process may take it.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Pending:
    """A notification to send and where to."""

    id: int
    participant_id: int
    channel: str
    external_id: str | None
    language: str
    erased: bool
    text_key: str
    params: dict[str, Any]


async def queue(
    session: AsyncSession,
    *,
    participant: Participant,
    text_key: str,
    params: dict[str, Any],
    now: datetime,
) -> Notification | None:
    """Queue a message for ``participant``; None when no channel of theirs can deliver it."""
    if participant.channel not in CHANNELS or participant.erased_at is not None:
        return None
    record = Notification(
        participant_id=participant.id, text_key=text_key, params=params, created_at=now
    )
    session.add(record)
    await session.flush()
    return record


def _free(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Not sent, and not taken by a process whose lease is still running."""
    return (
        Notification.sent_at.is_(None),
        or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    )


async def pending(
    session: AsyncSession, *, now: datetime, limit: int = 50, channel: str = "telegram"
) -> list[Pending]:
    """The oldest unsent notifications of ``channel`` that no process is sending."""
    rows = await session.execute(
        select(Notification, Participant)
        .join(Participant, Participant.id == Notification.participant_id)
        .where(*_free(now), Participant.channel == channel)
        .order_by(Notification.id)
        .limit(limit)
    )
    return [
        Pending(
            id=note.id,
            participant_id=person.id,
            channel=person.channel,
            external_id=person.external_id,
            language=person.language or "es",
            erased=person.erased_at is not None,
            text_key=note.text_key,
            params=dict(note.params or {}),
        )
        for note, person in rows
    ]


async def claim(session: AsyncSession, *, notification_id: int, now: datetime) -> bool:
    """Take a notification for ``LEASE`` unless it went or another process has it; True if ours."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, *_free(now))
        .values(claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def mark_sent(session: AsyncSession, *, notification_id: int, now: datetime) -> None:
    """It went out, or was given up (dropped, or its citizen is unreachable): never again."""
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(sent_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, *, notification_id: int) -> None:
    """Put a taken notification back in the queue (the send failed for a passing reason)."""
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None))
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )


async def mark_unreachable(session: AsyncSession, *, participant_id: int) -> None:
    """The participant blocked the bot: stop trying to reach them."""
    await session.execute(
        update(Participant)
        .where(Participant.id == participant_id)
        .values(reachable=False)
        .execution_options(synchronize_session=False)
    )


def outcome_message(
    catalogs: Catalogs,
    *,
    language: str,
    folio: str,
    outcome: str,
    note: str | None = None,
    links: Links | None = None,
) -> str:
    """The message that tells a citizen the outcome of their proposal (and where it is public)."""
    parts = [
        catalogs.text(
            language,
            OUTCOME_KEY,
            folio=folio,
            outcome=catalogs.text(language, f"{OUTCOME_KEY}.{outcome}"),
        )
    ]
    if note:
        parts.append(catalogs.text(language, f"{OUTCOME_KEY}.note", note=note))
    if links is not None and folio:
        parts.append(catalogs.text(language, f"{OUTCOME_KEY}.link", url=links.proposal(folio)))
    parts.append(catalogs.text(language, f"{OUTCOME_KEY}.footer"))
    return "\n\n".join(parts)


def render(
    catalogs: Catalogs,
    *,
    language: str,
    text_key: str,
    params: dict[str, Any],
    links: Links | None = None,
) -> str:
    """The text of a notification in ``language`` (``links``: public pages it may point to)."""
    if text_key == OUTCOME_KEY:
        return outcome_message(
            catalogs,
            language=language,
            folio=str(params.get("folio", "")),
            outcome=str(params.get("outcome", "")),
            note=params.get("note") or None,
            links=links,
        )
    # A parameter ``x_key`` names a catalogue text: ``x`` is told in the reader's language.
    given = dict(params)
    for name, value in params.items():
        if name.endswith("_key") and isinstance(value, str) and catalogs.has(value):
            given[name.removesuffix("_key")] = catalogs.text(language, value)
    return catalogs.text(language, text_key, **given)
