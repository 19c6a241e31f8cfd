"""Time helpers: the domain works in aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current moment, timezone-aware (UTC)."""
    return datetime.now(UTC)


def as_aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for stored UTC values; make them aware again."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_moment(moment: datetime, zone: str) -> datetime:
    """``moment`` on the consultation's clock (its time zone)."""
    return as_aware(moment).astimezone(ZoneInfo(zone))


def local_date(moment: datetime, zone: str) -> date:
    """The calendar day of ``moment`` in the consultation's time zone."""
    return local_moment(moment, zone).date()


def local_day(moment: datetime, zone: str) -> str:
    """The calendar day (YYYY-MM-DD) of ``moment`` in the consultation's time zone."""
    return local_date(moment, zone).isoformat()
