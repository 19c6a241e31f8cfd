"""``pmd db``: apply the migrations, back the database up and restore it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.db import Database
from pmd_domain.db.backup import BackupFile, backup_async, restore_async
from pmd_domain.db.migrate import known_revisions, upgrade
from pmd_domain.services import serving


def run_upgrade(args: argparse.Namespace) -> int:
    """Apply the database migrations (up to ``head``, or a known revision)."""
    if args.revision != "head" and args.revision not in known_revisions():
        raise common.CommandError(
            f"«{args.revision}» no es una versión de la base de datos de Participa PMD; "
            "sin argumento se aplica la más reciente (head)."
        )
    upgrade(common.settings().database_url, args.revision)
    print("Base de datos actualizada.")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    """Write a checked copy of the database to FILE, while the service keeps serving."""
    settings = common.settings()
    target = Path(args.file)
    common.new_file(target, force=args.force, database_url=settings.database_url, makes_folder=True)
    made: BackupFile = common.run(backup_async(settings.database_url, target))
    print(
        f"Respaldo escrito en {made.path} ({made.size:,} bytes, {made.tables} tablas, "
        f"versión {made.revision}) y comprobado."
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Replace the database with the backup FILE (refused while it is being served)."""
    settings = common.settings()

    async def work(database: Database) -> BackupFile:
        async with database.reading() as session:
            running = await serving.serving(session, now=utcnow())
        await database.dispose()
        if running and not args.force:
            seen = ", ".join(f"{p.host} (pid {p.pid})" for p in running)
            raise common.CommandError(
                f"La base de datos está en servicio: pmd serve corre en {seen}. Detén esos "
                "procesos antes de restaurar, o usa --force si de verdad quieres reemplazar "
                "los datos con los que atienden (lo que se guardó después del respaldo se pierde)."
            )
        return await restore_async(settings.database_url, Path(args.file))

    restored: BackupFile = common.run(common.with_database(settings, work))
    print(f"Base de datos restaurada desde {restored.path} (versión {restored.revision}).")
    return 0


def register(sub: Any) -> None:
    """Add ``db`` to the parser."""
    db = sub.add_parser("db", help="base de datos")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACCIÓN")
    up = actions.add_parser("upgrade", help="aplica las migraciones")
    up.add_argument(
        "revision", nargs="?", default="head", help="hasta qué versión (por omisión, la última)"
    )
    up.set_defaults(func=run_upgrade)
    save = actions.add_parser("backup", help="escribe un respaldo comprobado (también en servicio)")
    save.add_argument("file", metavar="ARCHIVO")
    save.add_argument("--force", action="store_true", help="reemplaza el archivo si existe")
    save.set_defaults(func=run_backup)
    back = actions.add_parser("restore", help="reemplaza la base de datos con un respaldo")
    back.add_argument("file", metavar="ARCHIVO")
    back.add_argument(
        "--force", action="store_true", help="aunque pmd serve la esté usando (ver docs)"
    )
    back.set_defaults(func=run_restore)
