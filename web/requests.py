"""Reading a request body (JSON or a form) the way a hostile client cannot turn into a 500.

aiohttp's ``request.json()`` and ``request.post()`` trust the client: an unknown
``charset`` raises ``LookupError``, bytes that are not UTF-8 ``UnicodeDecodeError``,
a multipart body without its boundary ``ValueError`` or a parser error, and JSON
nested a few thousand levels deep ``RecursionError``. ``read_json`` accepts only
``application/json`` in UTF-8 and bounds the nesting; ``read_form`` accepts only a
form in UTF-8. Everything else becomes ``UnreadableBody`` (a ``ValueError``), which
the handlers answer with a short 400. A NUL character, which no keyboard types and
PostgreSQL refuses in text, is taken out of every string of the body. The body's size
is bounded by the application's ``client_max_size`` (aiohttp answers 413 beyond it).
A refusal is logged with its reason, never with the body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict, MultiDictProxy

log = logging.getLogger(__name__)

JSON_TYPES = frozenset({"application/json"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
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
        _refused(request, refused)
        raise


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form (fields and files), or ``UnreadableBody`` when it cannot be read."""
    try:
        if request.content_type not in FORM_TYPES:
            raise UnreadableBody("content type")
        if (request.charset or "utf-8").lower() not in UTF8:
            raise UnreadableBody("charset")
        try:
            form = await request.post()
        except (ValueError, LookupError, HttpProcessingError, AssertionError) as error:
            # not UTF-8 (UnicodeDecodeError is a ValueError), a part's unknown charset,
            # a multipart body without its boundary or broken on the way
            raise UnreadableBody(f"form: {type(error).__name__}") from None
    except UnreadableBody as refused:
        _refused(request, refused)
        raise
    if not any(isinstance(v, str) and "\x00" in v for v in form.values()):
        return form
    return MultiDictProxy(
        MultiDict((k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in form.items())
    )


def _refused(request: web.Request, refused: UnreadableBody) -> None:
    log.info("request body refused", extra={"path": request.path, "reason": refused.reason})


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
    too_deep, nul = _shape(value, max_depth)
    if too_deep:
        raise UnreadableBody("too deep")
    return _without_nul(value) if nul else value


def _shape(value: Any, limit: int) -> tuple[bool, bool]:
    """Whether arrays and objects nest more than ``limit`` levels, and whether a string
    (a value or a key) holds a NUL; no recursion."""
    nul = False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            nul = nul or any("\x00" in key for key in item)
        elif isinstance(item, list):
            children = item
        else:
            nul = nul or (isinstance(item, str) and "\x00" in item)
            continue
        if level > limit:
            return True, nul
        pending.extend((child, level + 1) for child in children)
    return False, nul


def _without_nul(value: Any) -> Any:
    """``value`` with every NUL taken out of its strings (its nesting is already bounded)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k.replace("\x00", ""): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value
