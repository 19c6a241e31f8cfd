"""Public proposal pages at a small and a large consultation vs a bare aiohttp handler.

SPEC §8: ``/propuestas`` and ``/propuestas/<folio>`` have the same latency at 1,000 and
1,000,000 participants and reach at least 1/3 of a bare handler's throughput. Two
measures, in this run, each server in its own process:

- under load (``wrk -t1 -c50``, as ``bench_dashboard``): the same URL again and
  again, which the page cache serves;
- uncached: one request at a time to URLs never asked before (a different page
  cursor, search or folio each time), so each one runs its query and renders: the
  cost the cache saves, which must not grow with the data either.

The databases are ``bench_dashboard``'s (``var/bench/``, built once per size and
seed); sizes from ``PMD_BENCH_PROPOSALS_SIZES`` (default ``1000,1000000``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import time
import urllib.request
from pathlib import Path

from bench.bench_dashboard import SERVE_APP, SERVE_BARE, Load, Server, database, measure

UNCACHED = 200


def _sample(path: Path, count: int) -> tuple[list[str], list[str]]:
    """Published folios spread over the whole table, and list URLs with as many cursors."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        total = conn.execute("SELECT COUNT(*) FROM proposals WHERE status = 'published'").fetchone()
        step = max(1, int(total[0]) // count)
        folios = [
            row[0]
            for row in conn.execute(
                "SELECT folio FROM proposals WHERE status = 'published' ORDER BY id"
            ).fetchall()[::step][:count]
        ]
    finally:
        conn.close()
    pillars = ("bienestar", "servicios", "seguridad", "economia", "gobierno")
    lists = []
    for n, folio in enumerate(folios):
        kind = n % 4
        if kind == 0:
            lists.append(f"/propuestas?antes={folio}")
        elif kind == 1:
            lists.append(f"/propuestas?eje={pillars[n % 5]}&antes={folio}")
        elif kind == 2:
            lists.append(f"/propuestas?resultado=sin_resultado&antes={folio}")
        else:
            lists.append(f"/propuestas?despues={folio}")
    return folios, lists


def _one_at_a_time(base: str, paths: list[str]) -> tuple[float, float]:
    """Median and 95th percentile (ms) of requests sent one after another."""
    took = []
    for path in paths:
        started = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=30) as response:
            response.read()
            assert response.status == 200, path
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1]


def run() -> str:
    """Measure and return the Markdown section."""
    sizes = [int(s) for s in os.environ.get("PMD_BENCH_PROPOSALS_SIZES", "1000,1000000").split(",")]
    seed = int(os.environ.get("PMD_BENCH_SEED", "1"))
    seconds = int(os.environ.get("PMD_BENCH_SECONDS", "5"))
    files = {size: database(size, seed) for size in sizes}
    samples = {size: _sample(files[size], UNCACHED) for size in sizes}
    with Server(SERVE_BARE) as bare:
        baseline = measure(bare.base + "/", seconds)
    loads: dict[tuple[int, str], Load] = {}
    cold: dict[tuple[int, str], tuple[float, float]] = {}
    for size in sizes:
        folios, lists = samples[size]
        middle = folios[len(folios) // 2]
        with Server(SERVE_APP, f"sqlite+aiosqlite:///{files[size]}") as app:
            for label, path in (
                ("/propuestas", "/propuestas"),
                ("/propuestas/<folio>", f"/propuestas/{middle}"),
            ):
                loads[(size, label)] = measure(app.base + path, seconds)
            cold[(size, "/propuestas")] = _one_at_a_time(app.base, lists)
            cold[(size, "/propuestas/<folio>")] = _one_at_a_time(
                app.base, [f"/propuestas/{f}" for f in folios]
            )
    tool = "wrk -t1 -c50" if shutil.which("wrk") else "Python client, 50 connections"
    lines = [
        "## Public proposal pages (`bench_proposals`)",
        "",
        f"{tool}, {seconds} s per run, best of 2 runs, SQLite, demo data seed {seed} "
        "(the dashboard benchmark's databases); each server in its own process. Bare = a "
        "one-line aiohttp JSON handler. Uncached = "
        f"{UNCACHED} URLs never requested before, one at a time (list pages at cursors spread "
        "over the whole table, with and without filters; proposal pages spread likewise).",
        "",
        "| Endpoint | Participants | req/s | p50 ms | p99 ms | vs bare req/s | uncached p50 ms | uncached p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| bare handler | — | {baseline.rps:,.0f} | {baseline.p50_ms:.2f} "
        f"| {baseline.p99_ms:.2f} | 1.00 | — | — |",
    ]
    for (size, label), load in loads.items():
        c50, c95 = cold[(size, label)]
        lines.append(
            f"| `{label}` | {size:,} | {load.rps:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} "
            f"| {load.rps / baseline.rps:.2f} | {c50:.2f} | {c95:.2f} |"
        )
    small, large = min(sizes), max(sizes)
    lines += ["", "Ratios (SPEC §8: same latency at both sizes; ≥ 0.33 of the bare handler):", ""]
    for label in ("/propuestas", "/propuestas/<folio>"):
        a, b = loads[(small, label)], loads[(large, label)]
        ca, cb = cold[(small, label)], cold[(large, label)]
        lines.append(
            f"- `{label}`: p50 at {large:,} / at {small:,} = {b.p50_ms / a.p50_ms:.2f} "
            f"(uncached {cb[0] / ca[0]:.2f}); req/s at {large:,} / bare = {b.rps / baseline.rps:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
