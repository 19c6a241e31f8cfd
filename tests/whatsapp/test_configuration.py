"""The WhatsApp settings and the consultation file's templates are checked before serving."""

from __future__ import annotations

import pytest

from pmd_domain.consultation import ConsultationError, parse_consultation
from pmd_domain.consultation.loader import DEFAULT_NAME
from pmd_domain.settings import Settings, SettingsError
from tests.domain.test_consultation import DEFAULT

GOOD = "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV"
WHATSAPP = {
    "WHATSAPP_PHONE_NUMBER_ID": "109876543210987",
    "WHATSAPP_ACCESS_TOKEN": "EAAG" + GOOD,
    "WHATSAPP_APP_SECRET": "3f1c9a7be2d04c6f8a5b19e07d3c2f4a",
    "WHATSAPP_VERIFY_TOKEN": "Vt7-" + GOOD,
}


def production(**values: str) -> Settings:
    given = {"PMD_SECRET_KEY": GOOD, "PMD_PUBLIC_URL": "https://participa.example.mx", **values}
    return Settings(PMD_ENV="production", **given)  # type: ignore[arg-type]


def test_the_channel_needs_all_four_settings_and_the_default_api_url() -> None:
    settings = production(**WHATSAPP)
    settings.check_for_serving()
    assert settings.whatsapp_enabled
    assert settings.whatsapp_api_url.startswith("https://graph.facebook.com/v")
    assert not production().whatsapp_enabled
    without_secret = {k: v for k, v in WHATSAPP.items() if k != "WHATSAPP_APP_SECRET"}
    with pytest.raises(SettingsError, match="WHATSAPP_APP_SECRET"):
        production(**without_secret).check_for_serving()


@pytest.mark.parametrize("name", ["WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"])
def test_weak_whatsapp_secrets_are_refused_outside_development(name: str) -> None:
    with pytest.raises(SettingsError, match=name) as refused:
        production(**{**WHATSAPP, name: "a" * 40}).check_for_serving()
    assert "a" * 40 not in str(refused.value)
    Settings(PMD_ENV="development", **{**WHATSAPP, name: "short"}).check_for_serving()  # type: ignore[arg-type]


def test_templates_in_the_consultation_file_are_checked_with_their_line() -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    consultation = parse_consultation(text, name=DEFAULT_NAME)
    assert consultation.whatsapp.templates["outcome"].parameters == ["folio", "outcome", "link"]
    bad_name = text.replace('name = "pmd_difusion"', 'name = "Difusión PMD"')
    line = bad_name.splitlines().index('name = "Difusión PMD"') + 1
    with pytest.raises(ConsultationError) as refused:
        parse_consultation(bad_name, name="consulta.toml")
    assert f"consulta.toml:{line}: whatsapp.templates.campaign.name" in str(refused.value)
    for broken, says in [
        (
            text.replace('["folio", "outcome", "link"]', '["folio", "telefono"]'),
            "'telefono' no existe",
        ),
        (text + '\n[whatsapp.templates.saludo]\nname = "hola"\nlanguage = "es"\n', "saludo"),
        (text.replace('language = "es_MX"', 'language = "español"', 1), "language"),
    ]:
        with pytest.raises(ConsultationError, match=says):
            parse_consultation(broken, name="consulta.toml")
