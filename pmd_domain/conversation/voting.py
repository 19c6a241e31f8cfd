"""Voting on published proposals: one at a time, least seen first, never one's own.

States: ``v_pick`` (a pillar or all), ``v_show`` (data ``pillar``, ``pid``: the proposal
on display) and ``v_report`` (confirm a report). Verdict buttons carry the proposal
id (``s:<id>`` support, ``k:<id>`` skip, ``r:<id>`` report, ``y:<id>`` confirm report).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select

from pmd_domain.conversation.proposal import PREVIEW_PART_CHARS, closed_text
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, fit, number, rows, screen, show
from pmd_domain.db.models import Proposal, Vote
from pmd_domain.errors import AddressLimit, ExerciseClosed
from pmd_domain.services import votes
from pmd_domain.statuses import ProposalStatus

PICK, SHOW, REPORT = "v_pick", "v_show", "v_report"


class PickChoice(StrEnum):
    """The buttons of the question what to vote on."""

    PILLAR = "x"  # x:<pillar key>
    ALL = "a"
    MENU = "m"


class VerdictChoice(StrEnum):
    """The buttons under a proposal on display (a verdict carries the proposal id)."""

    SUPPORT = "s"
    SKIP = "k"
    REPORT = "r"  # asks first
    MENU = "m"


class ReportChoice(StrEnum):
    """The buttons of the confirmation of a report."""

    YES = "y"  # y:<proposal id>, report it
    NO = "n"


# The buttons that judge a proposal: pressed again, they may be for one judged already.
_VERDICTS = (VerdictChoice.SUPPORT, VerdictChoice.SKIP, ReportChoice.YES)


async def begin(ctx: Ctx) -> Replies:
    """Choose what to vote on (when the exercise is open)."""
    if not ctx.consultation.is_open(ctx.now):
        return await show(ctx, "menu", before=closed_text(ctx))
    return await show(ctx, PICK)


async def pick_prompt(ctx: Ctx) -> Replies:
    """A pillar, all of them, or back to the menu."""
    buttons = [
        ctx.button(f"{p.number}. {ctx.c(p.name)}", PickChoice.PILLAR, p.key)
        for p in ctx.consultation.pillars
    ]
    buttons.append(ctx.button(ctx.t("vote.all"), PickChoice.ALL))
    buttons.append(ctx.button(ctx.t("common.menu"), PickChoice.MENU))
    return [Reply(text=ctx.t("vote.ask_pillar"), buttons=rows(buttons))]


async def pick_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Start showing proposals of the chosen pillar (or all)."""
    if action == PickChoice.PILLAR and args and ctx.consultation.pillar(args[0]) is not None:
        return await _advance(ctx, args[0])
    if action == PickChoice.ALL:
        return await _advance(ctx, None)
    if action == PickChoice.MENU:
        return await show(ctx, "menu")
    return None


async def _advance(ctx: Ctx, pillar: str | None, *, before: str | None = None) -> Replies:
    """Show the next proposal to judge, counting the view."""
    person = ctx.participant
    assert person is not None
    record = await votes.next_proposal(ctx.session, participant=person, pillar=pillar)
    if record is None:
        text = ctx.t("vote.none_pillar" if pillar else "vote.none")
        before = f"{before}\n\n{text}" if before else text
        if pillar:
            return await show(ctx, PICK, before=before)
        return await show(ctx, "menu", before=before)
    await votes.record_view(ctx.session, proposal_id=record.id)
    return await show(ctx, SHOW, before=before, pillar=pillar, pid=record.id)


def describe(ctx: Ctx, record: Proposal) -> str:
    """A proposal as shown to voters: folio, pillar and topic, the texts."""
    pillar = ctx.consultation.pillar(record.pillar)
    topic = pillar.topic(record.topic) if pillar else None
    parts = [
        ctx.t(
            "vote.heading",
            folio=record.folio or "",
            pillar=ctx.c(pillar.name) if pillar else record.pillar,
            topic=ctx.c(topic.name) if topic else record.topic,
        ),
        ctx.t("proposal.label_problem") + "\n" + fit(record.problem, PREVIEW_PART_CHARS),
        ctx.t("proposal.label_proposal") + "\n" + fit(record.proposal, PREVIEW_PART_CHARS),
    ]
    if record.vision:
        label = ctx.t("proposal.label_vision", year=ctx.consultation.exercise.vision_year)
        parts.append(label + "\n" + fit(record.vision, PREVIEW_PART_CHARS))
    if record.review_since is not None:
        parts.append(ctx.t("vote.under_review"))
    return "\n\n".join(parts)


async def _shown(ctx: Ctx) -> Proposal | None:
    pid = ctx.data.get("pid")
    record = await ctx.session.get(Proposal, int(pid)) if isinstance(pid, int) else None
    return record if record is not None and record.status == ProposalStatus.PUBLISHED else None


async def show_prompt(ctx: Ctx) -> Replies:
    """The proposal on display with Apoyo · Saltar · Reportar · Menú."""
    record = await _shown(ctx)
    if record is None:
        return await _advance(ctx, ctx.data.get("pillar"))
    buttons = [
        ctx.button(ctx.t("vote.support"), VerdictChoice.SUPPORT, record.id),
        ctx.button(ctx.t("vote.skip"), VerdictChoice.SKIP, record.id),
        ctx.button(ctx.t("vote.report"), VerdictChoice.REPORT, record.id),
        ctx.button(ctx.t("common.menu"), VerdictChoice.MENU),
    ]
    return [Reply(text=describe(ctx, record), buttons=rows(buttons, per_row=2))]


async def _judge(ctx: Ctx, pid: int, verdict: str) -> Replies:
    person = ctx.participant
    assert person is not None
    _, error = await attempt(
        ctx,
        lambda: votes.judge(
            ctx.session,
            consultation=ctx.consultation,
            participant=person,
            proposal_id=pid,
            verdict=verdict,
            now=ctx.now,
            channel=ctx.channel,
            client=ctx.client,
        ),
    )
    if isinstance(error, ExerciseClosed):
        return await show(ctx, "menu", before=closed_text(ctx))
    if isinstance(error, AddressLimit):  # not judged: the same proposal, later
        return await show(ctx, SHOW, before=ctx.error(error), **ctx.data)
    if error is not None:
        return await _advance(ctx, ctx.data.get("pillar"), before=ctx.error(error))
    done = {"support": "vote.supported", "skip": "vote.skipped", "report": "vote.reported"}
    return await _advance(ctx, ctx.data.get("pillar"), before=ctx.t(done[verdict]))


def _pid(ctx: Ctx, args: list[str]) -> int | None:
    pid = number(args[0]) if args else None
    return pid if pid is not None and pid == ctx.data.get("pid") else None


async def show_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Support, skip, report (asks first) or back to the menu."""
    if action == VerdictChoice.MENU:
        return await show(ctx, "menu")
    pid = _pid(ctx, args)
    if pid is None:
        return None
    if action == VerdictChoice.SUPPORT:
        return await _judge(ctx, pid, "support")
    if action == VerdictChoice.SKIP:
        return await _judge(ctx, pid, "skip")
    if action == VerdictChoice.REPORT:
        return await show(ctx, REPORT, **ctx.data)
    return None


async def judged_already(ctx: Ctx, args: list[str]) -> bool:
    """Whether an old verdict button (``s|k|y:<id>``) is for a proposal already judged."""
    person = ctx.participant
    if person is None or len(args) < 2 or args[0] not in _VERDICTS:
        return False
    pid = number(args[1])
    if pid is None:
        return False
    found = await ctx.session.scalar(
        select(Vote.id).where(Vote.participant_id == person.id, Vote.proposal_id == pid)
    )
    return found is not None


async def report_prompt(ctx: Ctx) -> Replies:
    """Are you sure you want to report it?"""
    buttons = [
        ctx.button(ctx.t("vote.report_yes"), ReportChoice.YES, str(ctx.data.get("pid"))),
        ctx.button(ctx.t("vote.report_no"), ReportChoice.NO),
    ]
    return [Reply(text=ctx.t("vote.report_confirm"), buttons=rows(buttons, per_row=2))]


async def report_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Confirm the report, or go back to the proposal."""
    if action == ReportChoice.YES and (pid := _pid(ctx, args)) is not None:
        return await _judge(ctx, pid, "report")
    if action == ReportChoice.NO:
        return await show(ctx, SHOW, **ctx.data)
    return None


screen(PICK, pick_prompt, button=pick_button, open_only=True)
screen(SHOW, show_prompt, button=show_button, open_only=True)
screen(REPORT, report_prompt, button=report_button, open_only=True)
