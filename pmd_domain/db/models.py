"""Database tables (SQLAlchemy 2 declarative). Uniqueness that matters is a constraint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from pmd_domain.statuses import (
    CampaignStatus,
    DeliveryStatus,
    OutboxStatus,
    ProposalStatus,
    one_of,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; always read back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use pmd_domain.clock.utcnow()")
        # Most values are already in UTC (``utcnow()``): converting them again costs more
        # than the rest of their way to the database.
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the text SQLAlchemy's own ``DATETIME`` writes, written faster.

        ``2026-12-02 02:04:08.695509``: the format of SQLAlchemy's SQLite ``DATETIME``
        with its fields in order instead of by name, at about half its cost (a step
        binds several). Elsewhere, the usual way.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            moment = self.process_bind_param(value, dialect)
            if moment is None:
                return None
            return _SQLITE_DATETIME % (
                moment.year,
                moment.month,
                moment.day,
                moment.hour,
                moment.minute,
                moment.second,
                moment.microsecond,
            )

        return process


Moment = UtcDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Participant(Base):
    """A citizen who accepted the privacy notice, on one channel."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_participants_channel_external"),
        Index("ix_participants_origin", "origin", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime] = mapped_column(Moment)
    notice_version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="es")
    source: Mapped[str | None] = mapped_column(String(64), index=True)
    gender: Mapped[str | None] = mapped_column(String(32))
    age_group: Mapped[str | None] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(32))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    demographics_at: Mapped[datetime | None] = mapped_column(Moment)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    supports_given: Mapped[int] = mapped_column(Integer, default=0)
    proposals_made: Mapped[int] = mapped_column(Integer, default=0)
    erased_at: Mapped[datetime | None] = mapped_column(Moment)
    created_at: Mapped[datetime] = mapped_column(Moment)
    # pmd_domain.assurance.Assurance; unknown is anonymous (it does not count).
    assurance: Mapped[str] = mapped_column(
        String(16), default="anonymous", server_default="anonymous"
    )
    origin: Mapped[str | None] = mapped_column(String(32))  # keyed hash of the address
    # a browser participant merged into the one it was linked to (an empty shell since)
    merged_into: Mapped[int | None] = mapped_column(Id)


class ConversationState(Base):
    """Where a participant is in the conversation; written with each step."""

    __tablename__ = "conversation_states"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(Moment)


class ProcessedUpdate(Base):
    """An inbound update already handled: a retried or duplicated update is ignored."""

    __tablename__ = "processed_updates"
    # SQLite: the rows live in the key's B-tree (one page written a step, not two).
    __table_args__ = ({"sqlite_with_rowid": False},)

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(Moment)


class Proposal(Base):
    """A citizen's proposal: problem, proposal and optional 2040 vision."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(one_of(ProposalStatus), name="status"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('incluida', 'considerada', 'no_procede')",
            name="outcome",
        ),
        Index("ix_proposals_status_pillar_views", "status", "pillar", "views"),
        Index("ix_proposals_status_views", "status", "views"),
        Index("ix_proposals_status_pillar_supports", "status", "pillar", "supports"),
        # The public list (/propuestas): newest first within each filter, by keyset.
        Index("ix_proposals_status_id", "status", "id"),
        Index("ix_proposals_status_pillar_id", "status", "pillar", "id"),
        Index("ix_proposals_status_pillar_topic_id", "status", "pillar", "topic", "id"),
        Index("ix_proposals_status_outcome_id", "status", "outcome", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    folio: Mapped[str | None] = mapped_column(String(24), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    pillar: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(32))
    problem: Mapped[str] = mapped_column(Text)
    proposal: Mapped[str] = mapped_column(Text)
    vision: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.PENDING)
    moderation_reason: Mapped[str | None] = mapped_column(Text)
    moderated_by: Mapped[int | None] = mapped_column(BigInteger)
    moderated_at: Mapped[datetime | None] = mapped_column(Moment)
    views: Mapped[int] = mapped_column(Integer, default=0)
    # Supports that count toward the ranking (levels of [integrity] count_levels, not
    # discounted); then every support by level, and those staff discounted.
    supports: Mapped[int] = mapped_column(Integer, default=0)
    supports_phone: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    supports_verified: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    supports_anonymous: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    supports_discounted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reports: Mapped[int] = mapped_column(Integer, default=0)  # reports that count, ever
    confirmed_at: Mapped[datetime | None] = mapped_column(Moment)  # kept after reports
    confirmed_reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    review_since: Mapped[datetime | None] = mapped_column(Moment)  # re-reviewed, still public
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(Moment)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    submitted_at: Mapped[datetime] = mapped_column(Moment, index=True)
    # The author's answers the cross-tabulations counted it under, frozen at submission
    # (``{"gender": "mujer", ...}``), so that an erasure takes out exactly what was added.
    counted_as: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When it was first published (the public timeline); kept if it is reviewed again.
    published_at: Mapped[datetime | None] = mapped_column(Moment)
    # Folio and texts without accents, case-folded (services/public_proposals.search_key).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")


class ProposalAction(Base):
    """Alignment of a proposal with a strategic action of its pillar."""

    __tablename__ = "proposal_actions"

    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(32), primary_key=True)


class Vote(Base):
    """A participant's judgement of a proposal shown to them: support, skip or report."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("proposal_id", "participant_id", name="uq_votes_proposal_participant"),
        CheckConstraint("verdict IN ('support', 'skip', 'report')", name="verdict"),
        Index("ix_votes_participant", "participant_id"),
        Index("ix_votes_origin", "origin", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    verdict: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(Moment)
    channel: Mapped[str | None] = mapped_column(String(16))  # where it was given
    assurance: Mapped[str] = mapped_column(
        String(16), default="anonymous", server_default="anonymous"
    )
    origin: Mapped[str | None] = mapped_column(String(32))  # keyed hash of the address
    discounted_at: Mapped[datetime | None] = mapped_column(Moment)  # by staff, kept for audit
    discounted_by: Mapped[int | None] = mapped_column(BigInteger)


class Certificate(Base):
    """A participation certificate; the token in its QR code is random (≥128 bits)."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    folio: Mapped[str | None] = mapped_column(String(24), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    topics: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(Moment)
    updated_at: Mapped[datetime] = mapped_column(Moment)
    revoked_at: Mapped[datetime | None] = mapped_column(Moment)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class StaffMember(Base):
    """A member of the planning office's staff.

    ``user_id`` is their Telegram user id (always positive) or, for a member who works
    from the web panel only, a negative number given when they are added by e-mail.
    """

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'moderator', 'analyst')", name="role"),
        CheckConstraint("user_id > 0 OR email IS NOT NULL", name="web_only_email"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(Moment)


class StaffLogin(Base):
    """A one-time link into the staff web area; only a hash of the token is kept."""

    __tablename__ = "staff_logins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff.user_id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(Moment)
    used_at: Mapped[datetime | None] = mapped_column(Moment)


class StaffSession(Base):
    """An open session of the staff web panel; the cookie holds the id, this only its hash.

    Logging out deletes the row; a removal or a change of role deletes every row of
    the member, so all their open browsers are out at once.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff.user_id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(Moment)
    expires_at: Mapped[datetime] = mapped_column(Moment)


class Campaign(Base):
    """A broadcast message to an audience of participants."""

    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint(one_of(CampaignStatus), name="status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)
    button_text: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    lock_owner: Mapped[str | None] = mapped_column(String(64))
    lock_until: Mapped[datetime | None] = mapped_column(Moment)
    created_at: Mapped[datetime] = mapped_column(Moment)
    started_at: Mapped[datetime | None] = mapped_column(Moment)
    finished_at: Mapped[datetime | None] = mapped_column(Moment)


class Delivery(Base):
    """One campaign message to one participant; at most one per pair."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "participant_id", name="uq_deliveries_campaign_participant"
        ),
        CheckConstraint(one_of(DeliveryStatus), name="status"),
        Index("ix_deliveries_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(Moment)


class StatCounter(Base):
    """An aggregate count kept up to date in the same transaction as the fact it counts.

    ``metric`` names what is counted (``participants``, ``proposals``, ``supports``);
    ``dimension`` the breakdown (``total``, ``gender``, ``pillar``, ``day``, ``gender:pillar``...);
    ``bucket`` the value (``mujer``, ``2023-06-14``, ``mujer|bienestar``).
    """

    __tablename__ = "stat_counters"

    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(48), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Notification(Base):
    """A message for one participant waiting to be sent by the bot (e.g. an outcome).

    ``claimed_until``: a process is sending it until then; ``sent_at``: it went out
    (or was given up)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    text_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(Moment)
    sent_at: Mapped[datetime | None] = mapped_column(Moment)
    claimed_until: Mapped[datetime | None] = mapped_column(Moment)


class StaffDraft(Base):
    """A staff member's unfinished multi-step command (a broadcast being written, a
    rejection waiting for its reason). In the database so any process takes the next step."""

    __tablename__ = "staff_drafts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(Moment)


class Activity(Base):
    """Events per minute and key (a keyed address hash, a source, a proposal): the sliding
    windows of the per-address limits and the anomaly watch. Pruned by housekeeping."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_kind_slot", "kind", "slot"),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)


class VerificationCode(Base):
    """A single-use verification code; only its keyed hash is stored."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_participant", "participant_id"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(16))
    # the Telegram participant a link code belongs to (None for in-person codes)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    issued_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(Moment)
    expires_at: Mapped[datetime] = mapped_column(Moment)
    used_at: Mapped[datetime | None] = mapped_column(Moment)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))


class LinkedIdentity(Base):
    """Another chat identity that acts as a participant (a browser linked to Telegram)."""

    __tablename__ = "linked_identities"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime] = mapped_column(Moment)


class Kiosk(Base):
    """A browser enrolled by staff as a kiosk: exempt from per-address limits, verifies in person."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_by: Mapped[int] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime] = mapped_column(Moment)
    revoked_at: Mapped[datetime | None] = mapped_column(Moment)


class AuditEntry(Base):
    """One staff action that changes results or trust: who, what, on what, with details."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(Moment)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PublishedFigures(Base):
    """The breakdowns last published (their counter values), shared by every process.

    One row. A process publishes a new batch with a conditional UPDATE on ``version``,
    so two processes never publish twice for the same changes (see
    ``services/disclosure.py``).
    """

    __tablename__ = "published_figures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(Moment)
    mark: Mapped[int] = mapped_column(BigInteger, default=0)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CacheVersion(Base):
    """A number bumped whenever what some process caches changes (e.g. a revocation).

    Every process compares it with the one its cache was built on, so a change made by
    any process (or the CLI) shows everywhere within the check interval.
    """

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ServingProcess(Base):
    """A running ``pmd serve`` process, seen every few seconds (``pmd db restore`` asks)."""

    __tablename__ = "serving_processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(Moment)
    seen_at: Mapped[datetime] = mapped_column(Moment)


class OutboxStep(Base):
    """The replies of one conversation step, stored with it and sent after its commit.

    ``replies`` is the channel-neutral list (text, buttons, edit, notice, document
    name); the document's bytes, at most one a step, are in ``document``. Replies of
    channels a sender pushes (Telegram) are ``pending`` until delivered; a browser's
    leave in the answer to its request and are stored ``sent``. ``lease_until``:
    nobody else sends a pending row before then (the process that stored it sends it
    right after the commit; a sender that claims it renews it). ``progress`` counts
    the replies already delivered, ``error`` says why the last try failed or why the
    row was given up (``failed``).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id", name="uq_outbox_channel_update"),
        CheckConstraint(one_of(OutboxStatus), name="status"),
        Index(
            "ix_outbox_pending",
            "channel",
            "lease_until",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_chat", "channel", "external_id", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    update_id: Mapped[str | None] = mapped_column(String(64))
    edit_target: Mapped[str | None] = mapped_column(String(64))
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(Moment)
    created_at: Mapped[datetime] = mapped_column(Moment)
    sent_at: Mapped[datetime | None] = mapped_column(Moment)


class WhatsAppContact(Base):
    """A WhatsApp chat: the number needed to reply, sealed, and its last inbound message.

    ``external_id`` is the keyed hash of the WhatsApp id that every other table knows
    the chat by; ``sealed_wa_id`` the number itself, encrypted with a key derived from
    ``PMD_SECRET_KEY`` (``whatsapp/contacts.py``), read only to send. ``last_inbound_at``
    opens WhatsApp's 24-hour customer-service window (outside it, templates only).
    """

    __tablename__ = "whatsapp_contacts"

    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_wa_id: Mapped[str] = mapped_column(Text)
    last_inbound_at: Mapped[datetime] = mapped_column(Moment)
    created_at: Mapped[datetime] = mapped_column(Moment)
