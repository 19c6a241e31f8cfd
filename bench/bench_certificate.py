"""Certificates: PDF cost vs a bare reportlab+QR page, event-loop lag, verification throughput.

``PMD_BENCH_QUICK=1`` runs a small configuration (a check that it works, not figures).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import socket
import statistics
import tempfile
import time
from concurrent.futures import Executor
from datetime import timedelta
from pathlib import Path

import qrcode
from aiohttp import web
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from pmd_domain.certificates.pdf import render_certificate, render_certificate_async
from pmd_domain.certificates.renderer import CertificateRenderer
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation, load_consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from pmd_domain.db.models import Certificate
from pmd_domain.services import certificates, participants, proposals
from pmd_domain.settings import Settings
from web.app import create_app
from web.certificates import VERIFICATION, PageCache
from web.links import RouterLinks
from web.ratelimit import RateLimiter

QUICK = os.environ.get("PMD_BENCH_QUICK", "") not in ("", "0")
PDF_ITERATIONS = 15 if QUICK else 150
LAG_RENDERS = 16 if QUICK else 120
CERTIFICATES = 40 if QUICK else 300
WRK_SECONDS = 2 if QUICK else 5
ROUNDS = 1 if QUICK else 2
URL = "https://participa.example.mx/constancias/Zx9_-abcdefghijklmnopqrstuvwxyz01"


def bare_pdf(url: str) -> bytes:
    """The baseline: a bare one-page reportlab PDF with a title, a name and a QR code."""
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=LETTER)
    pdf.setFont("Helvetica-Bold", 20)
    pdf.drawString(72, 700, "Constancia")
    pdf.setFont("Helvetica", 14)
    pdf.drawString(72, 660, "Nombre Apellido")
    image = ImageReader(qrcode.make(url, box_size=10, border=4).get_image())
    pdf.drawImage(image, 72, 72, 50 * mm, 50 * mm)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def open_now(base: Consultation) -> Consultation:
    """The default consultation, open for the benchmark's writes."""
    now = utcnow()
    exercise = base.exercise.model_copy(
        update={"opens": now - timedelta(days=1), "closes": now + timedelta(days=30)}
    )
    return base.model_copy(update={"exercise": exercise})


def sample_certificate(consultation: Consultation) -> Certificate:
    """A certificate as issued to a citizen with three topics."""
    pillars = consultation.pillars
    return Certificate(
        id=45,
        participant_id=1,
        folio="C23-000045",
        token=certificates.new_token(),
        name="María José Hernández-López",
        topics=[[p.key, p.topics[0].key] for p in pillars[:3]],
        issued_at=utcnow(),
        updated_at=utcnow(),
    )


def measure_pdf(consultation: Consultation) -> tuple[float, float]:
    """Median milliseconds of (certificate, baseline), interleaved to share the noise."""
    certificate = sample_certificate(consultation)
    for _ in range(3):  # warm-up: fonts registered, caches filled
        render_certificate(consultation=consultation, certificate=certificate, verify_url=URL)
        bare_pdf(URL)
    ours, bare = [], []
    for _ in range(PDF_ITERATIONS):
        start = time.perf_counter()
        render_certificate(consultation=consultation, certificate=certificate, verify_url=URL)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        bare_pdf(URL)
        bare.append(time.perf_counter() - start)
    return statistics.median(ours) * 1000, statistics.median(bare) * 1000


async def measure_lag(
    consultation: Consultation, executor: Executor | None
) -> tuple[float, float, float]:
    """Max and p99 loop lag (ms) while 8 tasks render PDFs; PDFs per second."""
    certificate = sample_certificate(consultation)
    await render_certificate_async(  # warm the worker: fonts, texts
        consultation=consultation, certificate=certificate, verify_url=URL, executor=executor
    )
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - start - 0.001)

    async def worker(count: int) -> None:
        for _ in range(count):
            await render_certificate_async(
                consultation=consultation,
                certificate=certificate,
                verify_url=URL,
                executor=executor,
            )

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    await asyncio.gather(*(worker(LAG_RENDERS // 8) for _ in range(8)))
    took = time.perf_counter() - start
    stop.set()
    await tick
    ordered = sorted(lags)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return max(lags) * 1000, p99 * 1000, (LAG_RENDERS // 8 * 8) / took


def inline_block(consultation: Consultation) -> float:
    """Milliseconds one certificate rendered directly on the loop would block it."""
    certificate = sample_certificate(consultation)
    start = time.perf_counter()
    render_certificate(consultation=consultation, certificate=certificate, verify_url=URL)
    return (time.perf_counter() - start) * 1000


async def seed(url: str, consultation: Consultation) -> list[str]:
    """A few hundred participants with a proposal and a certificate; their tokens."""
    database = Database(url)
    tokens = []
    now = utcnow()
    async with database.transaction() as session:
        for index in range(CERTIFICATES):
            person = await participants.register(
                session,
                consultation=consultation,
                channel="telegram",
                external_id=str(10_000 + index),
                now=now,
                source=None,
            )
            await proposals.submit(
                session,
                consultation=consultation,
                participant=person,
                pillar="servicios",
                topic="agua",
                problem="Falta agua en la colonia tres días por semana.",
                proposal="Reparar las fugas y publicar el calendario de suministro.",
                vision=None,
                now=now,
            )
            issued = await certificates.issue(
                session,
                consultation=consultation,
                participant=person,
                name="Ana María Pérez-López",
                now=now,
            )
            tokens.append(issued.token)
    await database.dispose()
    return tokens


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wrk(url: str, script: Path | None, seconds: int = 0) -> tuple[float, float, int]:
    """Requests/s, p50 latency (ms) and non-2xx count of ``wrk -t1 -c50``."""
    args = ["-t1", "-c50", f"-d{seconds or WRK_SECONDS}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    process = await asyncio.create_subprocess_exec(
        "wrk", *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output = (await process.communicate())[0].decode()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, latency, int(errors.group(1)) if errors else 0


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start ``app`` on a free port without access logs; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def measure_verification(consultation: Consultation, folder: Path) -> dict[str, float]:
    """wrk against the real verification page (cached and uncached) and a bare handler."""
    url = f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    tokens = await seed(url, consultation)
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=url, PMD_PUBLIC_URL="http://127.0.0.1")
    app = create_app(settings, consultation=consultation, migrate=False)
    runner, base = await serve(app)
    # All of wrk's load comes from one address: lift the per-client limit for the
    # measurement (its bookkeeping still runs on every request).
    app[VERIFICATION].limiter = RateLimiter(rate=10**9, per=1, burst=10**9)
    links = RouterLinks(app.router, base)
    script = folder / "tokens.lua"
    paths = ",".join(f'"{links.certificate(t).removeprefix(base)}"' for t in tokens)
    script.write_text(
        f"paths = {{{paths}}}\ni = 0\n"
        "request = function()\n  i = i + 1\n"
        '  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n',
        "utf-8",
    )

    async def bare_handler(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><p>ok</p>", content_type="text/html")

    bare = web.Application()
    bare.router.add_get("/constancias/{token}", bare_handler)
    bare_runner, bare_base = await serve(bare)

    # The machine is shared: alternate product and baseline, each after a 1 s warm-up
    # (which also fills the page cache), and keep the best run of each.
    runs: dict[str, list[tuple[float, float, int]]] = {"page": [], "bare": []}
    for _ in range(ROUNDS):
        await wrk(base, script, seconds=1)
        runs["page"].append(await wrk(base, script))
        await wrk(bare_base, script, seconds=1)
        runs["bare"].append(await wrk(bare_base, script))
    app[VERIFICATION].cache = PageCache(ttl=0)
    uncached = await wrk(base, script)
    await runner.cleanup()
    await bare_runner.cleanup()
    page, bare_best = max(runs["page"]), max(runs["bare"])
    return {
        "page": page[0],
        "page_p50": page[1],
        "bare": bare_best[0],
        "bare_p50": bare_best[1],
        "uncached": uncached[0],
        "uncached_p50": uncached[1],
        "errors": sum(run[2] for run in runs["page"]) + uncached[2],
    }


async def _async_part(
    consultation: Consultation, folder: Path
) -> tuple[tuple[float, float, float], tuple[float, float, float], dict[str, float]]:
    with CertificateRenderer(processes=1) as renderer:
        pooled = await measure_lag(consultation, renderer.executor)
    threaded = await measure_lag(consultation, None)
    verification = await measure_verification(consultation, folder)
    return pooled, threaded, verification


def run() -> str:
    """Run the three measurements and return the Markdown section."""
    consultation = open_now(load_consultation())
    ours, bare = measure_pdf(consultation)
    folder = Path(tempfile.mkdtemp(prefix="pmd-bench-cert-"))
    try:
        pooled, threaded, page = asyncio.run(_async_part(consultation, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    inline = inline_block(consultation)
    max_lag, p99_lag, per_second = pooled
    pdf_ratio = ours / bare
    page_ratio = page["page"] / page["bare"]
    lines = [
        "## Certificates" + (" (quick run)" if QUICK else ""),
        "",
        "| Measure | Product | Baseline | Ratio | Bar (SPEC §8) |",
        "|---|---|---|---|---|",
        f"| PDF build, median of {PDF_ITERATIONS} (ms) | {ours:.1f} | {bare:.1f} "
        f"(bare reportlab page + QR) | {pdf_ratio:.2f}× | ≤ 3× "
        f"{'✅' if pdf_ratio <= 3 else '❌'} |",
        f"| Event-loop lag while 8 tasks render {LAG_RENDERS} PDFs through "
        f"`CertificateRenderer` (1 worker process) (ms) | max {max_lag:.1f}, p99 {p99_lag:.1f} "
        f"| {inline:.1f} (one PDF rendered on the loop) | — | < 50 ms "
        f"{'✅' if max_lag < 50 else '❌'} |",
        f"| Same, worker threads (`asyncio.to_thread`, no executor given) (ms) | "
        f"max {threaded[0]:.1f}, p99 {threaded[1]:.1f} | | — | (information) |",
        f"| Verification page, `wrk -t1 -c50 -d{WRK_SECONDS}s` over {CERTIFICATES} "
        f"certificates (req/s) | {page['page']:.0f} (p50 {page['page_p50']:.1f} ms) | "
        f"{page['bare']:.0f} (bare aiohttp handler, p50 {page['bare_p50']:.1f} ms) | "
        f"{page_ratio:.2f} | ≥ 0.5 {'✅' if page_ratio >= 0.5 else '❌'} |",
        f"| Same, page cache off (every request queries SQLite) (req/s) | "
        f"{page['uncached']:.0f} (p50 {page['uncached_p50']:.1f} ms) | {page['bare']:.0f} | "
        f"{page['uncached'] / page['bare']:.2f} | (information) |",
        "",
        f"Certificates through one worker process: {per_second:.0f} PDFs/s "
        f"(threads: {threaded[2]:.0f} PDFs/s). "
        f"Non-2xx answers during the page runs: {page['errors']:.0f}. The per-client rate "
        "limit was lifted for the page runs because all of wrk's requests come from one "
        "address; its bookkeeping still ran on every request. Product and baseline ran "
        f"alternately, {ROUNDS} time(s) each after a 1 s wrk warm-up; the best run of each "
        "is shown. The verification page keeps rendered pages of existing certificates "
        "for 10 s (a revocation shows within 10 s); the uncached row is the cost of a first "
        "scan (one SQLite read through SQLAlchemy + a Jinja page).",
    ]
    return "\n".join(lines)
