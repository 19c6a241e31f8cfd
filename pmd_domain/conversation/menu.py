"""The main menu: ``p`` propose, ``v`` vote, ``m`` mine, ``c`` certificate, ``d`` my data, ``h`` help.

Browser participants also get ``y`` (type a verification code); Telegram participants
``b`` (a code to link a browser).
"""

from __future__ import annotations

from pmd_domain.conversation import certificate_flow, mine, mydata, proposal, verify, voting
from pmd_domain.conversation.choices import MenuChoice
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import Ctx, Replies, draw, rows, screen, show

STATE = "menu"


async def prompt(ctx: Ctx) -> Replies:
    """The menu with its six choices."""
    buttons = [
        ctx.button(ctx.t("menu.propose"), MenuChoice.PROPOSE),
        ctx.button(ctx.t("menu.vote"), MenuChoice.VOTE),
        ctx.button(ctx.t("menu.mine"), MenuChoice.MINE),
        ctx.button(ctx.t("menu.certificate"), MenuChoice.CERTIFICATE),
        ctx.button(ctx.t("menu.mydata"), MenuChoice.MY_DATA),
        ctx.button(ctx.t("menu.help"), MenuChoice.HELP),
    ]
    if verify.may_type_code(ctx):
        buttons.append(ctx.button(ctx.t("menu.have_code"), MenuChoice.HAVE_CODE))
    if verify.may_get_code(ctx):
        buttons.append(ctx.button(ctx.t("menu.browser_code"), MenuChoice.BROWSER_CODE))
    return [Reply(text=ctx.t("menu.title"), buttons=rows(buttons, per_row=2))]


async def enter(ctx: Ctx, *, before: str | None = None) -> Replies:
    """Go to the menu."""
    return await show(ctx, STATE, before=before)


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """One of the menu's choices."""
    if action == MenuChoice.PROPOSE:
        return await proposal.begin(ctx)
    if action == MenuChoice.VOTE:
        return await voting.begin(ctx)
    if action == MenuChoice.MINE:
        return await mine.enter(ctx)
    if action == MenuChoice.CERTIFICATE:
        return await certificate_flow.begin(ctx)
    if action == MenuChoice.MY_DATA:
        return await mydata.enter(ctx)
    if action == MenuChoice.HELP:
        return await draw(ctx, before=ctx.t("help.text"))
    if action == MenuChoice.HAVE_CODE and verify.may_type_code(ctx):
        return await verify.begin(ctx)
    if action == MenuChoice.BROWSER_CODE and verify.may_get_code(ctx):
        return await verify.begin_link(ctx)
    if action == MenuChoice.MENU:
        return await enter(ctx)
    return None


screen(STATE, prompt, button=on_button)
