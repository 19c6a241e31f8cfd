"""``/difundir``: an admin writes a campaign in the bot, previews it and sends it.

Steps (kept in ``staff_drafts``, kind ``broadcast``, so any bot process takes the next
one): text (or a photo with its caption) → optional link button ("Texto | https://…")
→ audience (buttons) → a preview exactly as citizens will see it, the audience size,
Enviar / Descartar. Enviar queues the campaign; the summary message becomes its
progress message, which the sender (``bot.broadcast``) edits, with Pausar / Reanudar /
Cancelar buttons handled here.

While a draft waits for text, the staff member's messages belong to it, not to the
citizen conversation: ``bot.staff.drafts`` routes each private message by the draft
stored for its sender (any process, no per-process list of staff) to ``on_message``
or ``discard``. Each step names the draft version it read, so two processes taking
two presses of one draft at once change it once (``staff_drafts.DraftConflict``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.broadcast import (
    broadcast_worker,
    progress_buttons,
    progress_text,
    send_campaign,
)
from bot.context import Services, services_of
from bot.staff.access import Context, staff_only
from pmd_domain.clock import utcnow
from pmd_domain.db.models import Campaign
from pmd_domain.errors import InvalidCampaign, NotFound, WrongCampaignState
from pmd_domain.services import broadcasts, staff_drafts
from pmd_domain.services.broadcasts import Audience

KIND = staff_drafts.Kind.BROADCAST
PERMISSION = "broadcast"
LANGUAGE = "es"
CHOICE_KINDS = ("pillar", "gender", "age_group", "sector", "source")
Draft = dict[str, Any]
DraftCallback = Callable[[Update, Context, Draft], Awaitable[None]]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """``/difundir`` and the buttons of the flow and of progress messages (staff group)."""
    return [
        CommandHandler("difundir", start),
        CallbackQueryHandler(on_button, pattern=r"^bc:"),
    ]


def _t(services: Services, key: str, **params: object) -> str:
    return services.catalogs.text(LANGUAGE, key, **params)


async def _save(services: Services, user_id: int, data: Draft) -> None:
    """The draft's next step; ``data`` carries the version it was read at (``data_of``)."""
    async with services.database.transaction() as session:
        await staff_drafts.put(session, user_id=user_id, kind=KIND, data=data, now=utcnow())
    data[staff_drafts.VERSION_KEY] = int(data.get(staff_drafts.VERSION_KEY, -1)) + 1


def _markup(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


@staff_only(PERMISSION)
async def start(update: Update, context: Context, role: str) -> None:
    """``/difundir``: open a new draft (replacing an unfinished one) and ask for the text."""
    services = services_of(context)
    assert update.effective_user is not None and update.effective_message is not None
    await _save(services, update.effective_user.id, {"step": "text"})
    await update.effective_message.reply_text(_t(services, "broadcast.ask_text"))


async def discard(update: Update, context: Context, draft: Draft) -> None:
    """``/cancelar`` while a draft is open: drop it."""
    services = services_of(context)
    assert update.effective_user is not None and update.effective_message is not None
    async with services.database.transaction() as session:
        await staff_drafts.clear(session, user_id=update.effective_user.id)
    await update.effective_message.reply_text(_t(services, "broadcast.discarded"))


def _content_error(services: Services, exc: InvalidCampaign) -> str:
    problem = str(exc.params.get("problem", "empty"))
    return _t(services, f"broadcast.error.{problem}", **exc.params)


async def on_message(update: Update, context: Context, draft: Draft) -> None:
    """The text (or photo) of the campaign, then its optional button."""
    services = services_of(context)
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    step = draft.get("step")
    if step == "text":
        photo = message.photo[-1].file_id if message.photo else None
        text = message.caption if photo else message.text
        if text is None:
            await message.reply_text(_t(services, "broadcast.expect_text"))
            return
        try:
            broadcasts.check_content(text=text, photo=photo, button_text=None, button_url=None)
        except InvalidCampaign as exc:
            await message.reply_text(_content_error(services, exc))
            return
        await _save(
            services, update.effective_user.id, {"step": "button", "text": text, "photo": photo}
        )
        await message.reply_text(
            _t(services, "broadcast.ask_button"),
            reply_markup=_markup([[(_t(services, "broadcast.button.no_button"), "bc:nobtn")]]),
        )
    elif step == "button" and message.text:
        label, bar, url = message.text.partition("|")
        label, url = label.strip(), url.strip()
        try:
            if not bar or not label or not url:
                raise InvalidCampaign(problem="bad_button")
            broadcasts.check_content(
                text=draft["text"], photo=draft.get("photo"), button_text=label, button_url=url
            )
        except InvalidCampaign as exc:
            problem = str(exc.params.get("problem"))
            text = (
                _t(services, "broadcast.bad_button")
                if problem == "bad_button"
                else _content_error(services, exc)
            )
            await message.reply_text(text)
            return
        draft.update(step="audience", button_text=label, button_url=url)
        await _save(services, update.effective_user.id, draft)
        await message.reply_text(
            _t(services, "broadcast.ask_audience"), reply_markup=_audience_menu(services)
        )
    else:
        await message.reply_text(_t(services, "broadcast.use_buttons"))


def _audience_menu(services: Services) -> InlineKeyboardMarkup:
    kinds = ("all", *CHOICE_KINDS, "unfinished")
    return _markup([[(_t(services, f"broadcast.audience.{k}"), f"bc:aud:{k}")] for k in kinds])


async def _choices(services: Services, kind: str) -> list[tuple[str, str]]:
    """(value, label) of every option of an audience criterion."""
    if kind == "source":
        async with services.database.reading() as session:
            return [(s, s) for s in await broadcasts.sources(session)]
    return broadcasts.options_of(services.consultation, kind, LANGUAGE)


def _label(services: Services, audience: Audience) -> str:
    return broadcasts.describe(services.catalogs, services.consultation, audience, LANGUAGE)


def _draft_campaign(draft: Draft) -> Campaign:
    """The campaign as it would be sent (not stored): for the preview."""
    return Campaign(
        text=draft["text"],
        photo=draft.get("photo"),
        button_text=draft.get("button_text"),
        button_url=draft.get("button_url"),
    )


@staff_only(PERMISSION)
async def on_button(update: Update, context: Context, role: str) -> None:
    """Buttons ``bc:…``: the steps of a draft, and pause / resume / cancel of a campaign."""
    query = update.callback_query
    assert query is not None and query.data is not None
    action, _, rest = query.data.removeprefix("bc:").partition(":")
    if action in broadcasts.CONTROLS and rest.isdigit():
        await _control(update, context, action, int(rest))
        return
    services = services_of(context)
    user_id = query.from_user.id
    async with services.database.reading() as session:
        record = await staff_drafts.get(session, user_id=user_id)
    if record is None or record.kind != KIND or not isinstance(query.message, Message):
        await query.answer(_t(services, "broadcast.stale"))
        return
    draft, message = staff_drafts.data_of(record), query.message
    await query.answer()
    # Another process may take a press of this draft first: its answer stands.
    with contextlib.suppress(staff_drafts.DraftConflict):
        await _step(services, context, message, user_id, draft, action, rest)


async def _step(
    services: Services,
    context: Context,
    message: Message,
    user_id: int,
    draft: Draft,
    action: str,
    rest: str,
) -> None:
    """One button of the draft, applied to the version of it that was read."""
    if action == "discard":
        async with services.database.transaction() as session:
            await staff_drafts.clear(session, user_id=user_id)
        await _edit(message, _t(services, "broadcast.discarded"))
    elif action == "nobtn" and draft.get("step") == "button":
        draft.update(step="audience", button_text=None, button_url=None)
        await _save(services, user_id, draft)
        await _edit(message, _t(services, "broadcast.ask_audience"), _audience_menu(services))
    elif action == "aud" and draft.get("step") in ("audience", "confirm"):
        await _pick_kind(services, message, user_id, draft, rest)
    elif action == "val" and draft.get("step") == "value" and rest.isdigit():
        choices: list[str] = draft.get("choices", [])
        index = int(rest)
        if index < len(choices):
            await _preview(
                services, message, user_id, draft, Audience(draft["kind"], choices[index])
            )
    elif action == "send" and draft.get("step") == "confirm":
        await _send(services, context, message, user_id, draft)


async def _pick_kind(
    services: Services, message: Message, user_id: int, draft: Draft, kind: str
) -> None:
    if kind in ("all", "unfinished"):
        await _preview(services, message, user_id, draft, Audience(kind))
        return
    if kind not in CHOICE_KINDS:
        return
    choices = await _choices(services, kind)
    if not choices:
        await _edit(message, _t(services, "broadcast.no_sources"), _audience_menu(services))
        return
    draft.update(step="value", kind=kind, choices=[value for value, _ in choices])
    await _save(services, user_id, draft)
    key = "broadcast.ask_value.pillar" if kind == "pillar" else "broadcast.ask_value"
    rows = [[(label[:60], f"bc:val:{i}")] for i, (_, label) in enumerate(choices)]
    await _edit(message, _t(services, key), _markup(rows))


async def _preview(
    services: Services, message: Message, user_id: int, draft: Draft, audience: Audience
) -> None:
    """Show the campaign as citizens will see it, the audience size, Enviar / Descartar."""
    async with services.database.reading() as session:
        size = await broadcasts.count_audience(session, audience=audience)
    if size.reachable == 0:
        draft.update(step="audience")
        await _save(services, user_id, draft)
        await _edit(message, _t(services, "broadcast.empty_audience"), _audience_menu(services))
        return
    draft.update(step="confirm", audience=audience.as_json())
    await _save(services, user_id, draft)
    await _edit(message, _t(services, "broadcast.preview"))
    await send_campaign(message.get_bot(), _draft_campaign(draft), message.chat_id)
    summary = _t(
        services,
        "broadcast.summary",
        audience=_label(services, audience),
        reachable=size.reachable,
        excluded=size.matching - size.reachable,
    )
    buttons = [
        [
            (_t(services, "broadcast.button.send"), "bc:send"),
            (_t(services, "broadcast.button.discard"), "bc:discard"),
        ]
    ]
    await message.chat.send_message(summary, reply_markup=_markup(buttons))


async def _send(
    services: Services, context: Context, message: Message, user_id: int, draft: Draft
) -> None:
    """Queue the campaign; the summary message becomes its progress message."""
    # The recipient snapshot may be many thousands of rows: off the event loop.
    async with services.database.transaction(bulk=True) as session:
        if not await staff_drafts.clear(session, user_id=user_id):
            return  # another process took this press first
        queued = await broadcasts.queue(
            session,
            consultation=services.consultation,
            content=broadcasts.Content(
                text=draft["text"],
                photo=draft.get("photo"),
                button_text=draft.get("button_text"),
                button_url=draft.get("button_url"),
            ),
            audience=broadcasts.audience_from_json(draft.get("audience")),
            now=utcnow(),
            staff_id=user_id,
            admin_ids=services.settings.admin_ids,
            progress_chat_id=message.chat_id,
            progress_message_id=message.message_id,
        )
        campaign = queued.campaign
        progress = await broadcasts.progress(session, campaign_id=campaign.id)
    await _show(services, message, campaign.id, progress)
    worker = broadcast_worker(context.application)
    if worker is not None:
        worker.wake()


async def _control(update: Update, context: Context, action: str, campaign_id: int) -> None:
    """Pausar / Reanudar / Cancelar on a progress message."""
    services = services_of(context)
    query = update.callback_query
    assert query is not None
    try:
        async with services.database.transaction() as session:
            progress = await broadcasts.control(
                session,
                campaign_id=campaign_id,
                action=action,
                now=utcnow(),
                staff_id=update.effective_user.id if update.effective_user else None,
                admin_ids=services.settings.admin_ids,
            )
    except WrongCampaignState as exc:
        status = _t(services, f"broadcast.status.{exc.params.get('status')}")
        await query.answer(_t(services, "broadcast.error.state", id=campaign_id, status=status))
        return
    except NotFound:
        await query.answer(_t(services, "broadcast.error.not_found", id=campaign_id))
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _show(services, query.message, campaign_id, progress)
    worker = broadcast_worker(context.application)
    if worker is not None and action == "resume":
        worker.wake()


async def _show(
    services: Services, message: Message, campaign_id: int, progress: broadcasts.Progress
) -> None:
    await _edit(
        message,
        progress_text(services.catalogs, campaign_id, progress),
        progress_buttons(services.catalogs, campaign_id, progress.status),
    )


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit a message of the flow; if Telegram refuses (too old, unchanged), send a new one."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            await message.chat.send_message(text, reply_markup=markup)
    except TelegramError:
        await message.chat.send_message(text, reply_markup=markup)
