"""How evenly the voting rotation showed the published proposals (fair exposure).

The voting shows the least-seen published proposal first (``votes.next_proposal``);
anyone can check that it worked from two figures on the dashboard: the share of
published proposals shown at least ``MIN_VIEWS`` times, and the Gini index of the
views (0: every proposal seen equally often; 1: one proposal got every view).

Both come from a histogram kept in the aggregate counters (``exposure / views /
<bucket>`` = how many published proposals have that many views), bumped in the same
transaction as a view, a publication or a withdrawal. Reading it costs the same at
any size: its rows are the distinct view counts (exact below ``EXACT_BELOW``, then
one row per doubling), never the proposals.
"""

from __future__ import annotations

from typing import Any

from pmd_domain.services.counters import Bump

METRIC = "exposure"
DIMENSION = "views"
MIN_VIEWS = 10  # the dashboard's "seen at least N times"
EXACT_BELOW = 1_000


def bucket_of(views: int) -> int:
    """The histogram row of a proposal with ``views`` views (its lower bound)."""
    views = max(0, int(views))
    if views < EXACT_BELOW:
        return views
    bound = EXACT_BELOW
    while bound * 2 <= views:
        bound *= 2
    return bound


def entered(views: int) -> list[Bump]:
    """A proposal with ``views`` views became published."""
    return [(METRIC, DIMENSION, str(bucket_of(views)), 1)]


def left(views: int) -> list[Bump]:
    """A published proposal with ``views`` views stopped being published (or was deleted)."""
    return [(METRIC, DIMENSION, str(bucket_of(views)), -1)]


def viewed(views_after: int) -> list[Bump]:
    """A published proposal was shown once more and now has ``views_after`` views."""
    before, after = bucket_of(views_after - 1), bucket_of(views_after)
    if before == after:
        return []
    return [(METRIC, DIMENSION, str(before), -1), (METRIC, DIMENSION, str(after), 1)]


def gini(histogram: dict[int, int]) -> float | None:
    """The Gini index of views given ``{views: proposals}`` (None without proposals or views).

    Sorted ascending, G = (2·Σ i·x_i) / (n·Σ x_i) − (n + 1) / n with i = 1..n; a
    bucket of c equal values occupies ranks r+1..r+c, whose sum is c·r + c(c+1)/2.
    """
    n = sum(count for count in histogram.values() if count > 0)
    total = sum(views * count for views, count in histogram.items() if count > 0)
    if n == 0 or total == 0:
        return None
    ranked = 0.0
    rank = 0
    for views in sorted(histogram):
        count = histogram[views]
        if count <= 0:
            continue
        ranked += views * (count * rank + count * (count + 1) / 2)
        rank += count
    return max(0.0, min(1.0, 2 * ranked / (n * total) - (n + 1) / n))


def figures(buckets: dict[str, int], *, min_views: int = MIN_VIEWS) -> dict[str, Any]:
    """The dashboard's exposure figures from the counter row values ``{bucket: proposals}``."""
    histogram = {int(key): int(value) for key, value in buckets.items() if int(value) > 0}
    published = sum(histogram.values())
    seen = sum(count for views, count in histogram.items() if views >= min_views)
    index = gini(histogram)
    return {
        "published": published,
        "min_views": min_views,
        "with_min_views": seen,
        "share_with_min_views": round(seen / published, 4) if published else None,
        "views": sum(views * count for views, count in histogram.items()),
        "gini": None if index is None else round(index, 4),
    }
