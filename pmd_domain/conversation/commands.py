"""Commands that work anywhere: /ayuda /idioma /silenciar /activar /menu /cancelar.

Language buttons (``l:<code>``) are not tied to a screen: choosing a language
redraws whatever the citizen was doing, in the new language.
"""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.conversation.types import Button, Reply
from pmd_domain.conversation.ui import SCREENS, Ctx, Replies, draw, rows, show
from pmd_domain.i18n import LANGUAGE_NAMES
from pmd_domain.services import participants


class GlobalButton(StrEnum):
    """The heads of the buttons that belong to no screen (``<head>:<arg>...``)."""

    LANGUAGE = "l"  # l:<language code>
    CONSENT = "c"  # c:<choice>[:<source>], the greeting's (see consent.py)


ALIASES = {
    "ayuda": "help",
    "help": "help",
    "idioma": "language",
    "language": "language",
    "silenciar": "mute",
    "mute": "mute",
    "activar": "unmute",
    "unmute": "unmute",
    "menu": "menu",
    "menú": "menu",
    "cancelar": "cancel",
    "cancel": "cancel",
    "start": "start",
}


async def start(ctx: Ctx) -> Replies:
    """``/start`` from someone who already takes part: back to the menu, nothing recorded."""
    return await _leave(ctx, "start.welcome_back")


async def run(ctx: Ctx, name: str, args: str) -> Replies:
    """Run a command typed by a participant."""
    command = ALIASES.get(name.lower())
    if command == "start":
        return await start(ctx)
    if command == "help":
        return await draw(ctx, before=ctx.t("help.text") + "\n\n" + ctx.t("help.waiting"))
    if command == "language":
        return [language_choice(ctx)]
    if command in ("mute", "unmute"):
        assert ctx.participant is not None
        muted = command == "mute"
        await participants.set_muted(ctx.session, participant=ctx.participant, muted=muted)
        return await draw(ctx, before=ctx.t("mute.on" if muted else "mute.off"))
    if command == "menu":
        return await _leave(ctx, None)
    if command == "cancel":
        if ctx.state == "menu":
            return await draw(ctx, before=ctx.t("cancel.nothing"))
        return await _leave(ctx, "cancel.done")
    shown = name[:32] if name else ""
    return await draw(ctx, before=ctx.t("command.unknown", command=shown))


async def _leave(ctx: Ctx, key: str | None) -> Replies:
    lines = [ctx.t(key)] if key else []
    if SCREENS[ctx.state].draft:
        lines.append(ctx.t("cancel.draft_discarded"))
    return await show(ctx, "menu", before="\n".join(lines) or None)


def language_choice(ctx: Ctx) -> Reply:
    """The language question with one button per language of the consultation."""
    languages = [
        code for code in ctx.consultation.exercise.languages if code in ctx.catalogs.messages
    ]
    buttons = [
        Button(label=LANGUAGE_NAMES.get(code, code), data=f"{GlobalButton.LANGUAGE}:{code}")
        for code in languages
    ]
    return Reply(text=ctx.t("language.choose"), buttons=rows(buttons, per_row=2))


async def global_button(ctx: Ctx, head: str, args: list[str]) -> Replies:
    """Buttons that do not belong to one screen: languages, and consent buttons pressed again."""
    if head == GlobalButton.LANGUAGE and args and args[0] in ctx.consultation.exercise.languages:
        assert ctx.participant is not None
        await participants.set_language(ctx.session, participant=ctx.participant, language=args[0])
        ctx.lang = args[0]
        return await draw(ctx, before=ctx.t("language.changed"))
    if head == GlobalButton.CONSENT:
        return await draw(ctx, before=ctx.t("consent.already"))
    return await draw(ctx, before=ctx.t("input.stale"), notice=ctx.t("input.stale_notice"))
