"""Dashboard and ``/api/estadisticas`` at a small and a large consultation vs a bare handler.

SPEC §8: the same latency at 1,000 and 1,000,000 participants (the cost must not grow
with the data) and at least 1/3 of a bare aiohttp handler's throughput. Everything is
measured in this run: each server runs in its own process, the load comes from
``wrk -t1 -c50 -d5s`` (or a Python client when wrk is missing).

Sizes and duration come from ``PMD_BENCH_DASHBOARD_SIZES`` (default ``1000,1000000``),
``PMD_BENCH_SEED`` (default 1) and ``PMD_BENCH_SECONDS`` (default 5). Generated
databases are kept under ``var/bench/`` keyed by size and seed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
CONNECTIONS = 50


@dataclass
class Load:
    """Figures of one load run."""

    rps: float
    p50_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database(size: int, seed: int) -> Path:
    """A SQLite file with ``size`` demo participants, generated once and then reused."""
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / f"dashboard-{size}-seed{seed}.sqlite3"
    if target.exists():
        return target
    partial = target.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{partial}",
    }
    pmd = [sys.executable, "-m", "pmd_cli"]
    subprocess.run([*pmd, "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True)
    subprocess.run(
        [*pmd, "demo-data", "--participants", str(size), "--seed", str(seed)],
        env=env,
        check=True,
        cwd=ROOT,
    )
    # Fold the WAL into the file so that one file is the whole database.
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    partial.rename(target)
    return target


SERVE_APP = """
import logging, sys
from aiohttp import web
from pmd_domain.settings import Settings
from web.app import create_app
logging.basicConfig(level=logging.WARNING)
settings = Settings(PMD_ENV="development", PMD_DATABASE_URL=sys.argv[1],
                    PMD_PUBLIC_URL="http://127.0.0.1")
web.run_app(create_app(settings, migrate=False), host="127.0.0.1", port=int(sys.argv[2]),
            access_log=None, print=None)
"""

SERVE_BARE = """
import sys
from aiohttp import web
async def hello(request):
    return web.Response(body=b'{"ok":true}', content_type="application/json")
app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


class Server:
    """A server in its own process, stopped on exit."""

    def __init__(self, script: str, *args: str):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, *args, str(self.port)], cwd=ROOT
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int) -> Load:
    """Load ``url`` with wrk and parse req/s and the 50th/99th latency percentiles."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {
        p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"errors under load at {url}:\n{out}")
    return Load(rps=rps, p50_ms=pct["50"], p99_ms=pct["99"])


def python_load(url: str, seconds: int) -> Load:
    """The same measure with an aiohttp client, for machines without wrk."""
    import aiohttp

    async def main() -> Load:
        latencies: list[float] = []
        stop = time.perf_counter() + seconds
        async with aiohttp.ClientSession() as session:

            async def worker() -> None:
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    async with session.get(url) as response:
                        await response.read()
                        assert response.status == 200
                    latencies.append((time.perf_counter() - started) * 1000)

            await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        latencies.sort()
        return Load(
            rps=len(latencies) / seconds,
            p50_ms=latencies[len(latencies) // 2],
            p99_ms=latencies[int(len(latencies) * 0.99)],
        )

    return asyncio.run(main())


def measure(url: str, seconds: int, rounds: int = 2) -> Load:
    """Warm the endpoint up, then load it; the best of ``rounds`` (the machine is shared)."""
    for _ in range(3):
        urllib.request.urlopen(url, timeout=30).read()
    load = wrk if shutil.which("wrk") else python_load
    return max((load(url, seconds) for _ in range(rounds)), key=lambda x: x.rps)


def run() -> str:
    """Measure and return the Markdown section."""
    sizes = [int(s) for s in os.environ.get("PMD_BENCH_DASHBOARD_SIZES", "1000,1000000").split(",")]
    seed = int(os.environ.get("PMD_BENCH_SEED", "1"))
    seconds = int(os.environ.get("PMD_BENCH_SECONDS", "5"))
    files = {size: database(size, seed) for size in sizes}
    with Server(SERVE_BARE) as bare:
        baseline = measure(bare.base + "/", seconds)
    results: dict[tuple[int, str], Load] = {}
    for size in sizes:
        with Server(SERVE_APP, f"sqlite+aiosqlite:///{files[size]}") as app:
            for path in ("/api/estadisticas", "/"):
                results[(size, path)] = measure(app.base + path, seconds)
    tool = "wrk -t1 -c50" if shutil.which("wrk") else "Python client, 50 connections"
    lines = [
        "## Dashboard (`bench_dashboard`)",
        "",
        f"{tool}, {seconds} s per run, best of 2 runs, SQLite, demo data seed {seed}; "
        "each server in its own process. Bare = a one-line aiohttp JSON handler.",
        "",
        "| Endpoint | Participants | req/s | p50 ms | p99 ms | vs bare req/s |",
        "|---|---:|---:|---:|---:|---:|",
        f"| bare handler | — | {baseline.rps:,.0f} | {baseline.p50_ms:.2f} "
        f"| {baseline.p99_ms:.2f} | 1.00 |",
    ]
    for (size, path), load in results.items():
        lines.append(
            f"| `{path}` | {size:,} | {load.rps:,.0f} | {load.p50_ms:.2f} | {load.p99_ms:.2f} "
            f"| {load.rps / baseline.rps:.2f} |"
        )
    small, large = min(sizes), max(sizes)
    lines += ["", "Ratios (SPEC §8: same latency at both sizes; ≥ 0.33 of the bare handler):", ""]
    for path in ("/api/estadisticas", "/"):
        a, b = results[(small, path)], results[(large, path)]
        lines.append(
            f"- `{path}`: p50 at {large:,} / at {small:,} = {b.p50_ms / a.p50_ms:.2f}; "
            f"req/s at {large:,} / bare = {b.rps / baseline.rps:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
