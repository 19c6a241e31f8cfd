"""``pmd consultation check FILE``: validate a consultation file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pmd_domain.consultation import ConsultationError, load_consultation


def run_check(args: argparse.Namespace) -> int:
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


def register(sub: Any) -> None:
    """Add ``consultation`` to the parser."""
    parser = sub.add_parser("consultation", help="definición de la consulta")
    actions = parser.add_subparsers(dest="consultation_command", required=True, metavar="ACCIÓN")
    check = actions.add_parser("check", help="valida un archivo de consulta")
    check.add_argument("file")
    check.set_defaults(func=run_check)
