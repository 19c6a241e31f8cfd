"""The demonstration exercise of ``make run``: Pachuca's pillars, open from a week ago.

Written from the packaged Pachuca 2023 file (which stays the real example) with the
dates moved around today, a title and a flag that say "demostración" on every page, a
small list of clearly fictional colonias and a fictional office.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from importlib import resources

from pmd_domain.consultation.loader import DEFAULT_NAME, parse_consultation

DAYS_BEFORE = 7
DAYS_AFTER = 30
SLUG = "demo-pachuca"
MARK = "# Archivo de demostración escrito por «pmd demo-setup»"

# Fictional on purpose: a real list must come from SEPOMEX's catalogue (docs/consultation.md).
COLONIAS = {
    "Lomas de Prueba": "42001",
    "Santa Demostración": "42002",
    "San Ficticio Norte": "42003",
    "San Ficticio Sur": "42004",
    "Valle Imaginario": "42005",
    "Jardines del Ejemplo": "42006",
}

OFFICE = """
[office]
name = "Oficina de Planeación (ficticia, demostración)"
address = "Calle del Ejemplo 123, Col. Lomas de Prueba, 42001 Pachuca de Soto, Hgo. (ficticia)"
email = "planeacion@ejemplo.invalid"
phone = "771 000 0000"
transparency = "Unidad de Transparencia (ficticia): transparencia@ejemplo.invalid"
legal_basis = { es = "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados, artículos 3, 16, 17, 18, 26 y 27; Ley de Planeación para el Desarrollo del Estado de Hidalgo.", en = "General Law on the Protection of Personal Data Held by Obligated Parties, articles 3, 16, 17, 18, 26 and 27; Planning Law of the State of Hidalgo." }
coat_of_arms = ""
"""


def _set(text: str, key: str, value: str) -> str:
    return re.sub(rf"^{key} = .*$", lambda _: f"{key} = {value}", text, count=1, flags=re.M)


def demo_exercise_text(today: date) -> str:
    """The demonstration file's text, open from ``today`` minus a week to a month ahead."""
    text = resources.files("pmd_domain.consultation").joinpath(DEFAULT_NAME).read_text("utf-8")
    opens = today - timedelta(days=DAYS_BEFORE)
    closes = today + timedelta(days=DAYS_AFTER)
    text = _set(text, "slug", f'"{SLUG}"\ndemo = true')
    text = _set(
        text,
        "title",
        '{ es = "Demostración: consulta para el Plan Municipal de Desarrollo (datos ficticios)", '
        'en = "Demonstration: consultation for the Municipal Development Plan (fictional data)" }',
    )
    text = _set(text, "opens", f"{opens.isoformat()}T00:00:00")
    text = _set(text, "closes", f"{closes.isoformat()}T23:59:59")
    text = _set(text, "folio_prefix", '"DEMO"')
    text = text.replace(
        'prompt = { es = "¿Cuál es el código postal de tu colonia? Escríbelo con 5 dígitos.", '
        'en = "What is your neighborhood\'s postal code? Type its 5 digits." }',
        'prompt = { es = "¿En qué colonia vives?", en = "Which neighborhood do you live in?" }',
    )
    # the packaged file's own [colonias] and [office] give way to the demonstration's
    text = text.split("\n# Colonias por nombre", 1)[0].rstrip() + "\n"
    colonias = "\n".join(f'"{name}" = "{code}"' for name, code in COLONIAS.items())
    text = f"{MARK} el {today.isoformat()}.\n{text}\n[colonias]\n{colonias}\n{OFFICE}"
    parse_consultation(text, name="demo")  # never write a file that would not load
    return text
