"""WhatsApp step cost: the real channel against a bare aiohttp webhook echo on the same stack.

Both are aiohttp servers in a process of their own (``pmd serve`` with the WhatsApp
settings; the echo as ``python -m bench.bench_whatsapp echo``) behind the same local
Cloud API (``tests/waapi``), which runs here with the simulated citizens. A step is a
signed webhook delivery of one citizen message until its answer: both answer the
webhook once their reply has reached the Cloud API (``/messages``), so the delivery's
round trip is the step. The echo checks the signature, reads the message and answers
with a reply button, nothing else; Participa PMD runs the channel, the engine and a
SQLite write transaction per step, and sends the reply from the outbox.

Beside the step's time, each server process's CPU time per step is reported (from
``/proc``), a steadier figure than the times on a shared machine, and so is the CPU
the simulated side (the local Cloud API and the citizens, this process) used.

A citizen says "Hola", then taps the first choice of the latest message (consent,
then demographic answers; a numbered menu is answered with "1"). The two take turns
in each of ``BENCH_ROUNDS`` rounds (12; the one going first alternates), one citizen
at a time and ``BENCH_CONCURRENCY`` (4) at a time. Size: ``BENCH_CITIZENS`` (240),
``BENCH_STEPS`` (4). Beside the ratio of the mean step times, the report gives the
spread of the rounds' own ratios: how much the shared machine moved the figure.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web

from bench.proc import cpu_seconds
from tests.e2e.hosting import PMD, free_port
from tests.waapi import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN, Phone, WhatsAppCloudServer

ECHO = "aiohttp webhook echo (signature, JSON, one reply)"
REAL = "Participa PMD (channel + engine + database + outbox)"
_numbers = itertools.count(5215500000000)


# ---------------------------------------------------------------- the echo server
async def _echo_app(api: str, phone_id: str) -> web.Application:
    http = ClientSession(
        timeout=ClientTimeout(total=20), headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
    )

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("X-Hub-Signature-256", "").removeprefix("sha256=")
        expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPForbidden()
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        for message in value.get("messages", ()):
            reply = {
                "messaging_product": "whatsapp",
                "to": message["from"],
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Recibido"},
                    "action": {
                        "buttons": [{"type": "reply", "reply": {"id": "a", "title": "Otra vez"}}]
                    },
                },
            }
            async with http.post(f"{api}/{phone_id}/messages", json=reply) as answer:
                await answer.read()
        return web.Response(text="ok")

    async def close(app: web.Application) -> None:
        await http.close()

    app = web.Application()
    app.router.add_post("/whatsapp/webhook", webhook)
    app.on_cleanup.append(close)
    return app


def _serve_echo(port: int, api: str, phone_id: str) -> None:
    web.run_app(_echo_app(api, phone_id), host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- the citizens
async def _step(phone: Phone) -> float:
    choices = phone.choices()
    started = time.perf_counter()
    if not phone.messages:
        arrived = await phone.say("Hola")
    elif choices:
        arrived = await phone.press(choices[0])
    else:
        arrived = await phone.say("1")
    took = time.perf_counter() - started
    if phone.last_status != 200 or not arrived:
        raise RuntimeError(f"step failed: {phone.last_status}")
    return took


async def _citizens(
    server: WhatsAppCloudServer, count: int, steps: int, at_once: int
) -> list[float]:
    times: list[float] = []
    phones = [server.phone(str(next(_numbers))) for _ in range(count)]
    slots = asyncio.Semaphore(at_once)

    async def one(phone: Phone) -> None:
        async with slots:
            for _ in range(steps):
                times.append(await _step(phone))

    await asyncio.gather(*(one(p) for p in phones))
    return times


async def _wait_up(url: str) -> None:
    async with ClientSession() as http:
        for _ in range(400):
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def _run(citizens: int, steps: int, at_once: int, rounds: int, folder: Path) -> str:
    server = WhatsAppCloudServer()
    await server.start()
    consultation = folder / "consulta.toml"
    init = await asyncio.create_subprocess_exec(
        str(PMD), "consultation", "init", str(consultation),
        "--opens", "2020-01-01", "--closes", "2099-12-31", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await init.wait() == 0
    real_port, echo_port = free_port(), free_port()
    env = {
        **os.environ,
        "PMD_ENV": "development",
        "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'pmd.sqlite3'}",
        "PMD_CONSULTATION": str(consultation),
        "PMD_PORT": str(real_port),
        "PMD_LOG_LEVEL": "WARNING",
        "WHATSAPP_API_URL": server.url,
        "WHATSAPP_PHONE_NUMBER_ID": server.phone_number_id,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    real = await asyncio.create_subprocess_exec(
        str(PMD), "serve", env=env, stderr=asyncio.subprocess.DEVNULL
    )
    echo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_whatsapp", "echo", str(echo_port), server.url,
        server.phone_number_id, env=os.environ.copy(),
    )  # fmt: skip
    urls = {
        ECHO: f"http://127.0.0.1:{echo_port}/whatsapp/webhook",
        REAL: f"http://127.0.0.1:{real_port}/whatsapp/webhook",
    }
    pids = {ECHO: echo.pid, REAL: real.pid}
    results: dict[tuple[str, int], list[float]] = {}
    turns: dict[tuple[str, int], list[float]] = {}  # each turn's mean step time
    busy: dict[tuple[str, int], float] = {}  # the server process's CPU seconds
    side: dict[tuple[str, int], float] = {}  # this process's: the Cloud API and citizens
    try:
        await _wait_up(f"http://127.0.0.1:{real_port}/healthz")
        await _wait_up(f"http://127.0.0.1:{echo_port}/")
        share = max(1, citizens // rounds)
        for round_ in range(rounds):
            for width in (1, at_once):
                # Who goes first alternates: neither server always follows the other.
                for name in (ECHO, REAL) if round_ % 2 == 0 else (REAL, ECHO):
                    server.webhook_url = urls[name]
                    before = cpu_seconds([pids[name]])
                    ours = time.process_time()
                    times = await _citizens(server, share, steps, width)
                    busy[(name, width)] = busy.get((name, width), 0.0) + (
                        cpu_seconds([pids[name]]) - before
                    )
                    side[(name, width)] = side.get((name, width), 0.0) + (
                        time.process_time() - ours
                    )
                    results.setdefault((name, width), []).extend(times)
                    turns.setdefault((name, width), []).append(statistics.fmean(times))
    finally:
        for process in (real, echo):
            process.terminate()
            await process.wait()
        await server.stop()
    return _report(
        results,
        turns,
        busy,
        side,
        citizens=share * rounds,
        steps=steps,
        at_once=at_once,
        rounds=rounds,
    )


def _report(
    results: dict[tuple[str, int], list[float]],
    turns: dict[tuple[str, int], list[float]],
    busy: dict[tuple[str, int], float],
    side: dict[tuple[str, int], float],
    *,
    citizens: int,
    steps: int,
    at_once: int,
    rounds: int,
) -> str:
    lines = [
        "## WhatsApp step (`bench_whatsapp`)",
        "",
        f"{citizens} citizens × {steps} steps per server and setting ({rounds} rounds, in "
        "which the two take turns, the one going first alternating), one citizen at a time "
        f"and {at_once} at a time. Both servers are "
        "aiohttp processes of their own behind the same local Cloud API (`tests/waapi`), "
        "which runs with the simulated citizens in the benchmark's process; a step is a "
        "signed webhook delivery until the reply reached `/messages`. The server's CPU is "
        "its process's user and system time during its turns (all its threads), divided by "
        "its steps; the simulated citizens' side is not in it. That side's CPU (the local "
        "Cloud API and the citizens, this process's time during the same turns) is beside "
        "it.",
        "",
        "| server | citizens at a time | mean ms | p50 ms | p95 ms | server CPU ms a step "
        "| simulated side's CPU ms a step |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for width in (1, at_once):
        for name in (ECHO, REAL):
            times = sorted(results[(name, width)])
            p95 = times[int(0.95 * (len(times) - 1))]
            cpu = busy[(name, width)] / len(times) * 1000
            theirs = side[(name, width)] / len(times) * 1000
            lines.append(
                f"| {name} | {width} | {statistics.fmean(times) * 1000:.1f} | "
                f"{statistics.median(times) * 1000:.1f} | {p95 * 1000:.1f} | {cpu:.2f} | "
                f"{theirs:.2f} |"
            )
        ratio = statistics.fmean(results[(REAL, width)]) / statistics.fmean(results[(ECHO, width)])
        verdict = "meets" if ratio <= 2 else "misses"
        spent = busy[(REAL, width)] / len(results[(REAL, width)])
        spent_echo = busy[(ECHO, width)] / len(results[(ECHO, width)])
        # The ratio of each round's two turns, to show how much the machine moved it.
        each = sorted(
            real / echo
            for real, echo in zip(turns[(REAL, width)], turns[(ECHO, width)], strict=True)
        )
        summary.append(
            f"- {width} citizen(s) at a time: mean ratio **{ratio:.2f}×** ({verdict} ≤ 2×), "
            f"the rounds' ratios {each[0]:.2f}–{each[-1]:.2f}× (median "
            f"{statistics.median(each):.2f}×); server CPU a step {spent / spent_echo:.1f}× "
            "the echo's"
        )
    summary.append(
        "- What Participa PMD's step adds to the echo's work is the conversation engine and "
        "its SQLite write transaction (about six short statements and a commit, run on the "
        'event loop: see "Cost of a conversation step" in `docs/architecture.md`), the '
        "channel's bookkeeping (the chat's turn, the outbox sender) and the application's "
        "middlewares; the webhook and the Graph API call are the same for both. Four at a "
        "time, Participa PMD's event loop is busy all the time, so its steps wait for each "
        "other (a step takes about four times its CPU a step); the echo's is not, and its "
        "steps wait mostly for the exchange with the simulated side, in the other process."
    )
    return "\n".join([*lines, "", *summary])


def run() -> str:
    """Run the benchmark and return its Markdown section."""
    citizens = int(os.environ.get("BENCH_CITIZENS", "240"))
    steps = int(os.environ.get("BENCH_STEPS", "4"))
    at_once = int(os.environ.get("BENCH_CONCURRENCY", "4"))
    rounds = max(1, min(citizens, int(os.environ.get("BENCH_ROUNDS", "12"))))
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_run(citizens, steps, at_once, rounds, Path(folder)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["echo"]:
        _serve_echo(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        print(run())
