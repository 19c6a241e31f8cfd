"""Typed settings read from the environment and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - the placeholder that refuses to start


class SettingsError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class Settings(BaseSettings):
    """Every knob of the service, from ``PMD_*`` and ``TELEGRAM_*`` variables."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = Field(
        default="production", alias="PMD_ENV"
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/pmd.sqlite3", alias="PMD_DATABASE_URL"
    )
    consultation: Path | None = Field(default=None, alias="PMD_CONSULTATION")
    public_url: str = Field(default="http://127.0.0.1:8080", alias="PMD_PUBLIC_URL")
    host: str = Field(default="127.0.0.1", alias="PMD_HOST")
    port: int = Field(default=8080, alias="PMD_PORT", ge=0, le=65535)
    secret_key: str = Field(default=DEFAULT_SECRET, alias="PMD_SECRET_KEY")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="PMD_ADMIN_IDS")
    broadcast_rate: float = Field(default=25.0, alias="PMD_BROADCAST_RATE", gt=0, le=1000)
    log_level: str = Field(default="INFO", alias="PMD_LOG_LEVEL")
    # How long ``pmd serve`` waits for an unreachable database at start before it exits.
    database_wait: float = Field(default=300.0, alias="PMD_DATABASE_WAIT", ge=0)
    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_mode: Literal["polling", "webhook"] = Field(default="polling", alias="TELEGRAM_MODE")
    telegram_webhook_secret: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept ``"1,2 3"`` as well as a JSON list."""
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            parts = value.replace(",", " ").split()
            return [int(p) for p in parts]
        return value

    @field_validator("public_url", "telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("telegram_bot_token", "telegram_webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def is_development(self) -> bool:
        """Development and tests may run with the placeholder secret."""
        return self.environment in ("development", "test")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is a SQLite file."""
        return self.database_url.startswith("sqlite")

    def check_for_serving(self) -> None:
        """Refuse unsafe configurations before anything starts."""
        weak = self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 16
        if weak and not self.is_development:
            raise SettingsError(
                "PMD_SECRET_KEY falta o es el valor de ejemplo. Define una clave aleatoria de "
                "al menos 16 caracteres (por ejemplo: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'), o usa PMD_ENV=development para pruebas locales."
            )
        if self.telegram_mode == "webhook" and self.telegram_bot_token:
            if not self.telegram_webhook_secret:
                raise SettingsError("TELEGRAM_MODE=webhook necesita TELEGRAM_WEBHOOK_SECRET.")
            if not self.public_url.startswith("https://") and not self.is_development:
                raise SettingsError(
                    "TELEGRAM_MODE=webhook necesita un PMD_PUBLIC_URL con https://."
                )


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, ``.env`` and explicit overrides."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SettingsError(f"Configuración no válida: {exc}") from exc
