"""Structured logs: one JSON object per line, never personal data."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with its ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send JSON logs to stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
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
        anything else an error with its traceback. Never the exception's message,
        which can quote a statement's parameters.
        """
        # Imported here: the database layer logs through this module.
        from pmd_domain.db.faults import describe, is_transient

        if is_transient(error):
            return self.log(logger, logging.WARNING, event, **fields, **describe(error))
        return self.log(
            logger,
            logging.ERROR,
            event,
            exc_info=(type(error), error, error.__traceback__),
            **fields,
            error=type(error).__name__,
        )
