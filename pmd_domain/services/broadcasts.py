"""Campaign broadcasts: audience, draft → queued → sending → done, deliveries, leases.

A campaign is written as a draft, then confirmed: confirming snapshots its
recipients as one ``deliveries`` row per participant (one ``INSERT … SELECT``; the
unique constraint on campaign and participant makes a second snapshot a no-op).

A sender (``bot.broadcast``) works in steps, each one transaction
(``next_batch``): it records the outcome of the previous batch, takes or renews a
lease on the oldest campaign that is due (``lock_owner``/``lock_until``, so only one
process sends at a time even when several share the database), and marks the next
few deliveries ``sending`` *before* calling Telegram. A crash therefore leaves at
most one batch uncertain; whoever takes the lease next marks those ``failed``
("interrupted") instead of sending them again — nobody gets a campaign twice.
Muted, unreachable and erased participants are re-checked when their turn comes
and ``skipped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Campaign, Delivery, Participant, Proposal
from pmd_domain.digits import is_digits, number
from pmd_domain.errors import InvalidAudience, InvalidCampaign, NotFound, WrongCampaignState
from pmd_domain.i18n import Catalogs
from pmd_domain.services import audit, staff
from pmd_domain.services.texts import clean_text
from pmd_domain.statuses import CampaignStatus, DeliveryStatus

CHANNEL = "telegram"
CAMPAIGN_CHANNELS = ("telegram", "whatsapp")  # channels that take campaign messages
DEMOGRAPHIC_KINDS = ("gender", "age_group", "sector", "postal_code")
AUDIENCE_KINDS = ("all", "pillar", *DEMOGRAPHIC_KINDS, "source", "unfinished")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTON_TEXT = 64
LEASE = timedelta(seconds=10)
INTERRUPTED = "interrupted"
# Statuses a sender works on; a paused or cancelled campaign is left alone.
DUE = (CampaignStatus.QUEUED, CampaignStatus.SENDING)
# Campaigns that started and have not ended (paused ones included).
UNFINISHED = (CampaignStatus.QUEUED, CampaignStatus.SENDING, CampaignStatus.PAUSED)
FINAL = (DeliveryStatus.SENT, DeliveryStatus.BLOCKED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


class CampaignControl(StrEnum):
    """What staff can do to a running campaign (its progress message's buttons, the panel's)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Audience:
    """Who receives a campaign: everyone, or one criterion (``kind`` and ``value``)."""

    kind: str = "all"
    value: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The form stored in ``campaigns.audience``."""
        return {"kind": self.kind, "value": self.value}

    @property
    def spec(self) -> str:
        """The command-line form: ``all``, ``pillar:servicios``, ``unfinished``."""
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def parse_audience(spec: str, *, consultation: Consultation) -> Audience:
    """``all`` | ``pillar:KEY`` | ``gender:KEY`` ... | ``source:SRC`` | ``unfinished``."""
    kind, _, value = spec.strip().partition(":")
    return check_audience(
        Audience(kind.strip().lower(), value.strip() or None), consultation=consultation
    )


def audience_from_json(data: dict[str, Any] | None) -> Audience:
    """The audience stored with a campaign."""
    data = data or {}
    return Audience(str(data.get("kind") or "all"), data.get("value"))


def check_audience(audience: Audience, *, consultation: Consultation) -> Audience:
    """``audience`` if the consultation knows its criterion and value; InvalidAudience if not."""
    kind, value = audience.kind, audience.value
    choices = ", ".join(AUDIENCE_KINDS)
    if kind not in AUDIENCE_KINDS:
        raise InvalidAudience(
            f"audiencia desconocida «{audience.spec}»; usa una de: {choices}", spec=audience.spec
        )
    if kind in ("all", "unfinished"):
        if value is not None:
            raise InvalidAudience(f"{kind} no lleva valor", spec=audience.spec)
        return audience
    if not value:
        raise InvalidAudience(f"falta el valor de {kind} ({choices})", spec=audience.spec)
    known: list[str] | None = None
    if kind == "pillar":
        known = [p.key for p in consultation.pillars]
    elif kind in DEMOGRAPHIC_KINDS and kind != "postal_code":
        question = consultation.question(kind)
        known = [o.key for o in question.options] if question else []
    elif (kind == "postal_code" and not (is_digits(value) and len(value) == 5)) or (
        kind == "source" and len(value) > 64
    ):
        known = []
    if known is not None and value not in known:
        raise InvalidAudience(
            f"{kind}:{value} no existe; valores posibles: {', '.join(known) or '—'}",
            spec=audience.spec,
        )
    return audience


def options_of(consultation: Consultation, kind: str, lang: str) -> list[tuple[str, str]]:
    """``(value, label)`` of every option the consultation file gives an audience criterion
    (pillars, or a question's options; campaign sources come from ``sources``)."""
    if kind == "pillar":
        return [(p.key, consultation.text(p.name, lang)) for p in consultation.pillars]
    question = consultation.question(kind)
    options = question.options if question else []
    return [(o.key, consultation.text(o.label, lang)) for o in options]


def describe(catalogs: Catalogs, consultation: Consultation, audience: Audience, lang: str) -> str:
    """The audience in words (``broadcast.label.<kind>``), for every channel and the panel."""
    value = audience.value or ""
    if audience.kind in ("pillar", *DEMOGRAPHIC_KINDS):
        value = dict(options_of(consultation, audience.kind, lang)).get(value, value)
    return catalogs.text(lang, f"broadcast.label.{audience.kind}", value=value)


def _matches(audience: Audience) -> ColumnElement[bool]:
    """The participants an audience names (Telegram or WhatsApp, not erased), as a WHERE clause."""
    person = Participant
    clauses: list[ColumnElement[bool]] = [
        person.channel.in_(CAMPAIGN_CHANNELS),
        person.erased_at.is_(None),
        person.external_id.is_not(None),
    ]
    if audience.kind == "pillar":
        clauses.append(
            exists().where(Proposal.participant_id == person.id, Proposal.pillar == audience.value)
        )
    elif audience.kind == "source":
        clauses.append(person.source == audience.value)
    elif audience.kind == "unfinished":
        clauses.append(person.proposals_made == 0)
    elif audience.kind in DEMOGRAPHIC_KINDS:
        clauses.append(getattr(person, audience.kind) == audience.value)
    return and_(*clauses)


@dataclass(frozen=True)
class AudienceSize:
    """How many participants an audience names, and how many of them can be reached."""

    matching: int
    reachable: int


async def count_audience(session: AsyncSession, *, audience: Audience) -> AudienceSize:
    """Size of ``audience`` now; ``reachable`` leaves out muted and blocked citizens."""
    reachable = and_(Participant.muted.is_(False), Participant.reachable.is_(True))
    row = (
        await session.execute(
            select(func.count(), func.count().filter(reachable)).where(_matches(audience))
        )
    ).one()
    return AudienceSize(matching=int(row[0]), reachable=int(row[1]))


async def sources(session: AsyncSession, *, limit: int = 12) -> list[str]:
    """The most frequent campaign sources of the participants campaigns reach."""
    rows = await session.execute(
        select(Participant.source)
        .where(Participant.source.is_not(None), Participant.channel.in_(CAMPAIGN_CHANNELS))
        .group_by(Participant.source)
        .order_by(func.count().desc(), Participant.source)
        .limit(limit)
    )
    return [str(source) for (source,) in rows]


def check_content(
    *, text: str, photo: str | None, button_text: str | None, button_url: str | None
) -> None:
    """InvalidCampaign when a campaign could not be sent as written."""
    limit = MAX_CAPTION if photo else MAX_TEXT
    if not clean_text(text):  # nothing, or only spaces and control characters
        raise InvalidCampaign("el texto está vacío", problem="empty")
    if photo is not None and "://" in photo and not photo.startswith("https://"):
        raise InvalidCampaign(
            "la imagen debe ser una URL https:// o un file_id de Telegram", problem="photo"
        )
    if len(text) > limit:
        raise InvalidCampaign(
            f"el texto tiene {len(text)} caracteres; el máximo es {limit}",
            problem="too_long",
            length=len(text),
            max=limit,
        )
    if (button_text is None) != (button_url is None):
        raise InvalidCampaign("un botón necesita texto y enlace", problem="button")
    if button_text is not None and not 0 < len(button_text.strip()) <= MAX_BUTTON_TEXT:
        raise InvalidCampaign(
            f"el texto del botón debe tener de 1 a {MAX_BUTTON_TEXT} caracteres", problem="button"
        )
    if button_url is not None and not button_url.startswith(("https://", "http://", "tg://")):
        raise InvalidCampaign("el enlace del botón debe empezar con https://", problem="url")


async def create(
    session: AsyncSession,
    *,
    consultation: Consultation,
    text: str,
    audience: Audience,
    now: datetime,
    photo: str | None = None,
    button_text: str | None = None,
    button_url: str | None = None,
    created_by: int | None = None,
) -> Campaign:
    """A new campaign in ``draft``: nothing is sent until it is confirmed."""
    check_audience(audience, consultation=consultation)
    check_content(text=text, photo=photo, button_text=button_text, button_url=button_url)
    campaign = Campaign(
        text=text,
        photo=photo,
        button_text=button_text,
        button_url=button_url,
        audience=audience.as_json(),
        status=CampaignStatus.DRAFT,
        created_by=created_by,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def get(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """The campaign ``campaign_id``; NotFound otherwise."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no hay difusión {campaign_id}", campaign=campaign_id)
    return campaign


async def recent(session: AsyncSession, *, limit: int = 20) -> list[Campaign]:
    """The latest campaigns, newest first."""
    return list(await session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


async def _transition(
    session: AsyncSession, *, campaign_id: int, allowed: Sequence[str], values: dict[str, Any]
) -> Campaign:
    """Change a campaign's status if it is in one of ``allowed`` (one conditional UPDATE)."""
    result = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # The row as it is now, whether this statement changed it or not (one read).
    campaign = await session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound(f"no hay difusión {campaign_id}", campaign=campaign_id)
    if not result.rowcount:  # type: ignore[attr-defined]
        raise WrongCampaignState(
            f"la difusión {campaign_id} está {campaign.status}",
            campaign=campaign_id,
            status=campaign.status,
        )
    return campaign


async def confirm(
    session: AsyncSession,
    *,
    campaign_id: int,
    now: datetime,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> int:
    """Queue a draft and snapshot its recipients; how many deliveries were created."""
    campaign = await _transition(
        session,
        campaign_id=campaign_id,
        allowed=(CampaignStatus.DRAFT,),
        values={
            "status": CampaignStatus.QUEUED,
            "progress_chat_id": progress_chat_id,
            "progress_message_id": progress_message_id,
        },
    )
    audience = audience_from_json(campaign.audience)
    recipients = (
        select(
            literal(campaign_id), Participant.id, literal(str(DeliveryStatus.PENDING)), literal(0)
        )
        .where(_matches(audience))
        .order_by(Participant.id)
    )
    result = await session.execute(
        insert(Delivery).from_select(
            ["campaign_id", "participant_id", "status", "attempts"], recipients
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Content:
    """What a campaign says: its text, and an optional picture or link button."""

    text: str
    photo: str | None = None
    button_text: str | None = None
    button_url: str | None = None


@dataclass(frozen=True)
class Queued:
    """A campaign just queued and how many recipients its snapshot holds."""

    campaign: Campaign
    recipients: int


async def queue(
    session: AsyncSession,
    *,
    consultation: Consultation,
    content: Content,
    audience: Audience,
    now: datetime,
    staff_id: int | None = None,
    admin_ids: Iterable[int] = (),
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> Queued:
    """Write, confirm and snapshot a campaign in the caller's transaction, and audit it.

    The one way to send a campaign: the bot, the web panel and the CLI call it alike.
    ``staff_id`` (None for the command line) must still hold the "broadcast" permission.
    """
    if staff_id is not None:
        await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission="broadcast")
    campaign = await create(
        session,
        consultation=consultation,
        text=content.text,
        audience=audience,
        now=now,
        photo=content.photo,
        button_text=content.button_text,
        button_url=content.button_url,
        created_by=staff_id,
    )
    recipients = await confirm(
        session,
        campaign_id=campaign.id,
        now=now,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    await audit.record(
        session,
        actor=audit.CLI if staff_id is None else audit.staff_actor(staff_id),
        action="broadcast.queue",
        target=f"campaign:{campaign.id}",
        now=now,
        details={"audience": audience.spec, "recipients": recipients},
    )
    return Queued(campaign, recipients)


async def pause(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """Stop sending after the batch in flight; ``resume`` continues."""
    return await _transition(
        session, campaign_id=campaign_id, allowed=DUE, values={"status": CampaignStatus.PAUSED}
    )


async def resume(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """Queue a paused campaign again."""
    return await _transition(
        session,
        campaign_id=campaign_id,
        allowed=(CampaignStatus.PAUSED,),
        values={"status": CampaignStatus.QUEUED},
    )


async def cancel(session: AsyncSession, *, campaign_id: int, now: datetime) -> Campaign:
    """Stop for good; what is still pending is never sent."""
    return await _transition(
        session,
        campaign_id=campaign_id,
        allowed=(CampaignStatus.DRAFT, *UNFINISHED),
        values={"status": CampaignStatus.CANCELLED, "finished_at": now},
    )


@dataclass(frozen=True)
class Progress:
    """Delivery counts of a campaign."""

    status: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every recipient of the snapshot."""
        return sum(self.counts.values())

    def __getitem__(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def done(self) -> int:
        """Recipients whose delivery is settled (sent, blocked, failed or skipped)."""
        return sum(self[s] for s in FINAL)


async def progress(session: AsyncSession, *, campaign_id: int) -> Progress:
    """The campaign's status and how many deliveries are in each state."""
    campaign = await get(session, campaign_id=campaign_id)
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    )
    return Progress(campaign.status, {str(status): int(n) for status, n in rows})


async def unfinished_progress(session: AsyncSession) -> list[tuple[int, Progress]]:
    """The progress of every campaign queued, sending or paused (for monitoring)."""
    rows = await session.scalars(
        select(Campaign.id).where(Campaign.status.in_(UNFINISHED)).order_by(Campaign.id)
    )
    return [(cid, await progress(session, campaign_id=cid)) for cid in list(rows)]


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Recipient:
    """One message to send: the delivery, the citizen's channel and chat there."""

    delivery_id: int
    participant_id: int
    chat_id: str
    channel: str = CHANNEL


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery: ``sent``, ``blocked``, ``failed`` or back to ``pending``."""

    delivery_id: int
    participant_id: int
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    """The next deliveries of the campaign a sender holds the lease of."""

    campaign: Campaign
    recipients: list[Recipient]


CONTROLS = tuple(CampaignControl)


async def control(
    session: AsyncSession,
    *,
    campaign_id: int,
    action: str,
    now: datetime,
    staff_id: int | None = None,
    admin_ids: Iterable[int] = (),
) -> Progress:
    """Apply ``action`` (one of ``CONTROLS``; anything else changes nothing) and say
    where the campaign stands. Written to the audit log; ``staff_id`` (None for the
    command line) must still hold the "broadcast" permission."""
    if staff_id is not None:
        await staff.require(session, user_id=staff_id, admin_ids=admin_ids, permission="broadcast")
    if action in CONTROLS:
        await audit.record(
            session,
            actor=audit.CLI if staff_id is None else audit.staff_actor(staff_id),
            action=f"broadcast.{action}",
            target=f"campaign:{campaign_id}",
            now=now,
        )
    if action == CampaignControl.PAUSE:
        await pause(session, campaign_id=campaign_id)
    elif action == CampaignControl.RESUME:
        await resume(session, campaign_id=campaign_id)
    elif action == CampaignControl.CANCEL:
        await cancel(session, campaign_id=campaign_id, now=now)
    return await progress(session, campaign_id=campaign_id)


async def record(session: AsyncSession, *, outcomes: Iterable[Outcome], now: datetime) -> None:
    """Store the outcome of sent deliveries; a blocked citizen becomes unreachable."""
    by_status: dict[tuple[str, str | None], list[int]] = {}
    blocked: list[int] = []
    for outcome in outcomes:
        by_status.setdefault((outcome.status, outcome.error), []).append(outcome.delivery_id)
        if outcome.status == DeliveryStatus.BLOCKED:
            blocked.append(outcome.participant_id)
    for (status, error), ids in by_status.items():
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(
                status=status, error=error, sent_at=now if status == DeliveryStatus.SENT else None
            )
        )
    if blocked:
        await session.execute(
            update(Participant).where(Participant.id.in_(blocked)).values(reachable=False)
        )


async def _lease(session: AsyncSession, *, campaign: Campaign, owner: str, now: datetime) -> bool:
    """Take or renew the lease on ``campaign``; False when another sender holds it."""
    previous = campaign.lock_owner
    result = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign.id,
            Campaign.status.in_(DUE),
            or_(
                Campaign.lock_owner.is_(None),
                Campaign.lock_owner == owner,
                Campaign.lock_until < now,
            ),
        )
        .values(
            status=CampaignStatus.SENDING,
            lock_owner=owner,
            lock_until=now + LEASE,
            started_at=func.coalesce(Campaign.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    if previous != owner:
        # Whatever a previous sender had in flight may or may not have reached the
        # citizen: never send it again.
        await session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.FAILED, error=INTERRUPTED)
        )
    await session.refresh(campaign)
    return True


async def release(session: AsyncSession, *, owner: str) -> None:
    """Give up ``owner``'s leases so another sender may continue."""
    await session.execute(
        update(Campaign)
        .where(Campaign.lock_owner == owner)
        .values(lock_owner=None, lock_until=None)
    )


async def _claim(
    session: AsyncSession, *, campaign_id: int, limit: int
) -> tuple[list[Recipient], int]:
    """Mark the next ``limit`` pending deliveries ``sending`` (skipping who opted out)."""
    rows = (
        await session.execute(
            select(
                Delivery.id,
                Delivery.participant_id,
                Participant.external_id,
                Participant.muted,
                Participant.reachable,
                Participant.erased_at,
                Participant.channel,
            )
            .join(Participant, Participant.id == Delivery.participant_id)
            .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.PENDING)
            .order_by(Delivery.id)
            .limit(limit)
        )
    ).all()
    recipients: list[Recipient] = []
    skipped: list[int] = []
    for delivery_id, participant_id, external_id, muted, reachable, erased_at, channel in rows:
        chat = str(external_id or "")
        if muted or not reachable or erased_at is not None or not _addressable(channel, chat):
            skipped.append(delivery_id)
        else:
            recipients.append(Recipient(delivery_id, participant_id, chat, channel))
    if skipped:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(skipped)).values(status=DeliveryStatus.SKIPPED)
        )
    if recipients:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([r.delivery_id for r in recipients]))
            .values(status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1)
        )
    return recipients, len(rows)


def _addressable(channel: str, chat: str) -> bool:
    """Whether a campaign can reach this chat: a Telegram chat id, a WhatsApp chat's hash."""
    if channel == CHANNEL:
        return number(chat, signed=True) is not None
    return channel in CAMPAIGN_CHANNELS and bool(chat)


async def next_batch(
    session: AsyncSession,
    *,
    owner: str,
    limit: int,
    now: datetime,
    outcomes: Sequence[Outcome] = (),
) -> Batch | None:
    """One sender step: record ``outcomes``, lease the oldest due campaign, claim a batch.

    Campaigns go out one at a time, oldest first, whichever process sends them. A
    campaign with nothing left becomes ``done`` (its final batch is returned empty so the
    sender can report it). None when nothing is due or another sender holds the lease.
    """
    await record(session, outcomes=outcomes, now=now)
    # Leases of this sender on campaigns that were paused or cancelled meanwhile.
    await session.execute(
        update(Campaign)
        .where(Campaign.lock_owner == owner, Campaign.status.not_in(DUE))
        .values(lock_owner=None, lock_until=None)
    )
    while True:
        campaign = await session.scalar(
            select(Campaign).where(Campaign.status.in_(DUE)).order_by(Campaign.id).limit(1)
        )
        if campaign is None:
            return None
        if not await _lease(session, campaign=campaign, owner=owner, now=now):
            return None
        recipients, seen = await _claim(session, campaign_id=campaign.id, limit=limit)
        if recipients:
            return Batch(campaign, recipients)
        if seen:
            continue  # a whole batch of skipped citizens: claim the next one
        in_flight = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.SENDING)
        )
        if in_flight:
            return None  # cannot happen with one owner; wait for their outcome
        await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(status=CampaignStatus.DONE, finished_at=now, lock_owner=None, lock_until=None)
        )
        await session.refresh(campaign)
        return Batch(campaign, [])


async def renew(session: AsyncSession, *, campaign_id: int, owner: str, now: datetime) -> bool:
    """Extend ``owner``'s lease during a long wait; False if it was lost or the campaign stopped."""
    result = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.lock_owner == owner, Campaign.status.in_(DUE))
        .values(lock_until=now + LEASE)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def still_mine(session: AsyncSession, *, campaign_id: int, owner: str) -> bool:
    """Whether ``owner`` still holds the lease of a campaign that is still due (a cheap read)."""
    status = await session.scalar(
        select(Campaign.status).where(Campaign.id == campaign_id, Campaign.lock_owner == owner)
    )
    return status in DUE


async def anything_to_do(session: AsyncSession, *, owner: str) -> bool:
    """Whether a sender has work: a due campaign, or a lease of its own to give up (a read)."""
    found = await session.scalar(
        select(Campaign.id)
        .where(or_(Campaign.status.in_(DUE), Campaign.lock_owner == owner))
        .limit(1)
    )
    return found is not None
