"""A local, in-memory Telegram Bot API server for tests and benchmarks."""

from tests.botapi.server import (
    DEFAULT_TOKEN,
    BotApiServer,
    BotMessage,
    Call,
    ChatSession,
    Press,
    StoredFile,
    Violation,
    press,
)

__all__ = [
    "DEFAULT_TOKEN",
    "BotApiServer",
    "BotMessage",
    "Call",
    "ChatSession",
    "Press",
    "StoredFile",
    "Violation",
    "press",
]
