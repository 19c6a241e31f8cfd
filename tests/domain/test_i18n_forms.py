"""Plural forms, channel wordings and language negotiation of the catalogues."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmd_domain.i18n import Catalogs


@pytest.fixture
def catalogs(tmp_path: Path) -> Catalogs:
    for lang, entries in {
        "es": {
            "votes.one": "{n} apoyo",
            "votes.other": "{n} apoyos",
            "hint": "Toca un botón o escribe /silenciar.",
            "hint@web": "Elige una opción o escribe tu respuesta.",
        },
        "en": {"votes.one": "{n} support", "votes.other": "{n} supports"},
    }.items():
        folder = tmp_path / lang
        folder.mkdir()
        body = "".join(f'msgid "{k}"\nmsgstr "{v}"\n\n' for k, v in entries.items())
        (folder / "test.po").write_text(body, encoding="utf-8")
    return Catalogs.load(tmp_path)


def test_plural_follows_the_language_rule(catalogs: Catalogs) -> None:
    assert catalogs.plural("es", "votes", 1) == "1 apoyo"
    assert catalogs.plural("es", "votes", 0) == "0 apoyos"
    assert catalogs.plural("es", "votes", 2) == "2 apoyos"
    # Spanish has a "many" form for millions in CLDR; without it, "other" serves.
    assert catalogs.plural("es", "votes", 1_000_000) == "1000000 apoyos"
    assert catalogs.plural("en", "votes", 1) == "1 support"


def test_a_channel_wording_wins_where_it_exists(catalogs: Catalogs) -> None:
    assert catalogs.variant("es", "hint", "web") == "Elige una opción o escribe tu respuesta."
    assert catalogs.variant("es", "hint", "telegram") == "Toca un botón o escribe /silenciar."
    # A language without the entry falls back to the Spanish channel wording.
    assert catalogs.variant("en", "hint", "web") == "Elige una opción o escribe tu respuesta."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9", "en"),
        ("de, en-GB;q=0.5", "en"),
        ("fr", "es"),
        ("", "es"),
        (None, "es"),
        ("*;q=0.1, ;;,", "es"),
    ],
)
def test_accept_language_is_negotiated(
    catalogs: Catalogs, header: str | None, expected: str
) -> None:
    assert catalogs.negotiate(header) == expected
