"""The outbox: the replies of every conversation step, stored with it, sent after it.

The engine writes a step's replies (one row a step) in the step's own transaction,
so a reply exists exactly when the step committed. The channel delivers them right
after the commit; what it cannot deliver, and what a process left behind when it
died, a sender claims and delivers later (``pmd_domain.outbox_sender``).

- A new row of a channel with a sender (``PUSHED_CHANNELS``) is ``pending`` and
  leased for ``LEASE`` to the process that stored it: that process sends it at once,
  and nobody else touches it meanwhile. Delivered rows are marked ``sent`` in
  batches. A sender claims rows whose lease has passed (``claim``), holding them for
  ``CLAIM``; a process that polls Telegram is the only one of its bot and adopts
  every pending row when it starts (``adopt=True``).
- A browser's replies leave in the answer to its request: they are stored ``sent``,
  to be fetched again (``since``) after a reload.
- A repeated update (same update id) re-sends its step's replies when nobody is on
  them and they are not known delivered (``replay``); the browser gets them again.
- Rows are kept for ``KEPT`` (Telegram repeats an update for at most a day); a row
  still pending after ``EXPIRE_AFTER`` is given up as ``expired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.conversation.types import Button, Document, Outgoing, Reply
from pmd_domain.db.models import OutboxStep, Participant
from pmd_domain.db.statements import execute
from pmd_domain.statuses import OutboxStatus

PUSHED_CHANNELS = frozenset({"telegram", "whatsapp"})
# Channels that read a row's replies after delivery: the browser fetches them again,
# WhatsApp matches a typed answer against the choices last sent.
REREAD_CHANNELS = frozenset({"web", "whatsapp"})
LEASE = timedelta(seconds=5)
CLAIM = timedelta(seconds=30)
KEPT = timedelta(days=2)
EXPIRE_AFTER = timedelta(days=1)
MAX_ERROR_CHARS = 200
BATCH = 500  # ids in one statement

_TABLE = cast(Table, OutboxStep.__table__)
_STORE = _TABLE.insert()
_FIELDS = (
    _TABLE.c.id,
    _TABLE.c.channel,
    _TABLE.c.external_id,
    _TABLE.c.edit_target,
    _TABLE.c.replies,
    _TABLE.c.document,
    _TABLE.c.progress,
    _TABLE.c.attempts,
)
_FREE = or_(_TABLE.c.lease_until.is_(None), _TABLE.c.lease_until < bindparam("now"))


def encode(replies: Sequence[Reply]) -> dict[str, Any]:
    """The ``replies`` and ``document`` columns of a step's replies (one document at most)."""
    documents = [r.document for r in replies if r.document is not None]
    if len(documents) > 1:
        raise ValueError("a step sends at most one document")
    return {
        "replies": [_reply_json(r) for r in replies],
        "document": documents[0].content if documents else None,
    }


def _reply_json(reply: Reply) -> dict[str, Any]:
    found: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        found["buttons"] = [
            [
                {"label": b.label, "url": b.url} if b.url else {"label": b.label, "data": b.data}
                for b in row
            ]
            for row in reply.buttons
        ]
    if reply.edit:
        found["edit"] = True
    if reply.notice:
        found["notice"] = reply.notice
    if reply.limit is not None:
        found["limit"] = reply.limit
    if reply.document is not None:
        found["document"] = {
            "filename": reply.document.filename,
            "mime": reply.document.mime,
            "caption": reply.document.caption,
        }
    return found


def decode(row: Any) -> tuple[Reply, ...]:
    """The replies of an outbox row (an ``OutboxStep`` or a result row with its columns)."""
    replies = []
    for item in row.replies or ():
        document = None
        if item.get("document"):
            meta = item["document"]
            document = Document(
                filename=str(meta["filename"]),
                content=bytes(row.document or b""),
                mime=str(meta["mime"]),
                caption=str(meta.get("caption", "")),
            )
        buttons = tuple(
            tuple(
                Button(label=str(b["label"]), data=str(b.get("data", "")), url=b.get("url"))
                for b in line
            )
            for line in item.get("buttons", ())
        )
        replies.append(
            Reply(
                text=str(item.get("text", "")),
                buttons=buttons,
                document=document,
                edit=bool(item.get("edit", False)),
                notice=item.get("notice"),
                limit=int(item["limit"]) if item.get("limit") is not None else None,
            )
        )
    return tuple(replies)


def _outgoing(row: Any) -> Outgoing:
    return Outgoing(
        id=int(row.id),
        channel=str(row.channel),
        external_id=str(row.external_id),
        replies=decode(row),
        edit_target=row.edit_target,
        progress=int(row.progress),
        attempts=int(row.attempts),
    )


async def store(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    update_id: str | None,
    edit_target: str | None,
    replies: Sequence[Reply],
    now: datetime,
) -> Outgoing:
    """Store the replies of the step in ``session``'s transaction; what to deliver."""
    pushed = channel in PUSHED_CHANNELS
    result = await execute(
        session,
        _STORE,
        {
            "channel": channel,
            "external_id": external_id,
            "update_id": update_id[:64] if update_id else None,
            "edit_target": edit_target,
            **encode(replies),
            "status": OutboxStatus.PENDING if pushed else OutboxStatus.SENT,
            "progress": 0,
            "attempts": 0,
            "lease_until": now + LEASE if pushed else None,
            "created_at": now,
            "sent_at": None if pushed else now,
        },
    )
    return Outgoing(
        id=int(result.inserted_primary_key[0]),
        channel=channel,
        external_id=external_id,
        replies=tuple(replies),
        edit_target=edit_target,
    )


async def replay(
    session: AsyncSession, *, channel: str, update_id: str, now: datetime
) -> Outgoing | None:
    """The stored replies of a repeated update that must be delivered again, if any.

    A browser gets them again whatever happened. A pushed channel gets them only when
    they are not known delivered and nobody is sending them (their lease passed);
    they are then leased to the caller.
    """
    key = (_TABLE.c.channel == channel, _TABLE.c.update_id == update_id[:64])
    if channel not in PUSHED_CHANNELS:
        row = (await session.execute(select(*_FIELDS).where(*key))).first()
        return _outgoing(row) if row is not None else None
    row = (
        await session.execute(
            update(_TABLE)
            .where(*key, _TABLE.c.status == OutboxStatus.PENDING, _FREE)
            .values(lease_until=now + CLAIM)
            .returning(*_FIELDS),
            {"now": now},
        )
    ).first()
    return _outgoing(row) if row is not None else None


async def claimable(session: AsyncSession, *, channel: str, now: datetime) -> bool:
    """Whether ``channel`` has a pending row nobody is sending (a read: cheap when idle)."""
    found = await session.execute(
        select(_TABLE.c.id)
        .where(_TABLE.c.channel == channel, _TABLE.c.status == OutboxStatus.PENDING, _FREE)
        .limit(1),
        {"now": now},
    )
    return found.first() is not None


async def claim(
    session: AsyncSession,
    *,
    channel: str,
    now: datetime,
    adopt: bool = False,
    limit: int = 100,
) -> list[Outgoing]:
    """Lease the oldest pending rows of ``channel`` nobody is sending (all, ``adopt``)."""
    free = [_TABLE.c.channel == channel, _TABLE.c.status == OutboxStatus.PENDING]
    if not adopt:
        free.append(_FREE)
    oldest = select(_TABLE.c.id).where(*free).order_by(_TABLE.c.id).limit(limit)
    rows = await session.execute(
        update(_TABLE)
        .where(_TABLE.c.id.in_(oldest.scalar_subquery()), *free)
        .values(lease_until=now + CLAIM)
        .returning(*_FIELDS),
        {"now": now},
    )
    return sorted((_outgoing(row) for row in rows), key=lambda o: o.id or 0)


async def renew(session: AsyncSession, *, ids: Iterable[int], until: datetime) -> None:
    """Keep the rows ``ids`` leased until ``until`` (their sender is still on them)."""
    for chunk in _chunks(ids):
        await session.execute(
            update(_TABLE)
            .where(_TABLE.c.id.in_(chunk), _TABLE.c.status == OutboxStatus.PENDING)
            .values(lease_until=until)
        )


async def mark_sent(
    session: AsyncSession, *, ids: Iterable[int], channel: str, now: datetime
) -> None:
    """The rows ``ids`` of ``channel`` were delivered.

    Their words are kept only where something reads them again (``REREAD_CHANNELS``);
    elsewhere no copy of what a chat was told (a preview quoting the citizen, a
    moderation screen quoting a proposal, a certificate) stays behind once delivered.
    """
    values: dict[str, Any] = {"status": OutboxStatus.SENT, "sent_at": now, "lease_until": None}
    if channel not in REREAD_CHANNELS:
        values |= {"replies": [], "document": None}
    for chunk in _chunks(ids):
        await session.execute(
            update(_TABLE)
            .where(_TABLE.c.id.in_(chunk), _TABLE.c.status == OutboxStatus.PENDING)
            .values(values)
        )


async def postpone(
    session: AsyncSession, *, outbox_id: int, progress: int, error: str, until: datetime
) -> None:
    """A try failed for a passing reason: record how far it got and why; next try ``until``."""
    await session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == outbox_id, _TABLE.c.status == OutboxStatus.PENDING)
        .values(
            progress=progress,
            attempts=_TABLE.c.attempts + 1,
            error=error[:MAX_ERROR_CHARS],
            lease_until=until,
        )
    )


async def give_up(session: AsyncSession, *, ids: Iterable[int], reason: str, now: datetime) -> None:
    """The rows ``ids`` cannot be delivered (``reason``): they stay, as ``failed``."""
    for chunk in _chunks(ids):
        await session.execute(
            update(_TABLE)
            .where(_TABLE.c.id.in_(chunk), _TABLE.c.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.FAILED, error=reason[:MAX_ERROR_CHARS], lease_until=None)
        )


async def unreachable(session: AsyncSession, *, channel: str, external_id: str) -> None:
    """The chat refuses messages (blocked the bot): its participant is unreachable."""
    await session.execute(
        update(Participant)
        .where(Participant.channel == channel, Participant.external_id == external_id)
        .values(reachable=False)
        .execution_options(synchronize_session=False)
    )


async def since(
    session: AsyncSession, *, channel: str, external_id: str, after: int, limit: int = 50
) -> list[Outgoing]:
    """The steps' replies of one chat stored after the row ``after``, oldest first."""
    rows = await session.execute(
        select(*_FIELDS)
        .where(
            _TABLE.c.channel == channel,
            _TABLE.c.external_id == external_id,
            _TABLE.c.id > after,
        )
        .order_by(_TABLE.c.id)
        .limit(limit)
    )
    return [_outgoing(row) for row in rows]


async def forget_chat(session: AsyncSession, *, channel: str, external_id: str) -> None:
    """Delete every stored reply of one chat (the citizen erased their data)."""
    await session.execute(
        delete(_TABLE).where(_TABLE.c.channel == channel, _TABLE.c.external_id == external_id)
    )


async def move_chat(session: AsyncSession, *, channel: str, old: str, new: str) -> None:
    """Give one chat's stored replies to its new identity (a browser token rotated at consent)."""
    await session.execute(
        update(_TABLE)
        .where(_TABLE.c.channel == channel, _TABLE.c.external_id == old)
        .values(external_id=new)
    )


async def prune(session: AsyncSession, *, now: datetime) -> int:
    """Delete rows settled more than ``KEPT`` ago; give up rows pending too long."""
    result = await session.execute(
        delete(_TABLE).where(
            _TABLE.c.status != OutboxStatus.PENDING, _TABLE.c.created_at < now - KEPT
        )
    )
    await session.execute(
        update(_TABLE)
        .where(_TABLE.c.status == OutboxStatus.PENDING, _TABLE.c.created_at < now - EXPIRE_AFTER)
        .values(status=OutboxStatus.FAILED, error="expired", lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    batch = list(ids)
    for start in range(0, len(batch), BATCH):
        yield batch[start : start + BATCH]
