"""Periodic clean-up of rows that only matter for a while.

- processed update ids: Telegram re-delivers an update for at most 24 hours, so ids
  older than ``UPDATE_IDS_KEPT`` can no longer come back;
- staff login links, once expired for a day (used or not);
- staff drafts (an unfinished broadcast or rejection) untouched for a week;
- activity counts (per-address windows, the anomaly watch) older than two days;
- verification codes expired unused for more than ``CODES_KEPT`` (used ones stay:
  they say who was verified how and when).
- the outbox's replies, two days after they were settled (``outbox.prune``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.db.models import ProcessedUpdate, StaffDraft, StaffLogin, VerificationCode
from pmd_domain.services import activity, outbox

UPDATE_IDS_KEPT = timedelta(days=2)
LOGINS_KEPT = timedelta(days=1)
DRAFTS_KEPT = timedelta(days=7)
CODES_KEPT = timedelta(days=30)


async def prune(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    """Delete what is no longer needed; the number of rows removed per table."""
    removed = {}
    for name, statement in (
        (
            "processed_updates",
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - UPDATE_IDS_KEPT),
        ),
        ("staff_logins", delete(StaffLogin).where(StaffLogin.expires_at < now - LOGINS_KEPT)),
        ("staff_drafts", delete(StaffDraft).where(StaffDraft.updated_at < now - DRAFTS_KEPT)),
        (
            "verification_codes",
            delete(VerificationCode).where(
                VerificationCode.used_at.is_(None),
                VerificationCode.expires_at < now - CODES_KEPT,
            ),
        ),
    ):
        result = await session.execute(statement)
        removed[name] = int(result.rowcount)  # type: ignore[attr-defined]
    removed["activity"] = await activity.prune(session, now=now)
    removed["outbox"] = await outbox.prune(session, now=now)
    return removed
