"""Updates of one chat strictly in order; different chats concurrently, up to a cap."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_CONCURRENCY = 32
# PTB holds one slot of its own semaphore per update from the moment the update is
# taken from the queue; updates waiting for their chat's turn hold one too. That
# limit is therefore set high, and the real cap on running handlers is applied only
# once an update's chat is free, so a busy chat never starves the others.
WAITING_LIMIT = 10_000


class _ChatTurn:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Run the updates of one chat one after another, and other chats side by side.

    Updates arrive in ``update_id`` order from the application's queue and each takes
    its chat's lock (FIFO) before running; at most ``concurrency`` handlers run at once.
    A chat's lock is dropped as soon as nobody holds or waits for it.
    """

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY):
        super().__init__(max_concurrent_updates=WAITING_LIMIT)
        self.concurrency = concurrency
        self._running = asyncio.Semaphore(concurrency)
        self._turns: dict[int, _ChatTurn] = {}

    @property
    def waiting_chats(self) -> int:
        """How many chats have an update running or waiting (for tests and health)."""
        return len(self._turns)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's turn, then for a free slot, then run the update."""
        key = chat_key(update)
        turn = None
        if key is not None:
            turn = self._turns.get(key)
            if turn is None:
                turn = self._turns[key] = _ChatTurn()
            turn.users += 1
        started = False
        try:
            async with turn.lock if turn else contextlib.nullcontext(), self._running:
                started = True
                await coroutine
        finally:
            if not started:
                # Cancelled while waiting (shutdown): the handler never ran.
                close = getattr(coroutine, "close", None)
                if close is not None:
                    close()
            if turn is not None and key is not None:
                turn.users -= 1
                if turn.users == 0:
                    del self._turns[key]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def chat_key(update: object) -> int | None:
    """The chat (or, for chat-less updates, the user) whose order ``update`` belongs to."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
