"""A new version of the privacy notice is put to each participant at their next message.

Whatever they send while their accepted version is not the current one is not
processed (nothing of it is stored): they see the change and Acepto / No acepto.
Accepting records the new version and brings them back where they were. Declining
stores nothing new and offers to accept later or to delete their data now (the
usual erasure); their data stay under the notice they had accepted. See
docs/privacy.md.

States: ``reconsent`` (data: ``back`` and ``back_data``, the screen to return to) and
``reconsent_no``. Buttons: ``y`` accept, ``n`` decline, ``e`` delete my data.
"""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.conversation import mydata
from pmd_domain.conversation.types import Button, Reply
from pmd_domain.conversation.ui import SCREENS, Ctx, Replies, draw, number, rows, screen, show
from pmd_domain.services import participants

STATE, DECLINED = "reconsent", "reconsent_no"
# Where a button press is handled as usual while the new notice waits for an answer.
_ANSWERING = (STATE, DECLINED, mydata.ERASE)


class NoticeChoice(StrEnum):
    """The buttons under the new notice."""

    ACCEPT = "y"
    DECLINE = "n"


class DeclinedChoice(StrEnum):
    """The buttons after declining the new notice."""

    ACCEPT = "y"  # accept after all
    ERASE = "e"  # to the confirmation of the erasure


def pending(ctx: Ctx) -> bool:
    """Whether the participant has not accepted the notice in force."""
    person = ctx.participant
    return person is not None and person.notice_version != ctx.consultation.privacy.version


def answering(ctx: Ctx) -> bool:
    """Whether this input answers the question about the new notice (a button of its screens)."""
    if ctx.inbound.kind != "button" or ctx.state not in _ANSWERING:
        return False
    head = ctx.inbound.data.partition(":")[0]
    return number(head) is not None and head == ctx.screen


async def ask(ctx: Ctx) -> Replies:
    """Put the new notice to the participant; the input that came is left aside."""
    if ctx.state == STATE:
        return await draw(ctx)
    if ctx.state == DECLINED:  # asked again at every message until an answer
        return await show(
            ctx, STATE, back=ctx.data.get("back"), back_data=ctx.data.get("back_data")
        )
    back = ctx.state if ctx.state not in _ANSWERING else "menu"
    return await show(ctx, STATE, back=back, back_data=ctx.data)


async def prompt(ctx: Ctx) -> Replies:
    """What changed, the short notice, the link to the full one and the two choices."""
    notice = ctx.consultation.privacy
    text = "\n\n".join(
        [ctx.t("reconsent.changed", version=notice.version), ctx.c(notice.short)]
        + ([ctx.t("consent.minimum_age", age=notice.minimum_age)] if notice.minimum_age else [])
        + [ctx.t("consent.question")]
    )
    buttons = (
        (Button(label=ctx.t("consent.read_notice"), url=ctx.links.privacy()),),
        *rows(
            [
                ctx.button(ctx.t("consent.accept"), NoticeChoice.ACCEPT),
                ctx.button(ctx.t("consent.decline"), NoticeChoice.DECLINE),
            ],
            per_row=2,
        ),
    )
    return [Reply(text=text, buttons=buttons)]


async def _accept(ctx: Ctx) -> Replies:
    person = ctx.participant
    assert person is not None
    await participants.accept_notice(
        ctx.session, consultation=ctx.consultation, participant=person, now=ctx.now
    )
    back = str(ctx.data.get("back") or "menu")
    data = ctx.data.get("back_data")
    if back not in SCREENS or back in _ANSWERING:
        back, data = "menu", {}
    return await show(
        ctx, back, before=ctx.t("reconsent.thanks"), **(data if isinstance(data, dict) else {})
    )


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Accept or decline the new notice."""
    if action == NoticeChoice.ACCEPT:
        return await _accept(ctx)
    if action == NoticeChoice.DECLINE:
        return await show(
            ctx, DECLINED, back=ctx.data.get("back"), back_data=ctx.data.get("back_data")
        )
    return None


async def declined_prompt(ctx: Ctx) -> Replies:
    """Nothing new is stored; accept later, or delete the data now."""
    assert ctx.participant is not None
    buttons = (
        (Button(label=ctx.t("consent.read_notice"), url=ctx.links.privacy()),),
        (ctx.button(ctx.t("reconsent.accept_now"), DeclinedChoice.ACCEPT),),
        (ctx.button(ctx.t("reconsent.erase"), DeclinedChoice.ERASE),),
    )
    text = ctx.t("reconsent.declined", version=ctx.participant.notice_version)
    return [Reply(text=text, buttons=buttons)]


async def declined_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Accept after all, or go to the confirmation of the erasure."""
    if action == DeclinedChoice.ACCEPT:
        return await _accept(ctx)
    if action == DeclinedChoice.ERASE:
        return await show(ctx, mydata.ERASE)
    return None


screen(STATE, prompt, button=on_button)
screen(DECLINED, declined_prompt, button=declined_button)
