"""Entry point of the ``pmd`` command."""

from __future__ import annotations

import argparse
import sys

from pmd_cli.commands import (
    broadcast,
    certificate,
    codes,
    consultation,
    db,
    demo,
    demo_setup,
    export,
    privacy,
    serve,
    staff,
    telegram,
)
from pmd_cli.common import CommandError, os_problem
from pmd_cli.parser import Parser
from pmd_domain.consultation import ConsultationError
from pmd_domain.db.backup import BackupError
from pmd_domain.db.migrate import DatabaseUnavailable
from pmd_domain.errors import DomainError
from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.settings import SettingsError

# Each module adds its sub-command; add a module here to add a command.
COMMANDS = [
    serve,
    db,
    consultation,
    demo,
    demo_setup,
    staff,
    certificate,
    codes,
    export,
    broadcast,
    privacy,
    telegram,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pmd``."""
    parser = Parser(
        prog="pmd",
        description="Participa PMD: consulta ciudadana para el Plan Municipal de Desarrollo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")
    for module in COMMANDS:
        module.register(sub)
    return parser


def refusal(error: DomainError) -> str:
    """A domain refusal in the catalogue's words (its code when the code has no text)."""
    if str(error) != error.code:
        return str(error)
    try:
        return Catalogs.load().text(DEFAULT_LANGUAGE, error.code, **error.params)
    except (KeyError, ValueError):
        return error.code


def main(argv: list[str] | None = None) -> int:
    """Run ``pmd``; errors become one clear message on stderr and a non-zero exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as exc:
        print(f"Error: {refusal(exc)}", file=sys.stderr)
        return 2
    except (SettingsError, CommandError, BackupError, DatabaseUnavailable) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except UnicodeError:
        # An argument with bytes that are not UTF-8 (the shell passed them through).
        print(
            "Error: un texto de la orden no es UTF-8 válido; escríbelo de nuevo.", file=sys.stderr
        )
        return 2
    except ConsultationError as exc:
        print("Error en el archivo de consulta:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"Error: {os_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrumpido.", file=sys.stderr)  # after a prompt's half-typed line
        return 130
