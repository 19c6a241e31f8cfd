"""The web pages hold no text of their own: every word a visitor reads comes from the
catalogues (``t(...)`` in the templates, ``data-texts`` for the page scripts)."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
# What a page may write as is: the product's name, file names and addresses.
ALLOWED = re.compile(r"Participa|PMD|[\w-]*\.(csv|json|pdf)|/[\w/]+|https://")
EXPRESSIONS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
READ_ALOUD = re.compile(r'\b(alt|aria-label|title|placeholder)="([^"]*)"')


def _literals(source: str) -> list[str]:
    words = []
    for _, value in READ_ALOUD.findall(source):
        words += EXPRESSIONS.sub(" ", value).split()
    text = EXPRESSIONS.sub("", source)  # "diccionario-{{ name }}.csv" is one file name
    text = re.sub(r"<(script|style|code)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    words += text.split()
    return [w for w in words if re.search(r"[^\W\d_]{2,}", w) and not ALLOWED.fullmatch(w)]


def test_no_template_writes_a_text_of_its_own() -> None:
    found = {
        str(path.relative_to(TEMPLATES)): literals
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (literals := _literals(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_finds_a_literal_in_text_and_in_what_is_read_aloud() -> None:
    assert sorted(_literals('<p>Totales</p><img alt="Gráfica">')) == ["Gráfica", "Totales"]
    assert _literals('<p>{{ t("x") }} <a href="/datos/">datos.csv</a></p>') == []


# ``~`` joins into plain text, which ``t()`` then escapes: ``'<code>'|safe ~ x`` shows the
# tag itself. Markup for a parameter is built with ``{% set name %}...{% endset %}``.
SAFE_JOINED = re.compile(r"\|safe\s*~|~\s*(?:'[^']*'|\"[^\"]*\")\|safe")


def test_no_template_joins_markup_into_plain_text() -> None:
    found = [
        str(path.relative_to(TEMPLATES))
        for path in sorted(TEMPLATES.rglob("*.html"))
        if SAFE_JOINED.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
