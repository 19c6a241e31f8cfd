"""``argparse`` in Spanish: the usage line, the help's headings and the argument errors.

The commands' own texts are Spanish; argparse adds words of its own in English
("usage:", "positional arguments", "the following arguments are required"...).
``Parser`` gives its headings and its ``-h`` Spanish words, and ``spanish`` tells each
of argparse's error messages again in Spanish (they are a small, fixed set: the same
in Python 3.11 to 3.13). A message not listed is shown as argparse wrote it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from pmd_domain.retell import Retelling


def _unquoted(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _choices(listed: str) -> str:
    return ", ".join(_unquoted(choice) for choice in listed.split(", "))


def _required(names: str) -> str:
    many = ", " in names
    return f"faltan los argumentos {names}" if many else f"falta el argumento {names}"


# The argument a message is about, then what is wrong with it.
_argument = Retelling(
    (
        (
            r"invalid choice: (.+?) \(choose from (.+)\)",
            lambda m: f"«{_unquoted(m[1])}» no es una opción (elige entre {_choices(m[2])})",
        ),
        (r"invalid \S+ value: (.+)", lambda m: f"«{_unquoted(m[1])}» no es un valor válido"),
        (r"expected one argument", "falta su valor"),
        (r"expected at most one argument", "lleva a lo más un valor"),
        (r"expected at least one argument", "lleva al menos un valor"),
        (r"expected (\d+) arguments?", lambda m: f"lleva {m[1]} valores"),
        (r"not allowed with argument (.+)", lambda m: f"no se puede usar junto con {m[1]}"),
        (r"ignored explicit argument (.+)", lambda m: f"no lleva valor: {m[1]}"),
    )
)

# argparse's error message in Spanish (as it is when it is not a known one).
spanish = Retelling(
    (
        (r"the following arguments are required: (.+)", lambda m: _required(m[1])),
        (r"one of the arguments (.+) is required", lambda m: f"falta uno de {m[1]}"),
        (r"unrecognized arguments: (.+)", lambda m: f"argumentos que no se esperaban: {m[1]}"),
        (
            r"ambiguous option: (\S+) could match (.+)",
            lambda m: f"la opción {m[1]} puede ser cualquiera de {m[2]}",
        ),
        (r"argument (\S+): (.+)", lambda m: f"argumento {m[1]}: {_argument(m[2])}"),
    )
)


# What a value stands for in the usage and the errors, by the argument's ``dest`` (argparse
# would write the ``dest`` in capitals: "--name NAME", "--output OUTPUT").
METAVARS = {
    "host": "DIRECCIÓN",
    "port": "PUERTO",
    "revision": "VERSIÓN",
    "file": "ARCHIVO",
    "opens": "AAAA-MM-DD",
    "closes": "AAAA-MM-DD",
    "slug": "IDENTIFICADOR",
    "participants": "N",
    "seed": "SEMILLA",
    "user_id": "ID",
    "name": "NOMBRE",
    "member": "ID|CORREO",
    "email": "CORREO",
    "folio": "FOLIO",
    "reason": "MOTIVO",
    "count": "N",
    "output": "ARCHIVO",
    "days": "DÍAS",
    "text": "TEXTO",
    "photo": "IMAGEN",
    "button_text": "TEXTO",
    "button_url": "URL",
    "audience": "PÚBLICO",
    "limit": "N",
    "id": "ID",
    "max_connections": "N",
}


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "uso: " if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose own words are Spanish (its sub-commands' too)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        helps = kwargs.get("add_help", True)
        kwargs["add_help"] = False  # a -h of its own, in Spanish
        super().__init__(*args, **kwargs)
        self._positionals.title = "argumentos"
        self._optionals.title = "opciones"
        if helps:
            self.add_argument(
                "-h",
                "--help",
                action="help",
                default=argparse.SUPPRESS,
                help="muestra esta ayuda y termina",
            )

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """An argument; a value of its is named in Spanish (``METAVARS``) unless it says."""
        action = super().add_argument(*args, **kwargs)
        if action.metavar is None and action.choices is None and action.nargs != 0:
            action.metavar = METAVARS.get(action.dest)
        return action

    def error(self, message: str) -> NoReturn:
        """The usage, then one line: what is wrong with the arguments, in Spanish."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {spanish(message)}\n")
