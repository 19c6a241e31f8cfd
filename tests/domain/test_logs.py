"""Repeated failures are logged once per interval, with how many were left out."""

from __future__ import annotations

import logging

import pytest

from pmd_domain.logs import RepeatedLog


def test_a_failure_that_repeats_is_one_line_per_interval_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    repeated = RepeatedLog(interval=30, clock=lambda: now[0])
    logger = logging.getLogger("pmd.test")
    caplog.set_level(logging.WARNING, logger="pmd.test")
    for _ in range(50):
        repeated.log(logger, logging.WARNING, "write failed", code="SQLITE_FULL")
        now[0] += 1  # one attempt a second
    # Another fault is a line of its own.
    repeated.log(logger, logging.WARNING, "write failed", code="SQLITE_BUSY")
    lines = [(r.getMessage(), r.code, getattr(r, "repeated", 0)) for r in caplog.records]  # type: ignore[attr-defined]
    assert lines == [
        ("write failed", "SQLITE_FULL", 0),
        ("write failed", "SQLITE_FULL", 29),
        ("write failed", "SQLITE_BUSY", 0),
    ]


def test_a_failure_is_named_by_its_fault_or_logged_with_its_frames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import sqlite3

    repeated = RepeatedLog()
    logger = logging.getLogger("pmd.test")
    caplog.set_level(logging.WARNING, logger="pmd.test")
    full = sqlite3.OperationalError("database or disk is full: Ana Pérez")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    full.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
    repeated.failure(logger, "loop failed", full)
    try:
        quoted = "Ana " + "Pérez"
        raise ValueError(f"a bug quoting {quoted}")
    except ValueError as error:
        repeated.failure(logger, "loop failed", error)
    passing, bug = caplog.records
    assert (passing.levelno, passing.code, passing.exc_info) == (
        logging.WARNING,
        "SQLITE_FULL",
        None,
    )  # type: ignore[attr-defined]
    assert "Ana Pérez" not in str(passing.__dict__)
    assert bug.levelno == logging.ERROR and bug.error == "ValueError"  # type: ignore[attr-defined]
    assert "test_logs.py" in bug.where  # type: ignore[attr-defined]
    assert "Ana Pérez" not in str(bug.__dict__)  # the frames, never the message
