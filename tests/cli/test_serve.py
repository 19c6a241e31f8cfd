"""``pmd serve`` once it listens: the banner, and a start-up heap left alone by the collector."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pmd_cli.commands import serve
from tests.e2e.hosting import free_port
from tests.e2e.test_make_run import _read_until


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
        gc.set_threshold(*threshold)


def test_once_it_listens_the_start_up_objects_are_out_of_the_collectors_way(
    unfrozen: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # What start-up built (modules, mappers, catalogues, the app) lives as long as the
    # process; a full collection would go through all of it again and again, holding
    # the event loop for as long (about 100 ms in a serving process).
    serve.banner("http://127.0.0.1:8080", "Consulta", None)  # its modules imported, as when serving
    assert gc.get_freeze_count() == 0
    tracked = len(gc.get_objects())
    serve.when_listening("http://127.0.0.1:8080", "Consulta", None)("http://127.0.0.1:8080")
    assert gc.get_freeze_count() >= tracked // 2
    assert len(gc.get_objects()) < tracked // 10  # what a collection still looks at
    # The young objects are collected in rounds further apart than Python's 700.
    assert gc.get_threshold()[0] == serve.YOUNG_COLLECTION > 700
    assert "Participa PMD está en marcha: Consulta" in capsys.readouterr().out


def test_the_banner_shows_the_port_given_on_the_command_line(tmp_path: Path) -> None:
    """``--port`` stands for PMD_PORT: the links printed are where it listens."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))}
    env |= {
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pmd.sqlite3'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "pmd_cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = _read_until(process, "Para detenerlo", timeout=120)
        [chat] = [line for line in lines if "Chat en el navegador" in line]
        assert f"http://127.0.0.1:{port}/participa" in chat, chat
    finally:
        process.terminate()
        process.communicate(timeout=30)  # and close its pipe
