"""Mis datos (ARCO rights): see, correct one answer, export as a file, delete.

States: ``mydata`` (the data and the choices), ``d_fix`` (which answer to correct,
then the ``demo`` screen in correction mode) and ``d_erase`` (confirm deletion).
"""

from __future__ import annotations

import json
from enum import StrEnum

from pmd_domain.consultation.schema import Question
from pmd_domain.conversation import demographics, verify
from pmd_domain.conversation.types import Document, Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, draw, rows, screen, show
from pmd_domain.i18n import LANGUAGE_NAMES
from pmd_domain.services import erasure

STATE, FIX, ERASE = "mydata", "d_fix", "d_erase"
EXPORT_NAME = "mis-datos.json"


class MyDataChoice(StrEnum):
    """The buttons of Mis datos."""

    CORRECT = "f"
    EXPORT = "x"
    ERASE = "e"
    HAVE_CODE = "y"  # browser participants: type a verification code
    MENU = "m"


class FieldChoice(StrEnum):
    """The buttons of the question which answer to correct (one per question)."""

    QUESTION = "q"  # q:<question key>
    BACK = "b"


class EraseChoice(StrEnum):
    """The buttons of the confirmation of the erasure."""

    YES = "y"  # erase my data
    NO = "n"


async def enter(ctx: Ctx, *, before: str | None = None) -> Replies:
    """Show Mis datos."""
    return await show(ctx, STATE, before=before)


def _answer(ctx: Ctx, question: Question) -> str:
    assert ctx.participant is not None
    value = getattr(ctx.participant, question.key, None)
    if value is None:
        return ctx.t("mydata.no_answer")
    option = next((o for o in question.options if o.key == value), None)
    return ctx.c(option.label) if option else str(value)


def _source(ctx: Ctx, key: str | None) -> str:
    if not key:
        return "—"
    label = ctx.consultation.source_list().get(key)
    return ctx.c(label) if label is not None else ctx.t("mydata.source_other")


def _field(ctx: Ctx, question: Question) -> str:
    key = f"mydata.field.{question.key}"
    return ctx.t(key) if ctx.catalogs.has(key) else ctx.c(question.prompt)


async def prompt(ctx: Ctx) -> Replies:
    """Everything stored about the citizen, and what they can do with it."""
    person = ctx.participant
    assert person is not None
    lines = [
        ctx.t("mydata.title"),
        ctx.t(
            "mydata.consent",
            date=ctx.day(person.consent_at),
            version=person.notice_version,
        ),
    ]
    lines += [f"{_field(ctx, q)}: {_answer(ctx, q)}" for q in ctx.consultation.demographics]
    lines.append(ctx.t("mydata.source", source=_source(ctx, person.source)))
    lines.append(
        ctx.t("mydata.language", name=LANGUAGE_NAMES.get(person.language, person.language))
    )
    lines.append(ctx.t("mydata.muted_yes" if person.muted else "mydata.muted_no"))
    lines.append(ctx.t("mydata.level", level=ctx.t(f"level.{person.assurance}")))
    if person.assurance == "anonymous":
        lines.append(ctx.t("mydata.level_note"))
    buttons = [
        ctx.button(ctx.t("mydata.correct"), MyDataChoice.CORRECT),
        ctx.button(ctx.t("mydata.export"), MyDataChoice.EXPORT),
        ctx.button(ctx.t("mydata.erase"), MyDataChoice.ERASE),
        ctx.button(ctx.t("common.menu"), MyDataChoice.MENU),
    ]
    if verify.may_type_code(ctx):
        buttons.insert(3, ctx.button(ctx.t("menu.have_code"), MyDataChoice.HAVE_CODE))
    return [Reply(text="\n".join(lines), buttons=rows(buttons, per_row=2))]


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Correct, export, delete, or back to the menu."""
    person = ctx.participant
    assert person is not None
    if action == MyDataChoice.CORRECT:
        return await show(ctx, FIX)
    if action == MyDataChoice.EXPORT:
        data, error = await attempt(
            ctx, lambda: erasure.export(ctx.session, participant_id=person.id)
        )
        if error is not None or data is None:
            return await draw(ctx, before=ctx.error(error) if error else None)
        content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        document = Document(
            filename=EXPORT_NAME,
            content=content,
            mime="application/json",
            caption=ctx.t("mydata.export_caption"),
        )
        return [Reply(text=ctx.t("mydata.exported"), document=document), *await draw(ctx)]
    if action == MyDataChoice.ERASE:
        return await show(ctx, ERASE)
    if action == MyDataChoice.HAVE_CODE and verify.may_type_code(ctx):
        return await verify.begin(ctx)
    if action == MyDataChoice.MENU:
        return await show(ctx, "menu")
    return None


async def fix_prompt(ctx: Ctx) -> Replies:
    """Which answer to correct."""
    buttons = [
        ctx.button(_field(ctx, q), FieldChoice.QUESTION, q.key)
        for q in ctx.consultation.demographics
    ]
    buttons.append(ctx.button(ctx.t("common.back"), FieldChoice.BACK))
    return [Reply(text=ctx.t("mydata.which"), buttons=rows(buttons, per_row=2))]


async def fix_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Ask the chosen question again."""
    if action == FieldChoice.QUESTION and args and ctx.consultation.question(args[0]) is not None:
        return await demographics.correct(ctx, args[0])
    if action == FieldChoice.BACK:
        return await enter(ctx)
    return None


async def erase_prompt(ctx: Ctx) -> Replies:
    """What deleting removes and what stays; confirm."""
    keep = ctx.consultation.privacy.keep_anonymous_proposals
    text = (
        ctx.t("mydata.erase_confirm")
        + "\n\n"
        + ctx.t("mydata.erase_keeps" if keep else "mydata.erase_keeps_nothing")
    )
    buttons = [
        ctx.button(ctx.t("mydata.erase_yes"), EraseChoice.YES),
        ctx.button(ctx.t("mydata.erase_no"), EraseChoice.NO),
    ]
    return [Reply(text=text, buttons=rows(buttons, per_row=2))]


async def erase_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Delete (then the chat is unknown again) or go back."""
    person = ctx.participant
    assert person is not None
    if action == EraseChoice.NO:
        return await enter(ctx)
    if action != EraseChoice.YES:
        return None
    _, error = await attempt(
        ctx,
        lambda: erasure.erase(
            ctx.session, consultation=ctx.consultation, participant_id=person.id, now=ctx.now
        ),
    )
    if error is not None:
        return await draw(ctx, before=ctx.error(error))
    ctx.forget = True
    keep = ctx.consultation.privacy.keep_anonymous_proposals
    text = (
        ctx.t("mydata.erased")
        + "\n\n"
        + ctx.t("mydata.erased_keeps" if keep else "mydata.erased_keeps_nothing")
    )
    return [Reply(text=text)]


screen(STATE, prompt, button=on_button)
screen(FIX, fix_prompt, button=fix_button)
screen(ERASE, erase_prompt, button=erase_button)
