"""The command line's own words (usage, help, argument errors) are Spanish, like its messages."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import pmd

ENGLISH = (
    "usage:",
    "positional arguments",
    "options:",
    "show this help",
    "the following arguments",
    "invalid choice",
    "choose from",
    "unrecognized arguments",
    "expected one argument",
    "invalid int value",
)


def test_help_is_spanish() -> None:
    for args in (("--help",), ("staff", "--help"), ("staff", "add", "-h")):
        result = pmd(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("uso: pmd"), result.stdout
        assert "muestra esta ayuda y termina" in result.stdout
        assert "opciones:" in result.stdout
        for english in ENGLISH:
            assert english not in result.stdout, (args, result.stdout)
    assert "argumentos:" in pmd("--help").stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "falta el argumento COMANDO"),
        (
            ("estadisticas",),
            "argumento COMANDO: «estadisticas» no es una opción (elige entre serve,",
        ),
        (("staff", "add", "1", "--role", "jefe"), "«jefe» no es una opción (elige entre admin,"),
        (("export",), "falta el argumento --output/-o"),
        (("export", "-o"), "argumento --output/-o: falta su valor"),
        (("staff", "list", "de-mas"), "argumentos que no se esperaban: de-mas"),
        (("broadcast", "list", "--limit", "diez"), "«diez» debe ser un número entero"),
    ],
)
def test_argument_errors_are_one_spanish_line_after_the_usage(
    args: tuple[str, ...], said: str
) -> None:
    result = pmd(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    usage, message = result.stderr.strip().splitlines()[-2:]
    assert usage.startswith("uso: pmd"), result.stderr
    assert message.startswith("pmd") and ": error: " in message, result.stderr
    assert said in message, result.stderr
    for english in ENGLISH:
        assert english not in result.stderr, result.stderr
