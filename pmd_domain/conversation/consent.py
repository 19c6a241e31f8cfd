"""Before consent: greeting, short privacy notice, Acepto / No acepto. Nothing is stored.

The Acepto button carries the campaign source (``c:y:<source>``) so that the
deep-link payload survives until the citizen accepts, without storing anything.
"""

from __future__ import annotations

from pmd_domain.conversation import demographics
from pmd_domain.conversation.types import MAX_BUTTON_DATA_BYTES, Button, Reply
from pmd_domain.conversation.ui import Ctx, Replies, rows
from pmd_domain.services import participants

ACCEPT = "c:y"
DECLINE = "c:n"
AGAIN = "c:r"


def greeting(ctx: Ctx, source: str | None) -> Replies:
    """The greeting with the short notice, the link to the full one and the two choices."""
    accept = ACCEPT + (":" + source if source else "")
    text = "\n\n".join(
        [
            ctx.t("consent.greeting", title=ctx.c(ctx.consultation.exercise.title)),
            ctx.c(ctx.consultation.privacy.short),
            ctx.t("consent.question"),
        ]
    )
    buttons = (
        (Button(label=ctx.t("consent.read_notice"), url=ctx.links.privacy()),),
        *rows(
            [
                Button(label=ctx.t("consent.accept"), data=accept[:MAX_BUTTON_DATA_BYTES]),
                Button(label=ctx.t("consent.decline"), data=DECLINE),
            ],
            per_row=2,
        ),
    )
    return [Reply(text=text, buttons=buttons)]


async def stranger(ctx: Ctx, *, channel: str, external_id: str) -> Replies:
    """Someone who has not accepted the notice (or erased their data) wrote to us."""
    inbound = ctx.inbound
    if inbound.kind == "start":
        return greeting(ctx, participants.clean_source(inbound.text.strip()))
    if inbound.kind == "button" and inbound.data.split(":")[:2] == ["c", "y"]:
        raw = inbound.data[len(ACCEPT) + 1 :] if len(inbound.data) > len(ACCEPT) else None
        person = await participants.register(
            ctx.session,
            consultation=ctx.consultation,
            channel=channel,
            external_id=external_id,
            now=ctx.now,
            language=ctx.lang,
            source=participants.clean_source(raw),
        )
        ctx.participant = person
        ctx.lang = person.language
        return await demographics.begin(ctx, before=ctx.t("consent.thanks"))
    if inbound.kind == "button" and inbound.data == DECLINE:
        return [
            Reply(
                text=ctx.t("consent.declined"),
                buttons=((Button(label=ctx.t("consent.changed_mind"), data=AGAIN),),),
            )
        ]
    return greeting(ctx, None)
