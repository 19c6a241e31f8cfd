"""The consultation definition: the default file and errors reported with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmd_domain.consultation import ConsultationError, load_consultation, parse_consultation
from pmd_domain.consultation.loader import DEFAULT_NAME

DEFAULT = Path(__file__).parents[2] / "pmd_domain" / "consultation" / DEFAULT_NAME


def test_default_file_is_the_pachuca_update_exercise() -> None:
    consultation = load_consultation()
    exercise = consultation.exercise
    assert exercise.authority == "La Presidencia Municipal de Pachuca de Soto"
    assert exercise.vision_year == 2040
    assert str(exercise.opens.tzinfo) == "America/Mexico_City"
    assert [consultation.text(p.name, "es") for p in consultation.pillars] == [
        "Bienestar social",
        "Servicios públicos y desarrollo sostenible",
        "Seguridad y paz ciudadana",
        "Prosperidad y dinamismo económico",
        "Honestidad, cercanía y modernidad",
    ]
    assert all(p.topics and p.actions for p in consultation.pillars)
    assert [q.key for q in consultation.demographics] == [
        "gender",
        "age_group",
        "sector",
        "postal_code",
    ]
    assert consultation.census is not None and consultation.census.population == 314331
    assert consultation.census.shares["gender"] == {"mujer": 0.519, "hombre": 0.481}
    assert consultation.census.counts["age_group"]["18_29"] == 574360
    assert consultation.limits.small_cell_k == 5


def _broken() -> str:
    lines = DEFAULT.read_text("utf-8").splitlines()
    for i, line in enumerate(lines):
        if line == "number = 3":
            lines[i] = 'number = "tres"'
        elif line == "vision_year = 2040":
            lines[i] = "vision_yr = 2040"
        elif line == 'timezone = "America/Mexico_City"':
            lines[i] = 'timezone = "America/Ciudad_Gotica"'
    return "\n".join(lines) + "\n"


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.strip() == needle)


def test_every_error_is_reported_with_its_line() -> None:
    text = _broken()
    with pytest.raises(ConsultationError) as caught:
        parse_consultation(text, name="mi-consulta.toml")
    messages = [str(p) for p in caught.value.problems]
    zone_line = _line_of(text, 'timezone = "America/Ciudad_Gotica"')
    pillar_line = _line_of(text, 'number = "tres"')
    assert messages == [
        f"mi-consulta.toml:{_line_of(text, '[exercise]')}: exercise.vision_year: falta este dato",
        f"mi-consulta.toml:{zone_line}: exercise.timezone: "
        "zona horaria desconocida: 'America/Ciudad_Gotica'",
        f"mi-consulta.toml:{_line_of(text, 'vision_yr = 2040')}: exercise.vision_yr: "
        "clave desconocida (¿un error de escritura?)",
        f"mi-consulta.toml:{pillar_line}: pillars[2].number: debe ser un número entero",
    ]


def test_syntax_error_names_its_line() -> None:
    with pytest.raises(ConsultationError) as caught:
        parse_consultation('[exercise]\nslug = "x"\ntitle = \n', name="roto.toml")
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert str(problem).startswith("roto.toml:3: sintaxis TOML")


def test_duplicate_topic_key_is_an_error() -> None:
    text = DEFAULT.read_text("utf-8").replace('key = "educacion"', 'key = "salud"', 1)
    with pytest.raises(ConsultationError) as caught:
        parse_consultation(text)
    assert any("clave repetida en topics: 'salud'" in str(p) for p in caught.value.problems)


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        ("[exercise\nslug = 1\n", 1, "falta «]» al final del nombre de la sección"),
        ("[exercise]\nslug = \n", 2, "valor no válido"),
        ('[exercise]\nslug = "a"\nslug = "b"\n', 3, "un valor se define dos veces"),
        ('[exercise]\nslug = "abc\n', 2, "un texto no cierra sus comillas"),
        ("[exercise]\nslug\n", 2, "falta «=» después de la clave"),
        ("[exercise]\n[exercise]\n", 2, "la sección ('exercise',) se declara dos veces"),
        ("[exercise]\nopens = 2024-13-01\n", 2, "sobra algo después del valor"),
        ("[exercise]\nlist = [1, 2\n", 3, "una lista [...] no se cierra"),
        ('[exercise]\nslug = "a\\q"\n', 2, "una «\\» sin escapar en un texto (escribe «\\\\»)"),
    ],
)
def test_toml_syntax_errors_are_told_in_spanish(text: str, line: int, said: str) -> None:
    with pytest.raises(ConsultationError) as caught:
        parse_consultation(text, name="consulta.toml")
    (problem,) = caught.value.problems
    assert problem.line == line and str(problem).startswith(f"consulta.toml:{line}: sintaxis TOML")
    assert said in problem.message, problem.message
    for english in ("Expected", "Invalid", "Cannot", "Unterminated", "Unclosed", "declare"):
        assert english not in problem.message, problem.message


def test_a_file_that_cannot_be_read_says_why_in_spanish(tmp_path: Path) -> None:
    not_text = tmp_path / "latin1.toml"
    not_text.write_bytes("[exercise]\nslug = 'año'\n".encode("latin-1"))
    arms = tmp_path / "con-escudo.toml"
    arms.write_text(
        DEFAULT.read_text("utf-8").replace('coat_of_arms = ""', 'coat_of_arms = "no-existe.png"'),
        "utf-8",
    )
    for path, why in (
        (tmp_path / "no-existe.toml", "no se puede leer: no existe"),
        (tmp_path, "no se puede leer: es una carpeta"),
        (not_text, "no se puede leer: no es texto UTF-8"),
        (arms, "no se puede leer el escudo"),
    ):
        with pytest.raises(ConsultationError) as caught:
            load_consultation(path)
        said = "\n".join(str(p) for p in caught.value.problems)
        assert why in said, said
        for english in ("Errno", "No such file", "codec", "Is a directory"):
            assert english not in said, said
    assert "no-existe.png': no existe" in said


def test_the_integrity_section_has_safe_defaults() -> None:
    integrity = load_consultation().integrity
    assert [str(level) for level in integrity.count_levels] == ["phone", "verified"]
    assert integrity.counts("phone") and integrity.counts("verified")
    assert not integrity.counts("anonymous")
    assert integrity.address_limits.participants.count == 30
    assert integrity.address_limits.participants.minutes == 10
    assert integrity.reports.min_account_minutes == 60
    assert integrity.bursts.window_minutes == 60


def test_integrity_errors_are_reported_with_their_line() -> None:
    text = DEFAULT.read_text("utf-8")
    text = text.replace('count_levels = ["phone", "verified"]', 'count_levels = ["phone", "sms"]')
    text = text.replace(
        "participants = { count = 30, minutes = 10 }", "participants = { count = 0, minutes = 10 }"
    )
    text = text.replace("share_of_views = 0.05", "share_of_views = 5")
    with pytest.raises(ConsultationError) as caught:
        parse_consultation(text, name="c.toml")
    messages = [str(p) for p in caught.value.problems]
    levels = _line_of(text, 'count_levels = ["phone", "sms"]')
    window = _line_of(text, "participants = { count = 0, minutes = 10 }")
    share = _line_of(text, "share_of_views = 5")
    assert messages == [
        f"c.toml:{levels}: integrity.count_levels[1]: debe ser uno de: "
        "'phone', 'verified' or 'anonymous'",
        f"c.toml:{window}: integrity.address_limits.participants.count: es demasiado pequeño",
        f"c.toml:{share}: integrity.reports.share_of_views: es demasiado grande",
    ]


def test_a_level_may_be_listed_once_and_at_least_one_counts() -> None:
    text = DEFAULT.read_text("utf-8")
    twice = text.replace(
        'count_levels = ["phone", "verified"]', 'count_levels = ["phone", "phone"]'
    )
    with pytest.raises(ConsultationError, match="clave repetida en count_levels"):
        parse_consultation(twice)
    none = text.replace('count_levels = ["phone", "verified"]', "count_levels = []")
    with pytest.raises(ConsultationError, match="muy pocos elementos"):
        parse_consultation(none)


def test_campaign_sources_are_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "consulta.toml"
    text = DEFAULT.read_text("utf-8")
    path.write_text(text, "utf-8")
    consultation = load_consultation(path)
    assert consultation.campaign_source("volante_mercado") == "otra"
    assert consultation.reload_sources() is False  # nothing changed
    path.write_text(
        text.replace('radio = "Radio"', 'radio = "Radio"\nvolante_mercado = "Volantes"'), "utf-8"
    )
    assert consultation.reload_sources() is True
    assert consultation.campaign_source("Volante_Mercado") == "volante_mercado"
    assert consultation.source_list()["volante_mercado"] == "Volantes"
    path.write_text(text.replace("[sources]", "[sources]\notra = 'x'"), "utf-8")  # refused
    assert consultation.reload_sources() is False
    assert "volante_mercado" in consultation.source_list()


def test_the_plan_s_labels_by_key_for_pages_files_and_the_panel() -> None:
    consultation = load_consultation()
    pillar = consultation.pillars[1]
    topic, action = pillar.topics[0], pillar.actions[0]
    labels = consultation.labels("es")
    assert labels[pillar.key] == "Servicios públicos y desarrollo sostenible"
    assert labels[f"{pillar.key}.{topic.key}"] == consultation.text(topic.name, "es")
    assert labels[f"action:{action.key}"] == consultation.text(action.name, "es")
    numbered = consultation.labels("es", numbered=True)
    assert numbered[pillar.key] == f"{pillar.number}. Servicios públicos y desarrollo sostenible"


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("closes = 2023-06-25T23:59:59", "closes = 9999-12-31T00:00:00", "2100"),
        ("opens = 2023-06-14T00:00:00", "opens = 1023-06-14T00:00:00", "2000"),
        ("minimum_age = 18", "minimum_age = true", "número entero"),
        ("retention_days = 365", 'retention_days = "365"', "número entero"),
    ],
)
def test_values_that_would_break_later_are_refused_now(old: str, new: str, said: str) -> None:
    text = DEFAULT.read_text("utf-8")
    assert old in text
    with pytest.raises(ConsultationError) as caught:
        parse_consultation(text.replace(old, new, 1))
    assert any(said in str(p) for p in caught.value.problems), caught.value.problems
