"""``pmd demo-data``: realistic synthetic participation."""

from __future__ import annotations

import argparse
from typing import Any

from pmd_cli import common
from pmd_domain.db import Database


def run(args: argparse.Namespace) -> int:
    """Generate synthetic participants, proposals and supports."""
    from pmd_domain.demo import generate

    settings = common.settings()
    consultation = common.consultation(settings)

    async def work(database: Database) -> Any:
        # A bulk transaction: its statements run in the connection's thread, so that
        # Ctrl+C (a cancel at the next statement) stops it, and nothing is kept.
        async with database.transaction(bulk=True) as session:
            return await generate(
                session, consultation=consultation, participants=args.participants, seed=args.seed
            )

    summary = common.run(common.with_database(settings, work))
    print(
        f"Datos de demostración: {summary.participants} participantes, "
        f"{summary.proposals} propuestas, {summary.supports} apoyos."
    )
    return 0


def register(sub: Any) -> None:
    """Add ``demo-data`` to the parser."""
    demo = sub.add_parser("demo-data", help="genera participación sintética realista")
    demo.add_argument(
        "--participants",
        type=common.whole(1, 1_000_000),
        default=1000,
        help="cuántos participantes (por omisión 1,000)",
    )
    demo.add_argument(
        "--seed",
        type=common.whole(0, 10**9),
        default=1,
        help="la misma semilla da los mismos datos (por omisión 1)",
    )
    demo.set_defaults(func=run)
