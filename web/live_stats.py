"""The dashboard's snapshot cache and chart store.

The public figures are recomputed at most once per ``interval`` seconds, by one
computation that every concurrent request shares (single flight); meanwhile the
previous snapshot is served (stale while revalidate). The JSON bytes, the ETag,
the rendered page and each chart's PNG are kept with the snapshot, so a request
costs the same whether the consultation has a thousand participants or a million.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.logs import RepeatedLog
from pmd_domain.services import disclosure, stats
from web import charts

log = logging.getLogger(__name__)


@dataclass
class Published:
    """One computed snapshot with everything derived from it."""

    snapshot: dict[str, Any]
    charts: dict[str, dict[str, Any]]
    body: bytes
    etag: str
    version: str
    at: float
    page: bytes | None = field(default=None, repr=False)
    page_link: str | None = field(default=None, repr=False)  # the bot's link in ``page``


class SnapshotCache:
    """Bounded-rate, single-flight cache of the public snapshot.

    ``computations`` counts the snapshots actually computed (tests and operators
    read it to see that many viewers cost one query per interval).
    """

    def __init__(
        self,
        *,
        database: Database,
        consultation: Consultation,
        chart_url: Callable[[str, str], str],
        catalogs: Catalogs | None = None,
        interval: float = 1.0,
    ):
        self.database = database
        self.catalogs = catalogs or Catalogs.load()
        self.consultation = consultation
        self.chart_url = chart_url
        self.interval = interval
        self.computations = 0
        self._failures = RepeatedLog()  # a database that is down: a line per interval
        self._current: Published | None = None
        self._task: asyncio.Task[Published] | None = None

    async def get(self) -> Published:
        """The current snapshot; starts (at most) one refresh when it is older than the interval."""
        current = self._current
        if current is not None and time.monotonic() - current.at < self.interval:
            return current
        if self._task is None:
            self._task = asyncio.create_task(self._refresh())
        if current is not None:
            return current
        return await asyncio.shield(self._task)

    def age(self) -> float | None:
        """Seconds since the snapshot being served was computed (None before the first)."""
        current = self._current
        return None if current is None else max(0.0, time.monotonic() - current.at)

    def expire(self) -> None:
        """Make the next request start a refresh (e.g. after an operator fixed data)."""
        if self._current is not None:
            self._current.at = float("-inf")

    async def fresh(self) -> Published:
        """A snapshot computed after this call (waits for a refresh already running, then one more)."""
        if self._task is not None:
            await asyncio.shield(self._task)
        self._current = None
        return await self.get()

    async def _refresh(self) -> Published:
        try:
            now = utcnow()
            # The breakdowns change only in batches (see pmd_domain.services.disclosure).
            await disclosure.publish_if_due(self.database, consultation=self.consultation, now=now)
            async with self.database.reading() as session:
                snapshot = await stats.snapshot(
                    session, consultation=self.consultation, now=now, language="es"
                )
            self.computations += 1
            published = self._publish(snapshot)
            self._current = published
            return published
        except Exception as error:
            self._failures.failure(log, "dashboard snapshot failed", error)
            if self._current is not None:
                self._current.at = time.monotonic()  # retry after one interval, not at once
                return self._current
            raise
        finally:
            self._task = None

    def _publish(self, snapshot: dict[str, Any]) -> Published:
        specs = charts.chart_specs(snapshot, self.catalogs)
        figures = {key: value for key, value in snapshot.items() if key != "generated_at"}
        figures["charts"] = {name: spec["version"] for name, spec in specs.items()}
        digest = hashlib.sha256(
            json.dumps(figures, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        version = digest[:16]
        payload = {
            **snapshot,
            "version": version,
            "charts": {
                name: {
                    "title": spec["title"],
                    "version": spec["version"],
                    "url": self.chart_url(name, spec["version"]),
                }
                for name, spec in specs.items()
            },
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return Published(
            snapshot=payload,
            charts=specs,
            body=body,
            etag=f'W/"{version}"',
            version=version,
            at=time.monotonic(),
        )


class ChartStore:
    """PNG charts rendered in a worker thread, cached by version, single flight per version."""

    def __init__(self, *, executor: Executor | None = None, capacity: int = 64):
        self._executor = executor
        self._owned = executor is None
        self._capacity = capacity
        self._pngs: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self.renders = 0

    def _pool(self) -> Executor:
        if self._executor is None:
            # One thread: matplotlib's Figure API (no pyplot state) is safe off the loop,
            # and charts are only redrawn when their figures change. A process pool would
            # need every entry point to guard its main module, for little gain here.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
        return self._executor

    async def png(self, spec: dict[str, Any]) -> bytes:
        """The PNG of a chart spec, rendered off the event loop once per version."""
        version = spec["version"]
        cached = self._pngs.get(version)
        if cached is not None:
            self._pngs.move_to_end(version)
            return cached
        pending = self._inflight.get(version)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(loop.run_in_executor(self._pool(), charts.render, spec))
            self._inflight[version] = pending
            try:
                data = await asyncio.shield(pending)
            finally:
                self._inflight.pop(version, None)
            self.renders += 1
            self._pngs[version] = data
            while len(self._pngs) > self._capacity:
                self._pngs.popitem(last=False)
            return data
        return await asyncio.shield(pending)

    def close(self) -> None:
        """Stop the worker thread, if this store started one."""
        if self._owned and self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
