"""Mi participación: the citizen's proposals (folio, status, outcome, supports) and supports given."""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.conversation import certificate_flow
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, clip, rows, screen, show
from pmd_domain.db.models import Proposal
from pmd_domain.services import proposals
from pmd_domain.statuses import ProposalStatus

STATE = "mine"
LINE_CHARS = 120


class MineChoice(StrEnum):
    """The buttons of Mi participación."""

    CERTIFICATE = "c"
    MENU = "m"


async def enter(ctx: Ctx) -> Replies:
    """Show Mi participación."""
    return await show(ctx, STATE)


def _line(ctx: Ctx, record: Proposal) -> str:
    pillar = ctx.consultation.pillar(record.pillar)
    topic = pillar.topic(record.topic) if pillar else None
    status = ctx.t(f"mine.status.{record.status}")
    if record.status == ProposalStatus.REJECTED and record.moderation_reason:
        status += " — " + ctx.t("mine.reason", reason=clip(record.moderation_reason, 200))
    lines = [
        f"{record.folio} · {ctx.c(topic.name) if topic else record.topic}",
        f"“{clip(record.problem, LINE_CHARS)}”",
        ctx.t("mine.status", status=status),
        ctx.t("mine.supports", count=record.supports),
    ]
    if record.outcome:
        outcome = ctx.t(f"mine.outcome.{record.outcome}")
        if record.outcome_note:
            outcome += f" ({clip(record.outcome_note, 200)})"
        lines.append(ctx.t("mine.outcome", outcome=outcome))
    if record.status == ProposalStatus.PUBLISHED and record.folio:
        lines.append(ctx.t("mine.public_link", url=ctx.links.proposal(record.folio)))
    return "\n".join(lines)


async def prompt(ctx: Ctx) -> Replies:
    """The list, the supports given, buttons to the certificate and the menu."""
    person = ctx.participant
    assert person is not None
    records = await proposals.of_participant(ctx.session, participant_id=person.id)
    parts = [ctx.t("mine.title")]
    if records:
        parts += [_line(ctx, r) for r in records]
    else:
        parts.append(ctx.t("mine.no_proposals"))
    parts.append(ctx.t("mine.supports_given", count=person.supports_given))
    buttons = [
        ctx.button(ctx.t("menu.certificate"), MineChoice.CERTIFICATE),
        ctx.button(ctx.t("common.menu"), MineChoice.MENU),
    ]
    return [Reply(text="\n\n".join(parts), buttons=rows(buttons, per_row=2))]


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """To the certificate or the menu."""
    if action == MineChoice.CERTIFICATE:
        return await certificate_flow.begin(ctx)
    if action == MineChoice.MENU:
        return await show(ctx, "menu")
    return None


screen(STATE, prompt, button=on_button)
