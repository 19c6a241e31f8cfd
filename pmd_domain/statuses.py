"""The statuses a row goes through, one vocabulary each.

Each is a ``StrEnum``: a member is the very string stored in the ``status`` column
(and compares equal to it), and the column's check constraint lists the members
(``one_of``), so the code and the database cannot name different statuses.
"""

from __future__ import annotations

from enum import StrEnum


class ProposalStatus(StrEnum):
    """A proposal: waiting for moderation, public, or turned down (with a reason)."""

    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"


class CampaignStatus(StrEnum):
    """A broadcast campaign, from the staff's draft to its end."""

    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class DeliveryStatus(StrEnum):
    """One campaign message to one participant."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"


class OutboxStatus(StrEnum):
    """A step's replies: waiting to go out, delivered, or given up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def one_of(vocabulary: type[StrEnum], column: str = "status") -> str:
    """The check constraint's SQL: ``status IN ('a', 'b', ...)``."""
    return f"{column} IN ({', '.join(repr(str(member)) for member in vocabulary)})"
