"""``pmd db upgrade``: apply the migrations."""

from __future__ import annotations

import argparse
from typing import Any

from pmd_cli import common
from pmd_domain.db.migrate import upgrade


def run_upgrade(args: argparse.Namespace) -> int:
    """Apply the database migrations."""
    upgrade(common.settings().database_url, args.revision)
    print("Base de datos actualizada.")
    return 0


def register(sub: Any) -> None:
    """Add ``db`` to the parser."""
    db = sub.add_parser("db", help="base de datos")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACCIÓN")
    up = actions.add_parser("upgrade", help="aplica las migraciones")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=run_upgrade)
