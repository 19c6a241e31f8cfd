"""Reading a JSON request body the way a hostile client cannot turn into a 500.

aiohttp's ``request.json()`` trusts the client: an unknown ``charset`` raises
``LookupError``, JSON nested a few thousand levels deep raises ``RecursionError``,
and neither is a ``ValueError`` that a handler expects. ``read_json`` accepts only
``application/json`` in UTF-8, bounds the nesting, and turns everything else into
``UnreadableBody`` (a ``ValueError``), which the handlers already answer with a
short 400. The body's size is bounded by the application's ``client_max_size``
(aiohttp answers 413 beyond it). The refusal is logged with its reason, never with
the body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

JSON_TYPES = frozenset({"application/json"})
UTF8 = frozenset({"utf-8", "utf8"})
DEFAULT_MAX_DEPTH = 32


class UnreadableBody(ValueError):
    """The body is not JSON this service reads; ``reason`` says why (never the body)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


async def read_json(request: web.Request, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The request's JSON body, or ``UnreadableBody`` for anything a client should not send."""
    try:
        return _parse(request, await request.read(), max_depth=max_depth)
    except UnreadableBody as refused:
        log.info("request body refused", extra={"path": request.path, "reason": refused.reason})
        raise


def _parse(request: web.Request, body: bytes, *, max_depth: int) -> Any:
    if request.content_type not in JSON_TYPES:
        raise UnreadableBody("content type")
    charset = (request.charset or "utf-8").lower()
    if charset not in UTF8:
        raise UnreadableBody("charset")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableBody("not utf-8") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnreadableBody("too deep") from None
    except ValueError:  # malformed JSON, or an integer too long to convert
        raise UnreadableBody("not json") from None
    if _deeper_than(value, max_depth):
        raise UnreadableBody("too deep")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limit:
            return True
        pending.extend((child, level + 1) for child in children)
    return False
