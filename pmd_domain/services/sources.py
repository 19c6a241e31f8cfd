"""Campaign sources recorded before the list: folded into ``otra``.

A database from before the consultation file listed its sources (or one whose list
lost a key) may hold deep-link payloads that are not in the list. ``fold_unlisted``
records them as ``otra``, in the participants and in the counters, and drops the
counter rows named after them, so that no visitor-chosen text stays stored as a key.
``pmd serve`` runs it at start, after the migrations.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.consultation.schema import OTHER_SOURCE
from pmd_domain.db.models import Participant, StatCounter
from pmd_domain.services.counters import NO_ANSWER, Bump, bump


async def fold_unlisted(session: AsyncSession, *, consultation: Consultation) -> int:
    """Record every source that is not in the list as ``otra``; how many participants changed."""
    kept = [*consultation.source_list(), OTHER_SOURCE]
    result = await session.execute(
        update(Participant)
        .where(Participant.source.is_not(None), Participant.source.not_in(kept))
        .values(source=OTHER_SOURCE)
        .execution_options(synchronize_session=False)
    )
    kept.append(NO_ANSWER)
    rows = (
        await session.execute(
            select(StatCounter.metric, StatCounter.bucket, StatCounter.value).where(
                StatCounter.dimension == "source", StatCounter.bucket.not_in(kept)
            )
        )
    ).all()
    changes: list[Bump] = []
    for metric, bucket, value in rows:
        changes += [
            (metric, "source", bucket, -int(value)),
            (metric, "source", OTHER_SOURCE, int(value)),
        ]
    await bump(session, changes)
    if rows:
        await session.execute(
            delete(StatCounter).where(
                StatCounter.dimension == "source", StatCounter.bucket.not_in(kept)
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
