"""Sending staff answers through the same renderer as the citizen conversation."""

from __future__ import annotations

from telegram import Update

from bot.render import render
from bot.staff.access import Context
from pmd_domain.conversation.types import Reply


async def reply(update: Update, context: Context, answer: Reply) -> None:
    """Send (or, for a button, edit into) ``answer``; every press is answered."""
    chat = update.effective_chat
    assert chat is not None
    await render(context.bot, chat.id, [answer], query=update.callback_query)


async def say(update: Update, context: Context, text: str) -> None:
    """Send one plain text (links without preview)."""
    await reply(update, context, Reply(text=text))
