"""The citizen handler, counted and timed for ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackContext

from bot.updates import CHANNEL
from pmd_domain.metrics import Metrics

Callback = Callable[[Update, CallbackContext[Any, Any, Any, Any]], Awaitable[None]]


class MeteredHandler:
    """Wraps a handler: one step per update, its time, and replies Telegram refused."""

    def __init__(self, handler: Callback, metrics: Metrics):
        self.handler = handler
        self.metrics = metrics

    async def __call__(self, update: Update, context: CallbackContext[Any, Any, Any, Any]) -> None:
        """Run the handler; its errors still go on to the error handler."""
        started = time.perf_counter()
        try:
            await self.handler(update, context)
        except TelegramError as exc:  # the step was stored; its reply did not get through
            self.metrics.observe_step(CHANNEL, 0.0, "reply_failed")
            self.metrics.reply_failed(CHANNEL, type(exc).__name__)
            raise
        except Exception:
            self.metrics.observe_step(CHANNEL, 0.0, "error")
            raise
        self.metrics.observe_step(CHANNEL, time.perf_counter() - started)
