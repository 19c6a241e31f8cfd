"""Making a proposal: pillar → topic → problem → proposal → vision → preview → folio.

The draft lives in the state's data (``pillar``, ``topic``, ``problem``, ``proposal``,
``vision``); ``fix`` is set while the citizen corrects one part from the preview,
so that the step after it returns to the preview.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pmd_domain.consultation.schema import Pillar
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, draw, fit, rows, screen, show
from pmd_domain.errors import DomainError, ExerciseClosed, LimitReached
from pmd_domain.services import proposals
from pmd_domain.services.texts import require_text

PILLAR, TOPIC, PROBLEM, PROPOSAL, VISION, PREVIEW, FIX = (
    "p_pillar",
    "p_topic",
    "p_problem",
    "p_proposal",
    "p_vision",
    "p_preview",
    "p_fix",
)
PREVIEW_PART_CHARS = 1200


class PillarChoice(StrEnum):
    """The buttons of the question which pillar."""

    PILLAR = "x"  # x:<pillar key>
    CANCEL = "q"


class TopicChoice(StrEnum):
    """The buttons of the question which topic."""

    TOPIC = "x"  # x:<topic key>
    BACK = "b"


class TextChoice(StrEnum):
    """The buttons under a question the citizen answers by typing (problem, proposal, vision)."""

    KEEP = "k"  # keep the text already given
    SKIP = "s"  # the vision is optional
    BACK = "b"
    CANCEL = "q"


class PreviewChoice(StrEnum):
    """The buttons of the preview."""

    SEND = "y"
    CORRECT = "e"
    CANCEL = "q"


class PartChoice(StrEnum):
    """The buttons of the question which part to correct."""

    TOPIC = "t"  # the pillar and topic
    PROBLEM = "p"
    PROPOSAL = "o"
    VISION = "v"
    BACK = "b"  # back to the preview


def closed_text(ctx: Ctx, *, newcomer: bool = False) -> str:
    """Why proposals and votes are not accepted now, with the exercise's dates.

    ``newcomer``: said to someone who never took part (nothing of theirs to look at).
    """
    exercise = ctx.consultation.exercise
    key = "closed.not_yet" if ctx.now < exercise.opens else "closed.over"
    key += ".newcomer" if newcomer and key == "closed.over" else ""
    return ctx.t(key, opens=ctx.day(exercise.opens), closes=ctx.day(exercise.closes))


async def begin(ctx: Ctx) -> Replies:
    """Start a new draft (if the exercise is open and the limit allows it)."""
    person = ctx.participant
    assert person is not None
    if not ctx.consultation.is_open(ctx.now):
        return await show(ctx, "menu", before=closed_text(ctx))
    limit = ctx.consultation.limits.proposals_per_participant
    if person.proposals_made >= limit:
        return await show(ctx, "menu", before=ctx.error(LimitReached(limit=limit)))
    return await show(ctx, PILLAR)


def _pillar(ctx: Ctx) -> Pillar | None:
    return ctx.consultation.pillar(str(ctx.data.get("pillar", "")))


def _draft(ctx: Ctx, **changes: Any) -> dict[str, Any]:
    return {**ctx.data, **changes}


async def _then(ctx: Ctx, state: str, **changes: Any) -> Replies:
    """Continue to ``state``, or back to the preview when correcting one part."""
    data = _draft(ctx, **changes)
    if data.get("fix"):
        data["fix"] = False
        return await show(ctx, PREVIEW, **data)
    return await show(ctx, state, **data)


async def _cancel(ctx: Ctx) -> Replies:
    return await show(ctx, "menu", before=ctx.t("proposal.cancelled"))


# -- pillar and topic ---------------------------------------------------------------------


async def pillar_prompt(ctx: Ctx) -> Replies:
    """Which pillar the proposal is about."""
    buttons = [
        ctx.button(f"{p.number}. {ctx.c(p.name)}", PillarChoice.PILLAR, p.key)
        for p in ctx.consultation.pillars
    ]
    buttons.append(ctx.button(ctx.t("common.cancel"), PillarChoice.CANCEL))
    return [Reply(text=ctx.t("proposal.ask_pillar"), buttons=rows(buttons))]


async def pillar_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """A pillar chosen, or cancel."""
    if action == PillarChoice.PILLAR and args and ctx.consultation.pillar(args[0]) is not None:
        changed = args[0] != ctx.data.get("pillar")
        return await show(
            ctx,
            TOPIC,
            **_draft(ctx, pillar=args[0], topic=None if changed else ctx.data.get("topic")),
        )
    if action == PillarChoice.CANCEL:
        return await _cancel(ctx)
    return None


async def topic_prompt(ctx: Ctx) -> Replies:
    """Which topic of the pillar."""
    pillar = _pillar(ctx)
    if pillar is None:
        return await show(ctx, PILLAR, **ctx.data)
    buttons = [ctx.button(ctx.c(t.name), TopicChoice.TOPIC, t.key) for t in pillar.topics]
    buttons.append(ctx.button(ctx.t("common.back"), TopicChoice.BACK))
    text = ctx.t("proposal.ask_topic", pillar=ctx.c(pillar.name))
    return [Reply(text=text, buttons=rows(buttons))]


async def topic_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """A topic chosen, or back to the pillars."""
    pillar = _pillar(ctx)
    if (
        action == TopicChoice.TOPIC
        and args
        and pillar is not None
        and pillar.topic(args[0]) is not None
    ):
        return await _then(ctx, PROBLEM, topic=args[0])
    if action == TopicChoice.BACK:
        return await show(ctx, PILLAR, **ctx.data)
    return None


# -- typed texts ----------------------------------------------------------------------------


def _text_prompt(ctx: Ctx, key: str, field: str, *, skip: bool = False) -> Replies:
    text = ctx.t(key)
    if field == "vision":
        pillar = _pillar(ctx)
        subject = ctx.c(pillar.vision_subject) if pillar else ""
        question = ctx.c(ctx.consultation.vision.question)
        text = question.replace("{subject}", subject).replace(
            "{year}", str(ctx.consultation.exercise.vision_year)
        )
    current = ctx.data.get(field)
    buttons = []
    if current:
        text += "\n\n" + ctx.t("proposal.current", text=fit(str(current), PREVIEW_PART_CHARS))
        buttons.append(ctx.button(ctx.t("proposal.keep"), TextChoice.KEEP))
    if skip:
        buttons.append(ctx.button(ctx.t("proposal.skip_vision"), TextChoice.SKIP))
    buttons.append(ctx.button(ctx.t("common.back"), TextChoice.BACK))
    buttons.append(ctx.button(ctx.t("common.cancel"), TextChoice.CANCEL))
    return [Reply(text=text, buttons=rows(buttons, per_row=2), limit=_bounds(ctx, field)[1])]


async def problem_prompt(ctx: Ctx) -> Replies:
    """¿Cuál es el problema?"""
    return _text_prompt(ctx, "proposal.ask_problem", "problem")


async def proposal_prompt(ctx: Ctx) -> Replies:
    """¿Qué propones?"""
    return _text_prompt(ctx, "proposal.ask_proposal", "proposal")


async def vision_prompt(ctx: Ctx) -> Replies:
    """The vision question (optional)."""
    return _text_prompt(ctx, "", "vision", skip=True)


def _bounds(ctx: Ctx, field: str) -> tuple[int, int]:
    limits = ctx.consultation.limits
    return {
        "problem": (limits.problem_min_chars, limits.text_max_chars),
        "proposal": (limits.proposal_min_chars, limits.text_max_chars),
        "vision": (1, limits.vision_max_chars),
    }[field]


def _checked(ctx: Ctx, field: str, raw: str) -> tuple[str | None, DomainError | None]:
    minimum, maximum = _bounds(ctx, field)
    try:
        return require_text(raw, min_chars=minimum, max_chars=maximum), None
    except DomainError as error:
        return None, error


def _typed(field: str, following: str, previous: str) -> Any:
    async def on_text(ctx: Ctx, raw: str) -> Replies | None:
        value, error = _checked(ctx, field, raw)
        if error is not None:
            return await draw(ctx, before=ctx.error(error))
        return await _then(ctx, following, **{field: value})

    async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
        if action == TextChoice.KEEP and ctx.data.get(field):
            return await _then(ctx, following)
        if action == TextChoice.SKIP and field == "vision":
            return await _then(ctx, following, vision=None)
        if action == TextChoice.BACK:
            return await show(ctx, previous, **_draft(ctx, fix=False))
        if action == TextChoice.CANCEL:
            return await _cancel(ctx)
        return None

    return on_text, on_button


# -- preview, correction, submission --------------------------------------------------------


async def preview_prompt(ctx: Ctx) -> Replies:
    """The whole draft, with Enviar / Corregir / Cancelar."""
    pillar = _pillar(ctx)
    topic = pillar.topic(str(ctx.data.get("topic"))) if pillar else None
    if (
        pillar is None
        or topic is None
        or not ctx.data.get("problem")
        or not ctx.data.get("proposal")
    ):
        return await show(ctx, PILLAR, **ctx.data)
    parts = [
        ctx.t("proposal.preview_title"),
        ctx.t("proposal.label_pillar")
        + " "
        + ctx.c(pillar.name)
        + "\n"
        + ctx.t("proposal.label_topic")
        + " "
        + ctx.c(topic.name),
        ctx.t("proposal.label_problem") + "\n" + fit(str(ctx.data["problem"]), PREVIEW_PART_CHARS),
        ctx.t("proposal.label_proposal")
        + "\n"
        + fit(str(ctx.data["proposal"]), PREVIEW_PART_CHARS),
    ]
    if ctx.data.get("vision"):
        label = ctx.t("proposal.label_vision", year=ctx.consultation.exercise.vision_year)
        parts.append(label + "\n" + fit(str(ctx.data["vision"]), PREVIEW_PART_CHARS))
    parts.append(ctx.t("proposal.preview_question"))
    buttons = [
        ctx.button(ctx.t("proposal.send"), PreviewChoice.SEND),
        ctx.button(ctx.t("proposal.correct"), PreviewChoice.CORRECT),
        ctx.button(ctx.t("common.cancel"), PreviewChoice.CANCEL),
    ]
    return [Reply(text="\n\n".join(parts), buttons=rows(buttons, per_row=3))]


async def preview_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Send, correct or cancel the draft."""
    if action == PreviewChoice.SEND:
        return await _submit(ctx)
    if action == PreviewChoice.CORRECT:
        return await show(ctx, FIX, **ctx.data)
    if action == PreviewChoice.CANCEL:
        return await _cancel(ctx)
    return None


async def _submit(ctx: Ctx) -> Replies:
    person = ctx.participant
    assert person is not None
    data = ctx.data
    record, error = await attempt(
        ctx,
        lambda: proposals.submit(
            ctx.session,
            consultation=ctx.consultation,
            participant=person,
            pillar=str(data.get("pillar")),
            topic=str(data.get("topic")),
            problem=str(data.get("problem")),
            proposal=str(data.get("proposal")),
            vision=data.get("vision") or None,
            now=ctx.now,
        ),
    )
    if isinstance(error, ExerciseClosed):
        return await show(ctx, "menu", before=closed_text(ctx))
    if isinstance(error, LimitReached):
        return await show(ctx, "menu", before=ctx.error(error))
    if error is not None or record is None:
        return await draw(ctx, before=ctx.error(error) if error else None)
    return await show(ctx, "menu", before=ctx.t("proposal.sent", folio=record.folio))


async def fix_prompt(ctx: Ctx) -> Replies:
    """Which part to correct."""
    buttons = [
        ctx.button(ctx.t("proposal.fix_topic"), PartChoice.TOPIC),
        ctx.button(ctx.t("proposal.fix_problem"), PartChoice.PROBLEM),
        ctx.button(ctx.t("proposal.fix_proposal"), PartChoice.PROPOSAL),
        ctx.button(ctx.t("proposal.fix_vision"), PartChoice.VISION),
        ctx.button(ctx.t("proposal.back_to_preview"), PartChoice.BACK),
    ]
    return [Reply(text=ctx.t("proposal.fix_which"), buttons=rows(buttons, per_row=2))]


async def fix_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Go to the part to correct; the step after it returns to the preview."""
    targets: dict[str, str] = {
        PartChoice.TOPIC: PILLAR,
        PartChoice.PROBLEM: PROBLEM,
        PartChoice.PROPOSAL: PROPOSAL,
        PartChoice.VISION: VISION,
    }
    target = targets.get(action)
    if target is not None:
        return await show(ctx, target, **_draft(ctx, fix=True))
    if action == PartChoice.BACK:
        return await show(ctx, PREVIEW, **_draft(ctx, fix=False))
    return None


problem_text, problem_button = _typed("problem", PROPOSAL, TOPIC)
proposal_text, proposal_button = _typed("proposal", VISION, PROBLEM)
vision_text, vision_button = _typed("vision", PREVIEW, PROPOSAL)

screen(PILLAR, pillar_prompt, button=pillar_button, draft=True, open_only=True)
screen(TOPIC, topic_prompt, button=topic_button, draft=True, open_only=True)
screen(
    PROBLEM, problem_prompt, button=problem_button, text=problem_text, draft=True, open_only=True
)
screen(
    PROPOSAL,
    proposal_prompt,
    button=proposal_button,
    text=proposal_text,
    draft=True,
    open_only=True,
)
screen(VISION, vision_prompt, button=vision_button, text=vision_text, draft=True, open_only=True)
screen(PREVIEW, preview_prompt, button=preview_button, draft=True, open_only=True)
screen(FIX, fix_prompt, button=fix_button, draft=True, open_only=True)
