"""Demographic questions, one at a time; each one can be skipped ("Prefiero no decir").

State ``demo`` with data ``{"k": question key, "fix": bool}``; ``fix`` means the
citizen is correcting one answer from Mis datos and goes back there afterwards;
``m``: the colonias a typed name may mean (their places in the file's list).
Buttons: ``a:<option>`` an answer, ``n`` prefer not to say, ``b`` back, ``z:<n>``
the n-th colonia of the list.
"""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.consultation.colonias import matches
from pmd_domain.consultation.schema import Question
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, draw, rows, screen, show
from pmd_domain.digits import number
from pmd_domain.services import participants

STATE = "demo"


class QuestionChoice(StrEnum):
    """The buttons of a demographic question."""

    ANSWER = "a"  # a:<option>
    SKIP = "n"  # prefer not to say
    COLONIA = "z"  # z:<n>, the n-th colonia of the list (its postal code is the answer)
    BACK = "b"


async def begin(ctx: Ctx, *, before: str | None = None) -> Replies:
    """Start the questions after consent (or go to the menu when there are none)."""
    questions = ctx.consultation.demographics
    if not questions:
        return await show(ctx, "menu", before=before)
    return await show(ctx, STATE, before=before, k=questions[0].key, fix=False)


async def correct(ctx: Ctx, key: str) -> Replies:
    """Ask one question again to correct its answer (from Mis datos)."""
    return await show(ctx, STATE, k=key, fix=True)


def _current(ctx: Ctx) -> tuple[int, Question] | None:
    key = ctx.data.get("k")
    for index, question in enumerate(ctx.consultation.demographics):
        if question.key == key:
            return index, question
    return None


async def prompt(ctx: Ctx) -> Replies:
    """The current question with its options, "Prefiero no decir" and "Atrás"."""
    found = _current(ctx)
    if found is None:
        return await show(ctx, "menu")
    index, question = found
    total = len(ctx.consultation.demographics)
    text = ctx.c(question.prompt)
    if not ctx.data.get("fix"):
        text = ctx.t("demo.progress", n=index + 1, total=total) + "\n" + text
    options = [ctx.button(ctx.c(o.label), QuestionChoice.ANSWER, o.key) for o in question.options]
    if question.kind == "postal_code":
        text += "\n" + ctx.t(
            "demo.colonia_hint" if ctx.consultation.colonias else "demo.postal_hint"
        )
        names = list(ctx.consultation.colonias)
        picked = [n for n in ctx.data.get("m", []) if isinstance(n, int) and 0 <= n < len(names)]
        if picked:
            text = ctx.t("demo.colonia_which") + "\n" + text
        options = [ctx.button(names[n], QuestionChoice.COLONIA, str(n)) for n in picked] + options
    extra = [ctx.button(ctx.t("demo.skip"), QuestionChoice.SKIP)]
    if index > 0 or ctx.data.get("fix"):
        extra.append(ctx.button(ctx.t("common.back"), QuestionChoice.BACK))
    return [Reply(text=text, buttons=(*rows(options, per_row=2), *rows(extra, per_row=2)))]


async def _store(ctx: Ctx, question: Question, answer: str | None) -> Replies:
    person = ctx.participant
    assert person is not None
    _, error = await attempt(
        ctx,
        lambda: participants.record_answer(
            ctx.session,
            consultation=ctx.consultation,
            participant=person,
            question=question.key,
            answer=answer,
            now=ctx.now,
        ),
        # record_answer raises before it changes anything.
        savepoint=False,
    )
    if error is not None:
        return await draw(ctx, before=ctx.error(error))
    return await _next(ctx)


async def _next(ctx: Ctx) -> Replies:
    found = _current(ctx)
    if ctx.data.get("fix") or found is None:
        return await show(ctx, "mydata", before=ctx.t("mydata.corrected"))
    index, _ = found
    questions = ctx.consultation.demographics
    if index + 1 < len(questions):
        return await show(ctx, STATE, k=questions[index + 1].key, fix=False)
    return await show(ctx, "menu", before=ctx.t("demo.done"))


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """An option, "Prefiero no decir" or "Atrás"."""
    found = _current(ctx)
    if found is None:
        return None
    index, question = found
    if action == QuestionChoice.ANSWER and args and any(o.key == args[0] for o in question.options):
        return await _store(ctx, question, args[0])
    if action == QuestionChoice.SKIP:
        return await _store(ctx, question, None)
    colonia = number(args[0]) if args else None
    if action == QuestionChoice.COLONIA and colonia is not None and question.kind == "postal_code":
        codes = list(ctx.consultation.colonias.values())
        if colonia < len(codes):
            return await _store(ctx, question, codes[colonia])
    if action == QuestionChoice.BACK:
        if ctx.data.get("fix"):
            from pmd_domain.conversation import mydata

            return await mydata.enter(ctx)
        if index > 0:
            previous = ctx.consultation.demographics[index - 1]
            return await show(ctx, STATE, k=previous.key, fix=False)
    return None


async def on_text(ctx: Ctx, text: str) -> Replies | None:
    """A typed postal code, or an option typed instead of pressed."""
    found = _current(ctx)
    if found is None:
        return None
    _, question = found
    typed = " ".join(text.split())
    if question.kind == "postal_code":
        digits = typed.replace(" ", "").replace("-", "")
        if participants.POSTAL_CODE.match(digits):
            return await _store(ctx, question, digits)
        return await _colonia(ctx, question, typed)
    for option in question.options:
        if typed.casefold() == ctx.c(option.label).casefold():
            return await _store(ctx, question, option.key)
    return None


async def _colonia(ctx: Ctx, question: Question, typed: str) -> Replies:
    """A colonia's name: its postal code when it is clear, a short choice when several fit."""
    colonias = ctx.consultation.colonias
    found = matches(colonias, typed)
    if len(found) == 1:
        return await _store(ctx, question, colonias[found[0]])
    if not found:
        key = "demo.bad_colonia" if colonias else "demo.bad_postal"
        return await show(ctx, STATE, before=ctx.t(key), k=question.key, fix=ctx.data.get("fix"))
    names = list(colonias)
    places = [names.index(name) for name in found]
    return await show(ctx, STATE, k=question.key, fix=ctx.data.get("fix"), m=places)


screen(STATE, prompt, button=on_button, text=on_text)
