"""Scale-out: conversation steps per second with 1, 2 and 4 ``pmd serve`` processes.

Every configuration runs in the same benchmark run, on the same machine: one
process on SQLite, then 1, 2 and 4 processes on one PostgreSQL. The processes are
real ``pmd serve`` in webhook mode behind a real nginx (``least_conn``, the shipped
``deploy/nginx`` upstream), which the local Bot API server (``tests/botapi``, in a
process of its own with the simulated citizens) POSTs every update to, up to 40 at
once and one chat at a time, as Telegram does. A step is an update in → the bot's
reply at the server; citizens go through ``/start`` and the consent and demographic
buttons, ``BENCH_SCALE_AT_ONCE`` (default 32) at a time.

The PostgreSQL server is started by the benchmark (``tests/pg.py``) with
``fsync=off``, ``synchronous_commit=off`` and ``full_page_writes=off``: this measures
how the processes share the work, not the disk (a production server syncs, which
costs each commit a flush). CPU time of each part (the ``pmd serve`` processes,
PostgreSQL, nginx, the Bot API side) is read from ``/proc`` to show what limits each
configuration. Size: ``BENCH_SCALE_CITIZENS`` (600), ``BENCH_SCALE_STEPS`` (5).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from aiohttp import ClientSession

from bench.bench_conversation import _drive
from bench.proc import TICKS, cpu_seconds
from tests.botapi import DEFAULT_TOKEN, BotApiServer
from tests.pg import PostgresServer, free_port, unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
PMD = Path(sys.executable).parent / "pmd"
NGINX_SITE = ROOT / "deploy" / "nginx" / "participa-pmd.conf"
SECRET = "bench-webhook-secret-Zq8xW2pLm4Nv7Rt"


# ------------------------------------------------------------------ the Telegram side
def _telegram_side(orders: Connection) -> None:
    asyncio.run(_serve(orders))


async def _serve(orders: Connection) -> None:
    botapi = BotApiServer(create_unknown_chats=True)
    await botapi.start()
    orders.send((botapi.url, os.getpid()))
    try:
        while (order := await asyncio.to_thread(orders.recv)) is not None:
            first_chat, citizens, steps, at_once = order
            started = time.perf_counter()
            timings = await _drive(botapi, first_chat, citizens, steps, at_once)
            orders.send((timings, time.perf_counter() - started))
    finally:
        await botapi.stop()


class TelegramSide:
    """The Bot API server delivering webhooks, and the citizens, in a process of their own."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._orders, theirs = context.Pipe()
        self._process = context.Process(target=_telegram_side, args=(theirs,), daemon=True)
        self.url = ""
        self.pid = 0

    async def start(self) -> None:
        self._process.start()
        self.url, self.pid = await asyncio.to_thread(self._orders.recv)

    async def drive(
        self, first_chat: int, citizens: int, steps: int, at_once: int
    ) -> tuple[list[float], float]:
        self._orders.send((first_chat, citizens, steps, at_once))
        result: tuple[list[float], float] = await asyncio.to_thread(self._orders.recv)
        return result

    async def stop(self) -> None:
        self._orders.send(None)
        await asyncio.to_thread(self._process.join, 10)


# ------------------------------------------------------------------ CPU time from /proc
def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (every program, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


# ------------------------------------------------------------------ nginx and pmd serve
def _nginx_conf(folder: Path, port: int, backends: list[int]) -> Path:
    """The shipped site on plain http (the benchmark is not about TLS) with these backends."""
    site = NGINX_SITE.read_text()
    upstream = re.search(r"upstream participa_pmd \{.*?\n\}", site, re.S)
    assert upstream is not None
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in backends)
    block = upstream.group(0)
    block = re.sub(r"    server 127\.0\.0\.1:\d+[^\n]*\n", "", block)
    block = block.replace("    least_conn;\n", "    least_conn;\n" + servers)
    locations = re.search(r"    proxy_http_version.*?\n\}", site[site.index("listen 443") :], re.S)
    assert locations is not None
    server = f"server {{\n    listen 127.0.0.1:{port};\n{locations.group(0)}\n"
    (folder / "site.conf").write_text(block + "\n\n" + server)
    main = folder / "nginx.conf"
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main.write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        f"worker_processes 1;\nevents {{ worker_connections 1024; }}\n"
        f"http {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n"
    )
    return main


async def _wait_up(port: int) -> None:
    async with ClientSession() as http:
        for _ in range(600):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if (await response.json()).get("bot") == "up":
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"pmd serve on port {port} did not start")


async def _configuration(
    telegram: TelegramSide,
    *,
    url: str,
    processes: int,
    folder: Path,
    consultation: Path,
    first_chat: int,
    citizens: int,
    steps: int,
    at_once: int,
) -> dict[str, float]:
    """Run ``processes`` pmd serve on ``url`` behind nginx; the figures of one load."""
    nginx_port = free_port()
    ports = [free_port() for _ in range(processes)]
    work = folder / f"nginx-{first_chat}"
    work.mkdir()
    nginx = await asyncio.create_subprocess_exec(
        str(shutil.which("nginx", path="/usr/sbin:/usr/bin")),
        "-p", str(work), "-c", str(_nginx_conf(work, nginx_port, ports)), "-g", "daemon off;",
    )  # fmt: skip
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": url,
        "PMD_CONSULTATION": str(consultation),
        "PMD_PUBLIC_URL": f"http://127.0.0.1:{nginx_port}",
        "PMD_LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }
    upgrade = await asyncio.create_subprocess_exec(str(PMD), "db", "upgrade", env=env,
                                                   stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
    assert await upgrade.wait() == 0
    serving = [
        await asyncio.create_subprocess_exec(
            str(PMD), "serve", env={**env, "PMD_PORT": str(port)}, stderr=asyncio.subprocess.DEVNULL
        )
        for port in ports
    ]
    try:
        for port in ports:
            await _wait_up(port)
        await telegram.drive(first_chat - 50_000, min(40, citizens), steps, at_once)  # warm-up
        postgres = _postgres_pids(url)
        parts = {
            "pmd": [p.pid for p in serving],
            "postgres": postgres,
            "nginx": [nginx.pid, *_children(nginx.pid)],
            "telegram": [telegram.pid],
        }
        before = {name: cpu_seconds(pids) for name, pids in parts.items()}
        machine = _machine_busy()
        timings, wall = await telegram.drive(first_chat, citizens, steps, at_once)
        machine = _machine_busy() - machine
        after = {name: cpu_seconds(pids + _postgres_pids(url) if name == "postgres" else pids)
                 for name, pids in parts.items()}  # fmt: skip
    finally:
        for process in serving:
            process.send_signal(signal.SIGINT)
        for process in serving:
            await asyncio.wait_for(process.wait(), 30)
        nginx.terminate()
        await nginx.wait()
    ordered = sorted(timings)
    figures = {
        "steps": len(ordered),
        "wall": wall,
        "rate": len(ordered) / wall,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }
    for name in parts:
        figures[f"cpu_{name}"] = (after[name] - before[name]) / wall  # cores busy
    ours = sum(figures[f"cpu_{name}"] for name in parts)
    figures["cpu_others"] = max(0.0, machine / wall - ours)  # other programs on the machine
    return figures


_PG_DATA: dict[str, Path] = {}


def _postgres_pids(url: str) -> list[int]:
    data = _PG_DATA.get("data")
    if not url.startswith("postgresql") or data is None:
        return []
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    return list({postmaster, *_children(postmaster)})


# ------------------------------------------------------------------ the run
async def _run(citizens: int, steps: int, at_once: int, folder: Path) -> str:
    consultation = folder / "consulta.toml"
    init = await asyncio.create_subprocess_exec(
        str(PMD), "consultation", "init", str(consultation),
        "--opens", "2020-01-01", "--closes", "2099-12-31", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await init.wait() == 0
    postgres = PostgresServer().start()  # fsync off: see the module docstring
    _PG_DATA["data"] = postgres.data
    telegram = TelegramSide()
    await telegram.start()
    rows: list[tuple[str, int, dict[str, float]]] = []
    try:
        plans = [("SQLite", 1, f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")]
        for n in (1, 2, 4):
            plans.append(("PostgreSQL", n, await postgres.create_database(f"scale_{n}")))
        for index, (kind, n, url) in enumerate(plans):
            figures = await _configuration(
                telegram, url=url, processes=n, folder=folder, consultation=consultation,
                first_chat=(index + 1) * 1_000_000, citizens=citizens, steps=steps,
                at_once=at_once,
            )  # fmt: skip
            rows.append((kind, n, figures))
            print(kind, n, {k: round(v, 2) for k, v in figures.items()}, flush=True)
    finally:
        await telegram.stop()
        postgres.stop()
    return _report(rows, citizens=citizens, steps=steps, at_once=at_once)


def _report(
    rows: list[tuple[str, int, dict[str, float]]], *, citizens: int, steps: int, at_once: int
) -> str:
    one_pg = next(f for kind, n, f in rows if kind == "PostgreSQL" and n == 1)
    cores = os.cpu_count() or 1
    table = "\n".join(
        f"| {kind} | {n} | {f['rate']:.0f} | {f['rate'] / one_pg['rate']:.2f} | {f['p50']:.1f} "
        f"| {f['p95']:.1f} | {f['cpu_pmd']:.2f} | {f['cpu_postgres']:.2f} | {f['cpu_nginx']:.2f} "
        f"| {f['cpu_telegram']:.2f} | {f['cpu_others']:.2f} | {_limit(f, n, cores)} |"
        for kind, n, f in rows
    )
    return (
        "## Scale-out (`bench_scaleout`)\n\n"
        f"{citizens} citizens × {steps} steps per configuration, {at_once} at a time, in one "
        "run: `pmd serve` processes in webhook mode behind nginx (`least_conn`, the shipped "
        "upstream), the local Bot API server POSTing updates to nginx (up to 40 at once, "
        "one chat at a time) from a process of its own with the simulated citizens. A step "
        "is an update in → the reply at the server. PostgreSQL runs with `fsync=off` "
        "(throughput of the processes, not of the disk). CPU columns: cores kept busy "
        f'during the run by each part (this machine has {cores}); "other programs" is '
        "whatever else ran on the machine meanwhile.\n\n"
        "| database | processes | steps/s | vs 1 process on PostgreSQL | p50 ms | p95 ms "
        "| CPU pmd | CPU PostgreSQL | CPU nginx | CPU Bot API + citizens | CPU other programs "
        "| what limits it |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"{table}\n"
    )


def _limit(figures: dict[str, float], processes: int, cores: int) -> str:
    """What the CPU columns say holds this configuration back."""
    parts = {k.removeprefix("cpu_"): v for k, v in figures.items() if k.startswith("cpu_")}
    busy = sum(parts.values())
    if busy >= 0.85 * cores:
        shared = f", {parts['others']:.1f} by other programs" if parts["others"] >= 0.2 else ""
        return f"the machine's {cores} cores ({busy:.1f} busy{shared})"
    if parts["pmd"] >= 0.85 * processes:
        return "each process's one core (Python runs a process's event loop on one core)"
    if parts["postgres"] >= max(parts["pmd"], 0.5):
        return "PostgreSQL"
    return f"neither CPU nor the database ({busy:.1f} of {cores} cores busy): waiting"


def run() -> str:
    """Run the benchmark and return its Markdown section."""
    reason = unavailable_reason()
    if reason:
        return f"## Scale-out (`bench_scaleout`)\n\nNot run: {reason}.\n"
    if shutil.which("nginx", path="/usr/sbin:/usr/bin") is None:
        return "## Scale-out (`bench_scaleout`)\n\nNot run: nginx is not installed.\n"
    citizens = int(os.environ.get("BENCH_SCALE_CITIZENS", "600"))
    steps = int(os.environ.get("BENCH_SCALE_STEPS", "5"))
    at_once = int(os.environ.get("BENCH_SCALE_AT_ONCE", "32"))
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_run(citizens, steps, at_once, Path(folder)))
