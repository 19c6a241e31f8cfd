"""What a service process measures about itself, for ``/metrics`` (Prometheus text format).

One ``Metrics`` per application, each with a ``CollectorRegistry`` of its own rather
than prometheus-client's global one: two applications in one process (the tests, a
benchmark) keep separate figures, and nothing is registered at import time. The
channels, the campaign sender and the database report to it through small hooks:

- ``observe_step`` — a conversation step (update in → reply out) by channel;
- ``reply_failed`` — a reply the channel could not deliver;
- ``campaign_sent`` — a campaign message's outcome (its rate is derived here too);
- ``watch(database)`` — the time of every database transaction (SQLAlchemy events);
- ``snapshot_age`` — the age of the public dashboard's snapshot (read at scrape time);
- ``show_campaigns`` — the recipients of unfinished campaigns by status (the caller
  reads them from the database when scraped).

Labels hold only channels, outcomes, statuses and campaign ids: never a chat id or
a text.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Seconds: a step's bar is 50 ms at the 95th percentile (SPEC §8).
STEP_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
RATE_WINDOW_SECONDS = 10.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STARTED = "pmd_metrics_started"


class Metrics:
    """Every metric of one service process, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.steps = Counter(
            "pmd_conversation_steps",
            "Conversation steps handled, by channel and outcome (ok, refused, reply_failed, error).",
            ["channel", "outcome"],
            registry=r,
        )
        self.step_seconds = Histogram(
            "pmd_conversation_step_seconds",
            "Time of a conversation step that succeeded (input in, reply out), by channel.",
            ["channel"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.replies_failed = Counter(
            "pmd_replies_failed",
            "Replies that could not be delivered, by channel and reason (error type).",
            ["channel", "reason"],
            registry=r,
        )
        self.campaign_messages = Counter(
            "pmd_broadcast_messages",
            "Campaign messages this process tried, by outcome (sent, blocked, failed).",
            ["outcome"],
            registry=r,
        )
        self.campaign_rate = Gauge(
            "pmd_broadcast_send_rate",
            f"Campaign messages this process sent per second over the last {RATE_WINDOW_SECONDS:g} s.",
            registry=r,
        )
        self.campaign_rate.set_function(self._rate)
        self.campaign_recipients = Gauge(
            "pmd_broadcast_recipients",
            "Recipients of unfinished campaigns, by campaign and delivery status.",
            ["campaign", "status"],
            registry=r,
        )
        self.snapshot_age = Gauge(
            "pmd_dashboard_snapshot_age_seconds",
            "Seconds since the public dashboard's figures were computed (NaN before the first).",
            registry=r,
        )
        self.snapshot_age.set(float("nan"))
        self.transaction_seconds = Histogram(
            "pmd_db_transaction_seconds",
            "Time from BEGIN to COMMIT or ROLLBACK of database transactions, by engine.",
            ["engine"],
            buckets=DB_BUCKETS,
            registry=r,
        )
        self._sent_at: deque[float] = deque()
        # The labelled children of the per-step metrics, looked up once (``labels`` costs
        # about as much as the count itself).
        self._step_counts: dict[tuple[str, ...], Any] = {}
        self._step_times: dict[tuple[str, ...], Any] = {}
        self._watched: list[tuple[Engine, str, Callable[..., None]]] = []

    # ------------------------------------------------------------------ hooks
    def observe_step(self, channel: str, seconds: float, outcome: str = "ok") -> None:
        """One conversation step; only successful ones go into the latency histogram."""
        _child(self._step_counts, self.steps, channel, outcome).inc()
        if outcome == "ok":
            _child(self._step_times, self.step_seconds, channel).observe(seconds)

    def reply_failed(self, channel: str, reason: str) -> None:
        """A reply that did not reach the citizen."""
        self.replies_failed.labels(channel, reason).inc()

    def campaign_sent(self, outcome: str) -> None:
        """A campaign message's outcome (``sent``, ``blocked``, ``failed``)."""
        self.campaign_messages.labels(outcome).inc()
        if outcome == "sent":
            self._sent_at.append(time.monotonic())
            self._rate()  # drop what left the window, scraped or not

    def snapshot_age_from(self, age: Callable[[], float | None]) -> None:
        """Read the dashboard snapshot's age from ``age`` whenever the metrics are scraped."""
        self.snapshot_age.set_function(lambda: _or_nan(age()))

    def show_campaigns(self, campaigns: Iterable[tuple[int, dict[str, int]]]) -> None:
        """The recipients of each unfinished campaign by status (finished ones drop out)."""
        self.campaign_recipients.clear()
        for campaign_id, counts in campaigns:
            for status, count in counts.items():
                self.campaign_recipients.labels(str(campaign_id), status).set(count)

    def watch(self, engine: Any, name: str) -> None:
        """Time every transaction of ``engine`` (an AsyncEngine or Engine) as ``name``."""
        sync = getattr(engine, "sync_engine", engine)
        histogram = self.transaction_seconds.labels(name)

        def begun(connection: Any) -> None:
            connection.info[_STARTED] = time.perf_counter()

        def ended(connection: Any) -> None:
            started = connection.info.pop(_STARTED, None)
            if started is not None:
                histogram.observe(time.perf_counter() - started)

        for name_, listener in (("begin", begun), ("commit", ended), ("rollback", ended)):
            event.listen(sync, name_, listener)
            self._watched.append((sync, name_, listener))

    def unwatch(self) -> None:
        """Stop timing the engines given to ``watch``."""
        for sync, name, listener in self._watched:
            if event.contains(sync, name, listener):
                event.remove(sync, name, listener)
        self._watched.clear()

    # ------------------------------------------------------------------ output
    def render(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)

    def _rate(self) -> float:
        horizon = time.monotonic() - RATE_WINDOW_SECONDS
        while self._sent_at and self._sent_at[0] < horizon:
            self._sent_at.popleft()
        return len(self._sent_at) / RATE_WINDOW_SECONDS


def _child(kept: dict[tuple[str, ...], Any], metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once and then kept in ``kept``."""
    child = kept.get(labels)
    if child is None:
        child = kept[labels] = metric.labels(*labels)
    return child


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value
