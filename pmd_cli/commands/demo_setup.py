"""``pmd demo-setup``: what ``make run`` needs on a fresh clone, written once into ``.env``.

Every ``pmd`` command run from the checkout reads ``.env``, so the settings chosen here
(the port, the public address, the secret key, the demonstration exercise) are the
ones the server and the CLI share; a value set in the environment or already in
``.env`` is kept.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values, set_key

from pmd_cli import common
from pmd_domain.clock import utcnow
from pmd_domain.consultation.demo_exercise import demo_exercise_text
from pmd_domain.db import Database
from pmd_domain.errors import NotAllowed
from pmd_domain.settings import env_file

ENV_FILE = Path(env_file())
DEMO_FILE = "var/demo-consulta.toml"
DEMO_PARTICIPANTS = 300
DEMO_ADMIN = "1"  # the demonstration's staff member (a fictional Telegram user id)
PREFERRED_PORT = 8080


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose(current: dict[str, str]) -> dict[str, str]:
    """The settings to add: each one not set in the environment nor in ``current``."""
    known = {**current, **{k: v for k, v in os.environ.items() if k.startswith("PMD_")}}
    chosen: dict[str, str] = {}
    port = known.get("PMD_PORT") or str(PREFERRED_PORT if _free(PREFERRED_PORT) else _any_port())
    defaults = {
        "PMD_ENV": "development",
        "PMD_LOG_FORMAT": "console",
        "PMD_SECRET_KEY": secrets.token_urlsafe(32),
        "PMD_PORT": port,
        "PMD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PMD_CONSULTATION": DEMO_FILE,
        "PMD_ADMIN_IDS": DEMO_ADMIN,
    }
    for key, value in defaults.items():
        if not known.get(key):
            chosen[key] = value
    return chosen


def run(args: argparse.Namespace) -> int:
    """Write the missing settings, the demonstration exercise and a little demo data."""
    ENV_FILE.touch(mode=0o600, exist_ok=True)
    current = {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}
    for key, value in choose(current).items():
        set_key(ENV_FILE, key, value, quote_mode="never")
        print(f"{ENV_FILE}: {key} elegido" + ("" if key == "PMD_SECRET_KEY" else f" ({value})"))
    settings = common.settings()
    demo = settings.consultation is not None and settings.consultation == Path(DEMO_FILE)
    if demo:
        now = utcnow()
        today = now.astimezone().date()
        target = Path(DEMO_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        # dates around today: written again when the last one has closed
        if not target.exists() or not common.consultation(settings).is_open(now):
            target.write_text(demo_exercise_text(today), "utf-8")
            print(f"{target}: ejercicio de demostración, abierto hasta dentro de un mes")
    consultation = common.consultation(settings)

    async def work(database: Database) -> Any:
        from pmd_domain.demo import generate

        if not demo:
            return None
        try:
            async with database.transaction(bulk=True) as session:  # Ctrl+C stops it
                return await generate(
                    session,
                    consultation=consultation,
                    participants=args.participants,
                    seed=1,
                    until=datetime.now(consultation.exercise.opens.tzinfo),
                )
        except NotAllowed:  # already there from an earlier run
            return None

    summary = common.run(common.with_database(settings, work))
    if summary is not None:
        print(f"Datos de demostración: {summary.participants} participantes ficticios.")
    return 0


def register(sub: Any) -> None:
    """Add ``demo-setup`` to the parser."""
    parser = sub.add_parser(
        "demo-setup", help="prepara .env, el ejercicio de demostración y datos (make run)"
    )
    parser.add_argument(
        "--participants", type=common.whole(1, 1_000_000), default=DEMO_PARTICIPANTS
    )
    parser.set_defaults(func=run)
