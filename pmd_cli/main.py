"""Entry point of the ``pmd`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation, ConsultationError, load_consultation
from pmd_domain.db import Database
from pmd_domain.db.migrate import upgrade
from pmd_domain.errors import DomainError
from pmd_domain.logs import configure_logging
from pmd_domain.settings import Settings, SettingsError, load_settings

log = logging.getLogger("pmd")


class CommandError(Exception):
    """A command could not be carried out; the message is shown to the user."""


Command = Callable[[argparse.Namespace], int]


def _settings() -> Settings:
    return load_settings()


def _consultation(settings: Settings) -> Consultation:
    return load_consultation(settings.consultation)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _with_database(settings: Settings, work: Callable[[Database], Awaitable[Any]]) -> Any:
    await asyncio.to_thread(upgrade, settings.database_url)
    database = Database(settings.database_url)
    try:
        return await work(database)
    finally:
        await database.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web side (and the bot when configured)."""
    from aiohttp import web

    from web.app import create_app

    settings = _settings()
    settings.check_for_serving()
    configure_logging(settings.log_level)
    consultation = _consultation(settings)
    app = create_app(settings, consultation=consultation)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    log.info("serving", extra={"host": host, "port": port, "exercise": consultation.exercise.slug})
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the database migrations."""
    settings = _settings()
    upgrade(settings.database_url, args.revision)
    print("Base de datos actualizada.")
    return 0


def cmd_consultation_check(args: argparse.Namespace) -> int:
    """Validate a consultation file and report every error with its line."""
    try:
        consultation = load_consultation(Path(args.file))
    except ConsultationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} error(es) en {args.file}.", file=sys.stderr)
        return 1
    topics = sum(len(p.topics) for p in consultation.pillars)
    print(
        f"{args.file}: válido. {consultation.exercise.slug}: {len(consultation.pillars)} ejes, "
        f"{topics} temas, {len(consultation.demographics)} preguntas."
    )
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Generate realistic synthetic participation."""
    from pmd_domain.demo import generate

    settings = _settings()
    consultation = _consultation(settings)

    async def work(database: Database) -> Any:
        async with database.transaction() as session:
            return await generate(
                session, consultation=consultation, participants=args.participants, seed=args.seed
            )

    summary = _run(_with_database(settings, work))
    print(
        f"Datos de demostración: {summary.participants} participantes, "
        f"{summary.proposals} propuestas, {summary.supports} apoyos."
    )
    return 0


def cmd_staff(args: argparse.Namespace) -> int:
    """Add, remove or list staff members."""
    from pmd_domain.services import staff

    settings = _settings()

    async def work(database: Database) -> Any:
        async with database.transaction() as session:
            if args.staff_command == "add":
                await staff.add(
                    session, user_id=args.user_id, role=args.role, now=utcnow(), name=args.name
                )
                return f"{args.user_id} ahora es {args.role}."
            if args.staff_command == "remove":
                found = await staff.remove(session, user_id=args.user_id)
                return (
                    f"{args.user_id} ya no es parte del equipo."
                    if found
                    else f"{args.user_id} no estaba en el equipo."
                )
            rows = await staff.members(session)
            admins = [f"{uid}\tadmin\t(PMD_ADMIN_IDS)" for uid in settings.admin_ids]
            listed = [f"{m.user_id}\t{m.role}\t{m.name or ''}" for m in rows]
            return "\n".join(admins + listed) or "No hay personal registrado."

    print(_run(_with_database(settings, work)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pmd``."""
    parser = argparse.ArgumentParser(
        prog="pmd",
        description="Participa PMD: consulta ciudadana para el Plan Municipal de Desarrollo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")

    serve = sub.add_parser("serve", help="inicia el sitio web y el bot")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="base de datos")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACCIÓN")
    up = db_sub.add_parser("upgrade", help="aplica las migraciones")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    consultation = sub.add_parser("consultation", help="definición de la consulta")
    c_sub = consultation.add_subparsers(
        dest="consultation_command", required=True, metavar="ACCIÓN"
    )
    check = c_sub.add_parser("check", help="valida un archivo de consulta")
    check.add_argument("file")
    check.set_defaults(func=cmd_consultation_check)

    demo = sub.add_parser("demo-data", help="genera participación sintética realista")
    demo.add_argument("--participants", type=int, default=1000)
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(func=cmd_demo_data)

    staff = sub.add_parser("staff", help="personal de la oficina de planeación")
    s_sub = staff.add_subparsers(dest="staff_command", required=True, metavar="ACCIÓN")
    add = s_sub.add_parser("add", help="agrega o cambia el rol de una persona")
    add.add_argument("user_id", type=int, help="id de usuario de Telegram")
    add.add_argument("--role", required=True, choices=["admin", "moderator", "analyst"])
    add.add_argument("--name")
    add.set_defaults(func=cmd_staff)
    remove = s_sub.add_parser("remove", help="quita a una persona del equipo")
    remove.add_argument("user_id", type=int)
    remove.set_defaults(func=cmd_staff)
    listing = s_sub.add_parser("list", help="lista al personal")
    listing.set_defaults(func=cmd_staff)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pmd``; errors become one clear line on stderr and a non-zero exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except (SettingsError, CommandError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except ConsultationError as exc:
        print("Error en el archivo de consulta:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"Error: {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        return 130
