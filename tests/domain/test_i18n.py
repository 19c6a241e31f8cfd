"""Translation catalogues: every Spanish message has an English one, accents intact."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from pmd_domain.errors import DomainError
from pmd_domain.i18n import Catalogs, long_date
from pmd_domain.services import audit


def test_spanish_and_english_have_the_same_keys() -> None:
    catalogs = Catalogs.load()
    assert catalogs.languages[:2] == ["es", "en"]
    assert set(catalogs.messages["es"]) == set(catalogs.messages["en"])


def test_a_translation_fills_in_the_same_values_as_the_spanish_text() -> None:
    # A renamed or misspelt ``{name}`` is not filled in: the citizen would read it.
    catalogs = Catalogs.load()
    names = re.compile(r"\{(\w+)\}")
    differ = {
        key: (names.findall(text), names.findall(catalogs.messages["en"][key]))
        for key, text in catalogs.messages["es"].items()
        if set(names.findall(text)) != set(names.findall(catalogs.messages["en"][key]))
    }
    assert differ == {}


def test_every_domain_error_has_a_message() -> None:
    catalogs = Catalogs.load()
    codes = {cls.code for cls in [DomainError, *DomainError.__subclasses__()]}
    missing = [code for code in codes if not catalogs.has(code)]
    assert missing == []


def test_every_audit_action_has_a_name_for_staff() -> None:
    catalogs = Catalogs.load()
    missing = [action for action in audit.ACTIONS if not catalogs.has(f"audit.{action}")]
    assert missing == []


def test_params_are_filled_and_missing_language_falls_back_to_spanish() -> None:
    catalogs = Catalogs.load()
    assert catalogs.text("es", "error.text_too_short", min=10) == (
        "Tu texto es muy corto. Escribe al menos 10 caracteres, por favor."
    )
    assert catalogs.text("nah", "error.closed").startswith("La consulta ya cerró")


def test_a_key_given_twice_in_the_catalogues_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Two files of a language giving the same key: one of the texts would be lost
    # silently, depending on the order the files are read in.
    folder = tmp_path / "es"
    folder.mkdir()
    for name, text in (("a.po", "Folio"), ("b.po", "Folio (por ejemplo, C23-000045)")):
        (folder / name).write_text(f'msgid "verify.folio"\nmsgstr "{text}"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"verify\.folio.*a\.po.*b\.po"):
        Catalogs.load(tmp_path)


def test_long_dates_are_written_one_way_everywhere() -> None:
    # The certificates, the code cards, the dashboard and the pages write a day the
    # same way: on the exercise's calendar, as the language writes it.
    late = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)  # still 1 December in Pachuca
    assert long_date(late, zone="America/Mexico_City") == "1 de diciembre de 2026"
    assert long_date(late, zone="UTC") == "2 de diciembre de 2026"
    assert long_date(late, zone="America/Mexico_City", language="en") == "December 1, 2026"
    assert long_date(date(2027, 1, 9), language="nah") == "9 de enero de 2027"  # Spanish
