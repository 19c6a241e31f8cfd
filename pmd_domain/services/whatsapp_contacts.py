"""WhatsApp chats: the sealed number to reply to, and the 24-hour window it opened.

Every other table knows a WhatsApp chat by the keyed hash of its WhatsApp id
(``external_id``); this one also keeps the number, sealed (``pmd_domain.sealing``),
because replying needs it, and when the citizen last wrote: WhatsApp lets a business
send free-form messages only within 24 hours of the citizen's last message (outside
it, approved templates only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.conversation.types import Button
from pmd_domain.db.dialects import INSERTS, dialect_of
from pmd_domain.db.models import OutboxStep, WhatsAppContact
from pmd_domain.db.statements import execute
from pmd_domain.services import outbox

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)

_TABLE = cast(Table, WhatsAppContact.__table__)
_OUTBOX = cast(Table, OutboxStep.__table__)
_LATEST_REPLIES = (
    select(_OUTBOX.c.replies, _OUTBOX.c.document)
    .where(
        _OUTBOX.c.channel == CHANNEL,
        _OUTBOX.c.external_id == bindparam("external_id"),
    )
    .order_by(_OUTBOX.c.id.desc())
    .limit(1)
)


def _upsert(insert: Any) -> Any:
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["external_id"],
        set_={"last_inbound_at": statement.excluded.last_inbound_at},
    )


_SEEN = {dialect: _upsert(insert) for dialect, insert in INSERTS.items()}


async def seen(
    session: AsyncSession, *, external_id: str, sealed_wa_id: str, now: datetime
) -> None:
    """The citizen wrote at ``now``: remember the chat (its sealed number) and open the window."""
    await execute(
        session,
        _SEEN[dialect_of(session)],
        {
            "external_id": external_id,
            "sealed_wa_id": sealed_wa_id,
            "last_inbound_at": now,
            "created_at": now,
        },
    )


async def lookup(session: AsyncSession, *, external_id: str) -> WhatsAppContact | None:
    """The chat's contact row (sealed number, last inbound time), if it ever wrote."""
    return await session.get(WhatsAppContact, external_id)


async def last_inbound(
    session: AsyncSession, *, external_ids: Sequence[str]
) -> dict[str, datetime]:
    """When each of these chats last wrote (chats never seen are absent)."""
    if not external_ids:
        return {}
    rows = await session.execute(
        select(_TABLE.c.external_id, _TABLE.c.last_inbound_at).where(
            _TABLE.c.external_id.in_(list(external_ids))
        )
    )
    return {str(chat): when for chat, when in rows}


def within_window(last: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may go to a chat that last wrote at ``last``."""
    return last is not None and now - last < WINDOW


async def forget(session: AsyncSession, *, external_id: str) -> None:
    """Delete the chat's sealed number (the citizen erased their data)."""
    await session.execute(delete(_TABLE).where(_TABLE.c.external_id == external_id))


async def latest_choices(session: AsyncSession, *, external_id: str) -> tuple[Button, ...]:
    """The choices of the last reply with buttons sent to the chat (typed answers match them)."""
    row = (await execute(session, _LATEST_REPLIES, {"external_id": external_id})).first()
    if row is None:
        return ()
    for reply in reversed(outbox.decode(row)):
        found = tuple(b for line in reply.buttons for b in line if b.url is None)
        if found:
            return found
    return ()
