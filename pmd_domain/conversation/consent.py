"""Before consent: greeting, short privacy notice, Acepto / No acepto. Nothing is stored.

The consent buttons carry the campaign source (``c:y:<source>`` accept, ``c:n:<source>``
decline, ``c:r:<source>`` changed my mind) so that the deep-link payload survives
until the citizen accepts, without storing anything.
"""

from __future__ import annotations

from enum import StrEnum

from pmd_domain.conversation import demographics
from pmd_domain.conversation.commands import GlobalButton
from pmd_domain.conversation.proposal import closed_text
from pmd_domain.conversation.types import MAX_BUTTON_DATA_BYTES, Button, Reply
from pmd_domain.conversation.ui import Ctx, Replies, prefix, rows, unexpected
from pmd_domain.errors import AddressLimit
from pmd_domain.services import participants


class ConsentChoice(StrEnum):
    """The buttons of the greeting (after the head ``c``, before the campaign source)."""

    ACCEPT = "y"
    DECLINE = "n"
    AGAIN = "r"  # changed my mind: the greeting again
    UNDER_AGE = "u"


ACCEPT = f"{GlobalButton.CONSENT}:{ConsentChoice.ACCEPT}"
DECLINE = f"{GlobalButton.CONSENT}:{ConsentChoice.DECLINE}"
AGAIN = f"{GlobalButton.CONSENT}:{ConsentChoice.AGAIN}"
UNDER_AGE = f"{GlobalButton.CONSENT}:{ConsentChoice.UNDER_AGE}"


def _with_source(head: str, source: str | None) -> str:
    return (head + (":" + source if source else ""))[:MAX_BUTTON_DATA_BYTES]


def _source(ctx: Ctx, data: str) -> str | None:
    # The button's data comes back from the client: checked against the list again.
    parts = data.split(":", 2)
    return ctx.consultation.campaign_source(parts[2]) if len(parts) == 3 else None


def greeting(ctx: Ctx, source: str | None) -> Replies:
    """The greeting with the short notice, the link to the full one and the two choices."""
    age = ctx.consultation.privacy.minimum_age
    parts = [
        ctx.t("consent.greeting", title=ctx.c(ctx.consultation.exercise.title)),
        ctx.c(ctx.consultation.privacy.short),
    ]
    if age:
        parts.append(ctx.t("consent.minimum_age", age=age))
    parts.append(ctx.t("consent.question"))
    buttons: list[tuple[Button, ...]] = [
        (Button(label=ctx.t("consent.read_notice"), url=ctx.links.privacy()),),
        *rows(
            [
                Button(label=ctx.t("consent.accept"), data=_with_source(ACCEPT, source)),
                Button(label=ctx.t("consent.decline"), data=_with_source(DECLINE, source)),
            ],
            per_row=2,
        ),
    ]
    if age:
        buttons.append((Button(label=ctx.t("consent.under_age", age=age), data=UNDER_AGE),))
    return [Reply(text="\n\n".join(parts), buttons=tuple(buttons))]


def under_age(ctx: Ctx) -> Replies:
    """Someone under the minimum age: kindly told why they cannot take part here; nothing stored.

    LGPDPPSO art. 20: a minor's consent is given by whoever holds parental authority or
    guardianship, which this chat cannot obtain (see docs/privacy.md).
    """
    office = ctx.consultation.privacy.controller or ctx.consultation.exercise.municipality
    back = Button(label=ctx.t("consent.back_to_notice"), data=AGAIN)
    return [Reply(text=ctx.t("consent.under_age_reply", office=office), buttons=((back,),))]


def closed(ctx: Ctx) -> Replies:
    """The exercise is not open: its dates first, and where to follow the results."""
    dashboard = Button(label=ctx.t("closed.dashboard"), url=ctx.links.dashboard())
    return [Reply(text=closed_text(ctx, newcomer=True), buttons=((dashboard,),))]


async def stranger(ctx: Ctx, *, channel: str, external_id: str) -> Replies:
    """Someone who has not accepted the notice (or erased their data) wrote to us.

    Outside the exercise's dates nobody new is registered: whatever they send, the
    first thing they read is when it opens or that it closed (with the dashboard).
    """
    inbound = ctx.inbound
    if not ctx.consultation.is_open(ctx.now):
        return closed(ctx)
    if inbound.kind == "start":
        return greeting(ctx, ctx.consultation.campaign_source(inbound.text))
    parts = inbound.data.split(":") if inbound.kind == "button" else []
    choice = parts[1] if len(parts) > 1 and parts[0] == GlobalButton.CONSENT else None
    if choice == ConsentChoice.ACCEPT:
        try:
            person = await participants.register(
                ctx.session,
                consultation=ctx.consultation,
                channel=channel,
                external_id=external_id,
                now=ctx.now,
                language=ctx.lang,
                source=_source(ctx, inbound.data),
                known_absent=True,  # the engine just looked this chat up
                client=ctx.client,
            )
        except AddressLimit as error:  # nothing was stored: the greeting again, later
            replies = greeting(ctx, _source(ctx, inbound.data))
            return prefix(replies, ctx.error(error))
        ctx.participant = person
        ctx.lang = person.language
        return await demographics.begin(ctx, before=ctx.t("consent.thanks"))
    if choice == ConsentChoice.DECLINE:
        again = Button(
            label=ctx.t("consent.changed_mind"),
            data=_with_source(AGAIN, _source(ctx, inbound.data)),
        )
        return [Reply(text=ctx.t("consent.declined"), buttons=((again,),))]
    if choice == ConsentChoice.AGAIN:
        return greeting(ctx, _source(ctx, inbound.data))
    if choice == ConsentChoice.UNDER_AGE:
        return under_age(ctx)
    return prefix(greeting(ctx, None), unexpected(ctx))
