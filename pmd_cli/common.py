"""What every ``pmd`` command shares: settings, the consultation, a database session."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from pmd_domain.consultation import Consultation, load_consultation
from pmd_domain.db import Database
from pmd_domain.db.engine import sqlite_file
from pmd_domain.db.migrate import upgrade
from pmd_domain.digits import number
from pmd_domain.file_errors import file_reason
from pmd_domain.settings import Settings, load_settings


class CommandError(Exception):
    """A command could not be carried out; the message is shown to the user."""


_NETWORK_REASONS = {
    errno.ECONNREFUSED: "rechazó la conexión (¿está en marcha y en ese puerto?)",
    errno.ETIMEDOUT: "no respondió a tiempo",
    errno.EHOSTUNREACH: "no se llega a ese servidor",
    errno.ENETUNREACH: "no se llega a esa red",
    errno.EADDRINUSE: "esa dirección y ese puerto ya están en uso",
    errno.EADDRNOTAVAIL: "esa dirección no es de esta máquina",
}


def os_problem(error: OSError) -> str:
    """One Spanish line about a file that could not be used, or a connection not made."""
    network = error.errno in _NETWORK_REASONS or isinstance(error, ConnectionError | TimeoutError)
    if error.filename or not (network or isinstance(error, socket.gaierror)):
        reason = file_reason(error)
        where = f" {error.filename}" if error.filename else ""
        return f"No se pudo usar el archivo{where}: {reason}."
    if isinstance(error, socket.gaierror):
        return "No se encontró el servidor: revisa el nombre en PMD_DATABASE_URL o PMD_HOST."
    reason = _NETWORK_REASONS.get(error.errno or 0, error.strerror or type(error).__name__)
    if error.errno == errno.EADDRINUSE or error.errno == errno.EADDRNOTAVAIL:
        return f"No se pudo escuchar en la dirección indicada: {reason}."
    return f"No se pudo conectar con la base de datos: el servidor {reason}."


def new_file(target: Path, *, force: bool, database_url: str, makes_folder: bool = False) -> None:
    """Refuse, before any work, a target that would lose something: an existing file
    (unless ``force``), a folder, the database itself (or its ``-wal``/``-shm``), or a
    folder that cannot be written, or does not exist (unless the command ``makes_folder``)."""
    database = make_url(database_url).database if database_url.startswith("sqlite") else None
    if database and target.resolve() in {
        Path(f"{database}{end}").resolve() for end in ("", "-wal", "-shm", "-journal")
    }:
        raise CommandError(f"{target} es la base de datos: elige otro archivo.")
    if target.is_dir():
        raise CommandError(f"No se puede escribir {target}: es una carpeta.")
    if target.exists() and not force:
        raise CommandError(f"{target} ya existe; usa --force para reemplazarlo.")
    if not (makes_folder and not target.parent.exists()):
        writable_folder(target)


def write_private(path: Path, content: bytes, *, named: Path | None = None) -> None:
    """Write ``content`` to ``path``, created readable and writable by its owner only
    (0600); an error names ``named`` (the user's file, when ``path`` is one beside it)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
    except OSError as error:
        error.filename = str(named or path)
        raise


TELEGRAM_ID_DIGITS = 15


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, said in Spanish otherwise."""

    def parse(text: str) -> int:
        value = number(text.strip(), signed=True)
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"«{text}» debe ser un número entero de {low:,} a {high:,}"
            )
        return value

    return parse


def telegram_user(text: str) -> int:
    """An argument that is a Telegram user id: a whole number from 1 (argparse type)."""
    user_id = number(text, most=TELEGRAM_ID_DIGITS)
    if not user_id:
        raise argparse.ArgumentTypeError(
            f"«{text}» no es un id de usuario de Telegram (un número entero positivo)"
        )
    return user_id


def writable_folder(target: Path) -> None:
    """Refuse, before any work, a file whose folder does not exist or cannot be written."""
    folder = target.parent
    if not folder.is_dir():
        raise CommandError(f"No se puede escribir {target}: la carpeta {folder} no existe.")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"No se puede escribir {target}: no hay permiso en la carpeta {folder}.")


def settings(**overrides: object) -> Settings:
    """The settings from the environment and ``.env`` (``overrides``: from the command line)."""
    return load_settings(**overrides)


def consultation(config: Settings) -> Consultation:
    """The configured consultation (the packaged default when none is set)."""
    return load_consultation(config.consultation)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion."""
    return asyncio.run(coro)


async def with_database(
    config: Settings, work: Callable[[Database], Awaitable[Any]], *, existing: bool = False
) -> Any:
    """Migrate, open the database, run ``work`` with it and close it.

    ``existing``: the command only reads or changes records that must already be there
    (a list, an export, a revocation, a purge). A SQLite file that does not exist is
    then a mistyped ``PMD_DATABASE_URL``, not an empty consultation: refused, and
    nothing is created.
    """
    missing = sqlite_file(config.database_url) if existing else None
    if missing is not None and not missing.exists():
        raise CommandError(
            f"No existe la base de datos {missing}: revisa PMD_DATABASE_URL "
            "(una base nueva se crea con pmd db upgrade)."
        )
    await asyncio.to_thread(upgrade, config.database_url)
    database = Database(config.database_url)
    try:
        return await work(database)
    finally:
        await database.dispose()
