"""``pmd consultation check FILE`` and ``pmd consultation init FILE``."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pmd_cli.common import CommandError
from pmd_domain.consultation import ConsultationError, load_consultation, parse_consultation
from pmd_domain.consultation.loader import DEFAULT_NAME
from pmd_domain.consultation.schema import KEY_PATTERN


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
    counted = ", ".join(str(level) for level in consultation.integrity.count_levels)
    print(
        f"{args.file}: válido. {consultation.exercise.slug}: {len(consultation.pillars)} ejes, "
        f"{topics} temas, {len(consultation.demographics)} preguntas. "
        f"Apoyos que cuentan: {counted}."
    )
    sources = consultation.source_list()
    print(f"Fuentes de campaña ({len(sources)}; cualquier otra se registra como «otra»):")
    for key, label in sources.items():
        print(f"  {key}: {consultation.text(label, 'es')}")
    privacy = consultation.privacy
    print(
        f"Aviso {privacy.version}; datos personales hasta {privacy.retention_days} días después "
        f"del cierre; edad mínima {privacy.minimum_age} años."
    )
    return 0


def run_init(args: argparse.Namespace) -> int:
    """Write a new consultation file from the packaged one, with new dates."""
    target = Path(args.file)
    if target.exists() and not args.force:
        raise CommandError(f"{target} ya existe; usa --force para reemplazarlo.")
    text = resources.files("pmd_domain.consultation").joinpath(DEFAULT_NAME).read_text("utf-8")
    for key in ("opens", "closes"):
        value: date | None = getattr(args, key)
        if value is not None:
            moment = f"{value.isoformat()}T{'00:00:00' if key == 'opens' else '23:59:59'}"
            text = re.sub(rf"^{key} = .*$", f"{key} = {moment}", text, count=1, flags=re.M)
    if args.slug is not None:
        if not re.fullmatch(KEY_PATTERN, args.slug):
            raise CommandError(
                f"--slug «{args.slug}» no sirve de identificador: usa letras minúsculas sin "
                "acentos, números, - y _ (por ejemplo pachuca-pmd-2027)."
            )
        line = f'slug = "{args.slug}"'
        text = re.sub(r'^slug = ".*"$', lambda _: line, text, count=1, flags=re.M)
    parse_consultation(text, name=str(target))  # never write a file that would not load
    target.write_text(text, "utf-8")
    print(
        f"{target}: creado a partir de la consulta de Pachuca 2023. Edítalo y valídalo con "
        f"pmd consultation check {target}"
    )
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"fecha no válida: {value!r} (usa AAAA-MM-DD)") from exc


def register(sub: Any) -> None:
    """Add ``consultation`` to the parser."""
    parser = sub.add_parser("consultation", help="definición de la consulta")
    actions = parser.add_subparsers(dest="consultation_command", required=True, metavar="ACCIÓN")
    check = actions.add_parser("check", help="valida un archivo de consulta")
    check.add_argument("file", help="el archivo TOML de la consulta")
    check.set_defaults(func=run_check)
    init = actions.add_parser(
        "init", help="crea un archivo de consulta a partir del de Pachuca 2023"
    )
    init.add_argument("file", help="el archivo TOML que se escribe")
    init.add_argument("--opens", type=_day, help="día de apertura (AAAA-MM-DD)")
    init.add_argument("--closes", type=_day, help="día de cierre (AAAA-MM-DD)")
    init.add_argument("--slug", help="identificador del ejercicio")
    init.add_argument("--force", action="store_true", help="reemplaza el archivo si existe")
    init.set_defaults(func=run_init)
