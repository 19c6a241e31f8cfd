"""``/difundir``: an admin writes a campaign in the chat, previews it and sends it (staff screens).

Screens: ``bc.text`` (the text, or a photo with its caption) → ``bc.button`` (an
optional link button, "Texto | https://…") → ``bc.audience`` (buttons) → ``bc.value``
(the value of a criterion) → ``bc.confirm``: a preview exactly as citizens will see
it (``StaffCtx.preview``, which the channel sends), the audience size, Enviar /
Descartar. Enviar is one call of ``broadcasts.queue``; the pressed summary becomes
the campaign's progress message (``progress_reply``), which the sender edits, with
Pausar / Reanudar / Cancelar buttons (``bc:<action>:<id>``, not a screen's: they
serve as long as the campaign runs). While the flow is open, the admin's messages
belong to it, not to the citizen conversation; ``/cancelar`` discards it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pmd_domain import digits
from pmd_domain.conversation.staff import StaffCtx, flow, staff_screen
from pmd_domain.conversation.types import Button, Reply
from pmd_domain.conversation.ui import Replies, attempt, draw, number, rows, show
from pmd_domain.errors import InvalidCampaign
from pmd_domain.i18n import Catalogs
from pmd_domain.services import broadcasts
from pmd_domain.services.broadcasts import Audience, CampaignControl, Progress
from pmd_domain.statuses import CampaignStatus, DeliveryStatus

LANGUAGE = "es"
CHOICE_KINDS = ("pillar", "gender", "age_group", "sector", "source")
AUDIENCES = ("all", *CHOICE_KINDS, "unfinished")
LABEL_MAX_CHARS = 60
CONTROL = "bc"  # prefix of the progress message's buttons: bc:<action>:<campaign id>


class DraftChoice(StrEnum):
    """The buttons of the screens that write a campaign (each means the same on all of them)."""

    NO_BUTTON = "nobtn"  # bc.button: no link button
    AUDIENCE = "aud"  # bc.audience: aud:<criterion>
    VALUE = "val"  # bc.value: val:<index of the value>
    SEND = "send"  # bc.confirm
    DISCARD = "discard"


# ------------------------------------------------------------------ the flow
async def begin(ctx: StaffCtx) -> Replies:
    """``/difundir``: a new draft (replacing an unfinished flow); the text first."""
    return await show(ctx, "bc.text")


async def discard(ctx: StaffCtx) -> Replies:
    """``/cancelar`` or Descartar: nothing is sent."""
    ctx.end()
    return [Reply(text=ctx.t("broadcast.discarded"), edit=True)]


# ------------------------------------------------------------------ screens
async def ask_text(ctx: StaffCtx) -> Replies:
    """The campaign's text (or a photo with its caption)."""
    return [Reply(text=ctx.t("broadcast.ask_text"), edit=True)]


async def text_given(ctx: StaffCtx, text: str) -> Replies | None:
    """The text, or a photo and its caption; its optional button follows."""
    inbound = ctx.inbound
    photo = inbound.data or None if inbound.kind == "media" and inbound.media == "photo" else None
    if inbound.kind == "media" and (photo is None or not text):
        return [Reply(text=ctx.t("broadcast.expect_text"))]
    try:
        broadcasts.check_content(text=text, photo=photo, button_text=None, button_url=None)
    except InvalidCampaign as error:
        return [Reply(text=content_error(ctx, error))]
    return await show(ctx, "bc.button", text=text, photo=photo)


async def ask_button(ctx: StaffCtx) -> Replies:
    """An optional link button."""
    no_button = ctx.button(ctx.t("broadcast.button.no_button"), DraftChoice.NO_BUTTON)
    return [Reply(text=ctx.t("broadcast.ask_button"), buttons=((no_button,),), edit=True)]


async def button_given(ctx: StaffCtx, text: str) -> Replies | None:
    """``Texto | https://…``: the button; the audience follows."""
    if ctx.inbound.kind != "text":
        return _use_buttons(ctx)
    label, bar, url = text.partition("|")
    label, url = label.strip(), url.strip()
    try:
        if not bar or not label or not url:
            raise InvalidCampaign(problem="bad_button")
        broadcasts.check_content(
            text=ctx.data["text"], photo=ctx.data.get("photo"), button_text=label, button_url=url
        )
    except InvalidCampaign as error:
        bad = error.params.get("problem") == "bad_button"
        return [Reply(text=ctx.t("broadcast.bad_button") if bad else content_error(ctx, error))]
    return await show(
        ctx, "bc.audience", **{**_content(ctx), "button_text": label, "button_url": url}
    )


async def on_button_screen(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """Sin botón."""
    if action != DraftChoice.NO_BUTTON:
        return None
    return await show(
        ctx, "bc.audience", **{**_content(ctx), "button_text": None, "button_url": None}
    )


async def ask_audience(ctx: StaffCtx) -> Replies:
    """Who receives it."""
    return [Reply(text=ctx.t("broadcast.ask_audience"), buttons=_audiences(ctx), edit=True)]


async def on_audience(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """A criterion: everybody and the unfinished go to the preview, the others ask a value."""
    kind = args[0] if action == DraftChoice.AUDIENCE and len(args) == 1 else ""
    if kind in ("all", "unfinished"):
        return await preview(ctx, Audience(kind))
    if kind not in CHOICE_KINDS:
        return None
    if kind == "source":
        choices = [(s, s) for s in await broadcasts.sources(ctx.session)]
    else:
        choices = broadcasts.options_of(ctx.consultation, kind, LANGUAGE)
    if not choices:
        return [Reply(text=ctx.t("broadcast.no_sources"), buttons=_audiences(ctx), edit=True)]
    values = [value for value, _ in choices]
    labels = [label[:LABEL_MAX_CHARS] for _, label in choices]
    return await show(ctx, "bc.value", **_content(ctx), kind=kind, choices=values, labels=labels)


async def ask_value(ctx: StaffCtx) -> Replies:
    """The value of the criterion."""
    key = "broadcast.ask_value.pillar" if ctx.data["kind"] == "pillar" else "broadcast.ask_value"
    options = [
        ctx.button(label, DraftChoice.VALUE, i) for i, label in enumerate(ctx.data["labels"])
    ]
    return [Reply(text=ctx.t(key), buttons=rows(options), edit=True)]


async def on_value(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """A value: the preview follows."""
    choices: list[str] = ctx.data["choices"]
    index = number(args[0]) if action == DraftChoice.VALUE and len(args) == 1 else None
    if index is None or index >= len(choices):
        return None
    return await preview(ctx, Audience(ctx.data["kind"], choices[index]))


async def summary(ctx: StaffCtx) -> Replies:
    """The audience size, Enviar / Descartar."""
    audience = broadcasts.audience_from_json(ctx.data.get("audience"))
    size = await broadcasts.count_audience(ctx.session, audience=audience)
    text = ctx.t(
        "broadcast.summary",
        audience=broadcasts.describe(ctx.catalogs, ctx.consultation, audience, LANGUAGE),
        reachable=size.reachable,
        excluded=size.matching - size.reachable,
    )
    buttons = (
        (
            ctx.button(ctx.t("broadcast.button.send"), DraftChoice.SEND),
            ctx.button(ctx.t("broadcast.button.discard"), DraftChoice.DISCARD),
        ),
    )
    return [Reply(text=text, buttons=buttons)]


async def on_summary(ctx: StaffCtx, action: str, args: list[str]) -> Replies | None:
    """Enviar: queue it, the summary becomes its progress message; or Descartar."""
    if action == DraftChoice.DISCARD:
        return await discard(ctx)
    if action != DraftChoice.SEND:
        return None
    pressed = ctx.inbound.message_ref
    queued, error = await attempt(ctx, lambda: _queue(ctx, pressed))
    if error is not None:
        ctx.end()
        return [Reply(text=ctx.t("staff.not_allowed"), edit=True)]
    assert queued is not None
    campaign_id = queued.campaign.id
    progress = await broadcasts.progress(ctx.session, campaign_id=campaign_id)
    ctx.end()
    ctx.queued = True
    return [progress_reply(ctx.catalogs, campaign_id, progress)]


async def _queue(ctx: StaffCtx, pressed: str | None) -> broadcasts.Queued:
    return await broadcasts.queue(
        ctx.session,
        consultation=ctx.consultation,
        content=broadcasts.Content(**_content(ctx)),
        audience=broadcasts.audience_from_json(ctx.data.get("audience")),
        now=ctx.now,
        staff_id=ctx.user_id,
        admin_ids=ctx.admin_ids,
        progress_chat_id=ctx.chat_id,
        progress_message_id=digits.number(pressed or ""),
    )


async def use_buttons(ctx: StaffCtx, text: str) -> Replies | None:
    """A text where a button is expected."""
    return _use_buttons(ctx)


# ------------------------------------------------------------------ pieces
async def preview(ctx: StaffCtx, audience: Audience) -> Replies:
    """The campaign as citizens will see it, the audience size, Enviar / Descartar."""
    size = await broadcasts.count_audience(ctx.session, audience=audience)
    if size.reachable == 0:
        ctx.go("bc.audience", **_content(ctx))
        return [Reply(text=ctx.t("broadcast.empty_audience"), buttons=_audiences(ctx), edit=True)]
    ctx.go("bc.confirm", **_content(ctx), audience=audience.as_json())
    ctx.preview = broadcasts.Content(**_content(ctx))
    return [Reply(text=ctx.t("broadcast.preview"), edit=True), *await draw(ctx)]


def progress_reply(catalogs: Catalogs, campaign_id: int, progress: Progress) -> Reply:
    """The progress message of a campaign, with Pausar / Reanudar and Cancelar while it runs."""
    text = catalogs.text(
        LANGUAGE,
        f"broadcast.progress.{progress.status}",
        id=campaign_id,
        sent=progress[DeliveryStatus.SENT],
        total=progress.total,
        done=progress.done,
        blocked=progress[DeliveryStatus.BLOCKED],
        failed=progress[DeliveryStatus.FAILED],
        skipped=progress[DeliveryStatus.SKIPPED],
    )
    actions: list[CampaignControl] = []
    if progress.status in broadcasts.DUE:
        actions.append(CampaignControl.PAUSE)
    elif progress.status == CampaignStatus.PAUSED:
        actions.append(CampaignControl.RESUME)
    if progress.status in broadcasts.UNFINISHED:
        actions.append(CampaignControl.CANCEL)
    buttons = tuple(
        Button(
            label=catalogs.text(LANGUAGE, f"broadcast.button.{action}"),
            data=f"{CONTROL}:{action}:{campaign_id}",
        )
        for action in actions
    )
    return Reply(text=text, buttons=(buttons,) if buttons else (), edit=True)


def content_error(ctx: StaffCtx, error: InvalidCampaign) -> str:
    """What is wrong with the campaign's content."""
    problem = str(error.params.get("problem", "empty"))
    return ctx.t(f"broadcast.error.{problem}", **error.params)


def _use_buttons(ctx: StaffCtx) -> Replies:
    return [Reply(text=ctx.t("broadcast.use_buttons"))]


def _audiences(ctx: StaffCtx) -> tuple[tuple[Button, ...], ...]:
    return rows(
        ctx.button(ctx.t(f"broadcast.audience.{k}"), DraftChoice.AUDIENCE, k) for k in AUDIENCES
    )


def _content(ctx: StaffCtx) -> dict[str, Any]:
    """The campaign's content as the draft holds it."""
    return {
        "text": ctx.data["text"],
        "photo": ctx.data.get("photo"),
        "button_text": ctx.data.get("button_text"),
        "button_url": ctx.data.get("button_url"),
    }


flow(
    "bc",
    command="difundir",
    permission="broadcast",
    begin=begin,
    cancel=discard,
    language=LANGUAGE,
)
staff_screen("bc.text", ask_text, text=text_given, media=True)
staff_screen("bc.button", ask_button, button=on_button_screen, text=button_given, media=True)
staff_screen("bc.audience", ask_audience, button=on_audience, text=use_buttons, media=True)
staff_screen("bc.value", ask_value, button=on_value, text=use_buttons, media=True)
staff_screen("bc.confirm", summary, button=on_summary, text=use_buttons, media=True)
