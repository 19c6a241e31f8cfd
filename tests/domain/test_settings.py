"""Settings refuse weak secrets outside development, with a message that says what to do."""

from __future__ import annotations

import secrets
import uuid

import pytest

from pmd_domain.settings import Settings, SettingsError

GOOD = "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV"
WEAK = [
    "a" * 16,  # the example: 16 characters of one letter
    "a" * 40,  # long but one letter
    "ab" * 20,  # a repeated pattern
    "0123456789" * 4,  # a repeated run of digits
    "correct-horse-battery-staple",  # under 32 characters
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabcde",  # few distinct characters
    "dev-secret-change-me-dev-secret-change-me",  # the placeholder, twice
]


def production(**values: str) -> Settings:
    return Settings(PMD_ENV="production", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("weak", WEAK)
def test_a_weak_secret_key_is_refused_in_production(weak: str) -> None:
    with pytest.raises(SettingsError) as refused:
        production(PMD_SECRET_KEY=weak).check_for_serving()
    message = str(refused.value)
    assert "PMD_SECRET_KEY" in message and "32" in message
    assert "secrets.token_urlsafe(32)" in message  # how to make one
    assert weak not in message  # never echoed


@pytest.mark.parametrize("weak", ["x", "a" * 40, "s3cret", *WEAK])
def test_a_weak_webhook_secret_is_refused_in_production(weak: str) -> None:
    settings = production(
        PMD_SECRET_KEY=GOOD,
        PMD_PUBLIC_URL="https://participa.example.mx",
        TELEGRAM_BOT_TOKEN="123:abcdefghijklmnop",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET=weak,
    )
    with pytest.raises(SettingsError) as refused:
        settings.check_for_serving()
    assert "TELEGRAM_WEBHOOK_SECRET" in str(refused.value)
    assert "secrets.token_urlsafe(32)" in str(refused.value)


def test_generated_secrets_are_accepted() -> None:
    # What the message tells people to run, and the other usual generators, every time.
    for _ in range(300):
        for value in (secrets.token_urlsafe(32), secrets.token_hex(16), uuid.uuid4().hex):
            production(
                PMD_SECRET_KEY=value,
                PMD_PUBLIC_URL="https://participa.example.mx",
                TELEGRAM_BOT_TOKEN="123:abcdefghijklmnop",
                TELEGRAM_MODE="webhook",
                TELEGRAM_WEBHOOK_SECRET=value,
            ).check_for_serving()


def test_development_accepts_the_placeholder_and_short_secrets() -> None:
    Settings(PMD_ENV="development").check_for_serving()  # type: ignore[call-arg]
    Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        PMD_SECRET_KEY="short",
        TELEGRAM_BOT_TOKEN="123:abcdefghijklmnop",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_SECRET="x",
    ).check_for_serving()


def test_production_refuses_to_serve_without_its_public_address() -> None:
    # Every link and the certificates' QR codes are built from it: a default pointing
    # at the server itself would print QR codes nobody else can open.
    with pytest.raises(SettingsError, match="PMD_PUBLIC_URL") as refused:
        production(PMD_SECRET_KEY=GOOD).check_for_serving()
    assert "QR" in str(refused.value)
    production(
        PMD_SECRET_KEY=GOOD, PMD_PUBLIC_URL="https://participa.example.mx"
    ).check_for_serving()


def test_in_development_the_links_follow_the_port_the_server_listens_on() -> None:
    def development(**values: str) -> Settings:
        return Settings(PMD_ENV="development", **values)  # type: ignore[arg-type]

    assert development().public_url == "http://127.0.0.1:8080"
    assert development(PMD_PORT="9000").public_url == "http://127.0.0.1:9000"
    assert development(PMD_HOST="0.0.0.0", PMD_PORT="9000").public_url == "http://127.0.0.1:9000"
    assert development(PMD_HOST="::", PMD_PORT="9000").public_url == "http://127.0.0.1:9000"
    assert development(PMD_HOST="::1", PMD_PORT="9000").public_url == "http://[::1]:9000"
    given = development(PMD_PORT="9000", PMD_PUBLIC_URL="https://participa.example.mx/")
    assert given.public_url == "https://participa.example.mx"
