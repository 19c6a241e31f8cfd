"""``/metrics``: the process's Prometheus metrics, for the addresses allowed to read them.

Served to clients whose address is in ``PMD_METRICS_ALLOW`` (loopback only by
default) or that send ``Authorization: Bearer <PMD_METRICS_TOKEN>``; anyone else gets
the same 404 as for a page that does not exist, so the endpoint does not announce
itself. Behind a reverse proxy every request comes from the proxy's address: the
shipped proxy configurations (``deploy/``) do not pass ``/metrics`` on at all, and the
scraper reaches each ``pmd serve`` directly or with the token.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from ipaddress import ip_address

from aiohttp import web

from pmd_domain.metrics import CONTENT_TYPE, Metrics
from pmd_domain.services import broadcasts
from web.dashboard import SNAPSHOTS
from web.keys import DATABASE, METRICS, SETTINGS

routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    """Add ``/metrics`` and the metrics' lifecycle (call after the database's)."""
    app[METRICS] = Metrics()
    app.router.add_routes(routes)
    app.cleanup_ctx.append(_watch_database)


async def _watch_database(app: web.Application) -> AsyncIterator[None]:
    database, metrics = app[DATABASE], app[METRICS]
    if database.read_engine is database.engine:
        metrics.watch(database.engine, "shared")
    else:
        for engine in database.write_engines:
            metrics.watch(engine, "write")
        metrics.watch(database.read_engine, "read")
    metrics.snapshot_age_from(lambda: app[SNAPSHOTS].age() if SNAPSHOTS in app else None)
    yield
    metrics.unwatch()


def allowed(request: web.Request) -> bool:
    """Whether this client may read the metrics (an allowed address, or the token)."""
    settings = request.app[SETTINGS]
    token = settings.metrics_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ip_address(request.remote or "")
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allow)


@routes.get("/metrics", name="metrics")
async def metrics(request: web.Request) -> web.Response:
    """The metrics in the Prometheus text format (404 for clients not allowed)."""
    if not allowed(request):
        raise web.HTTPNotFound()
    app = request.app
    async with app[DATABASE].reading() as session:
        unfinished = await broadcasts.unfinished_progress(session)
    app[METRICS].show_campaigns((c, p.counts) for c, p in unfinished)
    return web.Response(
        body=app[METRICS].render(),
        headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"},
    )


def timed_step(channel: str) -> Callable[[Handler], Handler]:
    """Count (and time, when it succeeds) every request of a conversation endpoint."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def timed(request: web.Request) -> web.StreamResponse:
            started, outcome = time.perf_counter(), "error"
            try:
                response = await handler(request)
                outcome = "ok" if response.status < 400 else "refused"
                return response
            except web.HTTPException as refused:
                outcome = "ok" if refused.status < 400 else "refused"
                raise
            finally:
                request.app[METRICS].observe_step(channel, time.perf_counter() - started, outcome)

        return timed

    return wrap
