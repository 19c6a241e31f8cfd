"""What routing by the stored staff draft costs a citizen's message.

Every private message asks the staff flows whether it is theirs (the sender's staff
state: one primary-key read, ``StaffConversation.wants`` called by
``bot/staff/flows.py``, a glance: on SQLite on the event loop) before the citizen
conversation handles it. This measures that read for senders without a draft (every
citizen) on SQLite, against an empty read transaction (``Database.reading``, the
asynchronous driver's) in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pmd_domain.clock import utcnow
from pmd_domain.consultation import load_consultation
from pmd_domain.conversation.staff import StaffConversation
from pmd_domain.conversation.types import Inbound
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from pmd_domain.i18n import Catalogs
from pmd_domain.services import staff_drafts
from tests.e2e.harness import StubLinks

SAMPLES = 2000
DRAFTS = 50


async def _measure(url: str) -> tuple[list[float], list[float]]:
    database = Database(url)
    try:
        async with database.transaction() as session:
            for user_id in range(1, DRAFTS + 1):
                await staff_drafts.put(
                    session,
                    user_id=user_id,
                    kind="mod.reason",
                    data={"proposal_id": 1},
                    now=utcnow(),
                )
        flows = StaffConversation(
            consultation=load_consultation(),
            catalogs=Catalogs.load(),
            links=StubLinks(),
            admin_ids=(),
        )
        said = Inbound(kind="text", text="Hola")

        async def lookup(user_id: int) -> None:
            await flows.wants(database, user_id=user_id, inbound=said, now=utcnow(), patience=1)

        async def bare(user_id: int) -> None:
            async with database.reading():
                pass

        async def timed(work: Callable[[int], Awaitable[None]]) -> list[float]:
            found = []
            for index in range(SAMPLES):
                started = time.perf_counter()
                await work(100_000 + index)
                found.append((time.perf_counter() - started) * 1000)
            return found

        await timed(lookup)  # warm up
        return await timed(lookup), await timed(bare)
    finally:
        await database.dispose()


def run() -> str:
    """Three runs of 2,000 look-ups; median and p95 in milliseconds."""
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder}/route.sqlite3"
    upgrade(url)
    rows = []
    for number in range(1, 4):
        lookups, bare = asyncio.run(_measure(url))
        rows.append(
            f"| {number} | {statistics.median(lookups):.2f} | "
            f"{statistics.quantiles(lookups, n=20)[18]:.2f} | {statistics.median(bare):.2f} |"
        )
    return "\n".join(
        [
            "## Staff draft routing (`bench_staff_route`)",
            "",
            "The read every private message pays so that a staff member's unfinished flow",
            "takes their next message in any process (no per-process list of staff): a",
            f"citizen without a draft, {SAMPLES:,} messages per run, SQLite.",
            "",
            "| run | draft look-up, median ms | p95 ms | empty read transaction, median ms |",
            "|---|---|---|---|",
            *rows,
        ]
    )
