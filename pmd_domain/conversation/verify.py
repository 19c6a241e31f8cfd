"""Verification in the conversation: typing a code in the browser, getting one on Telegram.

States: ``verify`` (browser: waits for a typed code; a wrong, used or expired code
gets its own message and the same question again, nothing else changes) and
``link`` (Telegram: shows a fresh code for the browser, with "Otro código" and
"Menú"). The plain code is only ever in the message that shows it: the database
keeps its keyed hash, so a redraw of ``link`` cannot show it again and offers a
new one instead.
"""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.assurance import PHONE_CHANNELS
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, draw, rows, screen, show
from pmd_domain.errors import AlreadyVerified, DomainError
from pmd_domain.services import verification

VERIFY, LINK = "verify", "link"
WEB = "web"


class VerifyChoice(StrEnum):
    """The buttons of the question for a verification code (browser)."""

    MENU = "m"


class LinkChoice(StrEnum):
    """The buttons under a code to link a browser (Telegram)."""

    ANOTHER_CODE = "n"  # a new code; the one shown stops working
    MENU = "m"


def may_type_code(ctx: Ctx) -> bool:
    """A browser participant of their own (not one acting as a linked Telegram participant)."""
    person = ctx.participant
    return (
        ctx.codes is not None
        and person is not None
        and ctx.channel == WEB
        and person.channel == WEB
    )


def may_get_code(ctx: Ctx) -> bool:
    """A Telegram participant in their own chat."""
    person = ctx.participant
    return (
        ctx.codes is not None
        and person is not None
        and person.channel in PHONE_CHANNELS
        and ctx.channel == person.channel
    )


async def begin(ctx: Ctx) -> Replies:
    """Ask the browser participant for their code."""
    return await show(ctx, VERIFY)


async def verify_prompt(ctx: Ctx) -> Replies:
    """Type the code, or back to the menu."""
    buttons = [ctx.button(ctx.t("common.menu"), VerifyChoice.MENU)]
    return [Reply(text=ctx.t("verify.ask"), buttons=rows(buttons))]


async def verify_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Back to the menu."""
    return await show(ctx, "menu") if action == VerifyChoice.MENU else None


async def verify_text(ctx: Ctx, text: str) -> Replies | None:
    """Use the typed code; any refusal says why and asks again."""
    person, codes = ctx.participant, ctx.codes
    assert person is not None
    if codes is None or not may_type_code(ctx):
        return await show(ctx, "menu")
    try:  # counted outside the attempt: a wrong code is an attempt too
        await verification.count_attempt(
            ctx.session,
            consultation=ctx.consultation,
            participant=person,
            client=ctx.client,
            now=ctx.now,
        )
    except DomainError as refused:
        return await draw(ctx, before=ctx.error(refused))
    redeemed, error = await attempt(
        ctx,
        lambda: verification.redeem(
            ctx.session,
            book=codes,
            consultation=ctx.consultation,
            typed=text,
            participant=person,
            now=ctx.now,
        ),
    )
    if isinstance(error, AlreadyVerified):
        return await show(ctx, "menu", before=ctx.error(error))
    if error is not None or redeemed is None:
        return await draw(ctx, before=ctx.error(error) if error else None)
    if redeemed.method == verification.Method.TELEGRAM:
        ctx.participant = redeemed.participant  # from now on this browser is that participant
        ctx.lang = redeemed.participant.language
        return await show(ctx, "menu", before=ctx.t("verify.linked"))
    return await show(ctx, "menu", before=ctx.t("verify.verified"))


async def begin_link(ctx: Ctx) -> Replies:
    """Give a Telegram participant a code to type in the browser chat."""
    person, codes = ctx.participant, ctx.codes
    assert person is not None
    if codes is None:
        return await show(ctx, "menu")
    code, error = await attempt(
        ctx,
        lambda: verification.issue_link(
            ctx.session,
            secret=codes.secret,
            consultation=ctx.consultation,
            participant=person,
            now=ctx.now,
        ),
    )
    if error is not None or code is None:
        return await show(ctx, "menu", before=ctx.error(error) if error else None)
    text = ctx.t(
        "link.code",
        code=verification.shown(code),
        minutes=ctx.consultation.integrity.codes.link_minutes,
        url=ctx.links.dashboard(),
    )
    return await show(ctx, LINK, before=text)


async def link_prompt(ctx: Ctx) -> Replies:
    """Another code, or back to the menu."""
    buttons = [
        ctx.button(ctx.t("link.again"), LinkChoice.ANOTHER_CODE),
        ctx.button(ctx.t("common.menu"), LinkChoice.MENU),
    ]
    return [Reply(text=ctx.t("link.help"), buttons=rows(buttons, per_row=2))]


async def link_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """A new code (the earlier one stops working), or the menu."""
    if action == LinkChoice.ANOTHER_CODE:
        return await begin_link(ctx)
    if action == LinkChoice.MENU:
        return await show(ctx, "menu")
    return None


screen(VERIFY, verify_prompt, button=verify_button, text=verify_text)
screen(LINK, link_prompt, button=link_button)
