"""Structured logs: one JSON object per line (or a plain line in development), never
personal data nor a secret.

- Fields that name a chat or a person (``chat_id``, ``user_id``, ``external_id``,
  ``staff``) are written as a keyed hash (``pseudonym``): a line can still tell two
  chats apart, but not which chats they are.
- The bot token, the webhook secret and the secret key are masked wherever they
  appear in a line (a request URL is ``.../bot<token>/method``), and so is anything
  shaped like a Telegram bot token, at every level.
- ``PMD_LOG_LEVEL`` applies to the service's own loggers (``pmd.*``, ``web.*``,
  ``bot.*``); libraries log at INFO at most (httpx and httpcore at WARNING): their
  DEBUG lines carry whole Bot API requests, with chat ids and what citizens wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
IDENTIFYING = frozenset({"chat_id", "user_id", "external_id", "staff"})
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}")
MASK = "***"
OWN_LOGGERS = ("pmd", "web", "bot", "pmd_domain", "pmd_cli")


def pseudonym(secret: str, value: object) -> str:
    """A keyed hash of an id for a log line (the same id gives the same pseudonym)."""
    digest = hmac.new(secret.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"h:{digest[:12]}"


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with its ``extra`` fields, ids hashed and secrets masked."""

    def __init__(self, *, secret: str = "", masked: Iterable[str] = ()):
        super().__init__()
        self._secret = secret
        self._masked = sorted({m for m in masked if m and len(m) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self._clean(self._json(record))

    def _clean(self, line: str) -> str:
        for secret in self._masked:
            line = line.replace(secret, MASK)
        return _TOKEN_SHAPE.sub(MASK, line)

    def _json(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        for key in IDENTIFYING & payload.keys():
            if payload[key] is not None:
                payload[key] = pseudonym(self._secret, payload[key])
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class ConsoleFormatter(JsonFormatter):
    """The same record for a person at a terminal: ``12:00:01 info web: serving port=8080``.

    The same rules as the JSON lines (ids hashed, secrets masked); for development
    (``PMD_LOG_FORMAT=console``, which ``make run`` sets). Production keeps JSON.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload = json.loads(self._json(record))
        moment = datetime.fromisoformat(payload.pop("time")).astimezone()
        head = f"{moment:%H:%M:%S} {payload.pop('level')} {payload.pop('logger')}: "
        head += str(payload.pop("event"))
        trace = payload.pop("exception", None)
        fields = " ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, ""))
        line = f"{head} {fields}".rstrip()
        return self._clean(f"{line}\n{trace}" if trace else line)


def failure_fields(error: BaseException | None) -> dict[str, str | None]:
    """What a log line may say about an exception: its type and its frames.

    Never its message: a message can carry what a citizen typed (a database error
    quotes its parameters, a decoding error the bytes it could not read).
    """
    if error is None:
        return {"error": None, "where": ""}
    frames = "".join(traceback.format_tb(error.__traceback__))
    return {"error": type(error).__name__, "where": frames[-4000:]}


def configure_logging(
    level: str = "INFO",
    *,
    secret: str = "",
    masked: Iterable[str | None] = (),
    style: str = "json",
) -> None:
    """Send JSON logs to stderr: the service's loggers at ``level``, libraries at INFO at most.

    ``secret`` keys the pseudonyms of ids; every string of ``masked`` (tokens,
    secrets) is replaced by ``***`` wherever it appears. ``style="console"``: plain
    lines for a person at a terminal instead of JSON.
    """
    handler = logging.StreamHandler(sys.stderr)
    formatter = ConsoleFormatter if style == "console" else JsonFormatter
    handler.setFormatter(formatter(secret=secret, masked=[m for m in masked if m]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    wanted = logging.getLevelName(level.upper())
    wanted = wanted if isinstance(wanted, int) else logging.INFO
    root.setLevel(max(wanted, logging.INFO))
    for own in OWN_LOGGERS:
        logging.getLogger(own).setLevel(wanted)
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RepeatedLog:
    """One log line per interval for a failure that keeps happening, with a count.

    The first occurrence of an event (with the same fields) is logged at once; the
    same event within ``interval`` seconds is only counted, and the next line after
    the interval says how many were left out (``repeated``). A full disk or a
    database that is down therefore writes a line every ``interval`` seconds, not one
    per attempt.
    """

    MAX_KEYS = 1000

    def __init__(self, interval: float = 30.0, *, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self._clock = clock
        self._seen: dict[tuple[Any, ...], list[float]] = {}  # key -> [logged at, left out]

    def log(
        self,
        logger: logging.Logger,
        level: int,
        event: str,
        *,
        exc_info: Any = None,
        **fields: Any,
    ) -> bool:
        """Log ``event`` unless it was logged less than ``interval`` ago; True if it was."""
        key = (logger.name, level, event, tuple(sorted(fields.items(), key=lambda i: i[0])))
        now = self._clock()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.interval:
            entry[1] += 1
            return False
        if entry is None and len(self._seen) >= self.MAX_KEYS:
            self._seen.clear()
        left_out = int(entry[1]) if entry is not None else 0
        self._seen[key] = [now, 0]
        logger.log(
            level,
            event,
            extra={**fields, **({"repeated": left_out} if left_out else {})},
            exc_info=exc_info,
        )
        return True

    def failure(
        self, logger: logging.Logger, event: str, error: BaseException, **fields: Any
    ) -> bool:
        """Log a failure of a background loop or a request, once per interval.

        A passing database fault (``pmd_domain.db.faults``) is a warning naming the
        fault (SQLite's code name, the SQLSTATE, whether the connection was lost);
        anything else an error with its type and frames (``failure_fields``). Never the exception's message,
        which can quote a statement's parameters.
        """
        # Imported here: the database layer logs through this module.
        from pmd_domain.db.faults import describe, is_transient

        if is_transient(error):
            return self.log(logger, logging.WARNING, event, **fields, **describe(error))
        return self.log(logger, logging.ERROR, event, **fields, **failure_fields(error))
