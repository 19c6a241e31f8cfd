"""``pmd serve`` once it listens: the banner, and a start-up heap left alone by the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pmd_cli.commands import serve


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
