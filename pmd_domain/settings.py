"""Typed settings read from the environment and an optional ``.env`` file."""

from __future__ import annotations

import ipaddress
import math
import os
from collections import Counter
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pmd_domain.validation import spanish

DEFAULT_SECRET = "dev-secret-change-me"  # noqa: S105 - the placeholder that refuses to start


# A secret outside development: at least this long, and not plainly low in entropy.
MIN_SECRET_CHARS = 32
MIN_DISTINCT_CHARS = 6
MIN_BITS_PER_CHAR = 2.5  # Shannon estimate from the characters' frequencies
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def weak_secret(value: str) -> bool:
    """Whether ``value`` is too short or plainly low in entropy to be a secret.

    Refused: fewer than 32 characters, fewer than 6 distinct ones, under 2.5 bits per
    character by a Shannon estimate, a repetition of a shorter piece ("abab...",
    "0123456789" four times), or the example value. ``secrets.token_urlsafe(32)``,
    ``secrets.token_hex(16)`` and a UUID's hex pass.
    """
    if len(value) < MIN_SECRET_CHARS or DEFAULT_SECRET in value:
        return True
    counts = Counter(value)
    if len(counts) < MIN_DISTINCT_CHARS:
        return True
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    periodic = value in (value + value)[1:-1]
    return bits < MIN_BITS_PER_CHAR or periodic


def _weak_message(name: str, problem: str = "es demasiado corta o predecible") -> str:
    return (
        f"{name} {problem}. Define una clave aleatoria de al menos "
        f"{MIN_SECRET_CHARS} caracteres (por ejemplo, la que imprime: {MAKE_ONE}), "
        "o usa PMD_ENV=development para pruebas locales."
    )


def env_file() -> str:
    """The ``.env`` file read with the environment: ``PMD_ENV_FILE``, else the checkout's.

    ``make run`` keeps the settings it chose there; the test suite names a file that
    does not exist, so a developer's ``.env`` never changes what the tests see.
    """
    return os.environ.get("PMD_ENV_FILE") or ".env"


DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
DATABASE_URL_HELP = (
    "debe ser sqlite+aiosqlite:///ruta/al/archivo.sqlite3 (un archivo) o "
    "postgresql+asyncpg://usuario:contraseña@servidor:5432/base"
)


class SettingsError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class Settings(BaseSettings):
    """Every knob of the service, from ``PMD_*`` and ``TELEGRAM_*`` variables."""

    model_config = SettingsConfigDict(
        env_file=env_file(), env_file_encoding="utf-8", extra="ignore", populate_by_name=True
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
    # JSON lines for a log collector; plain lines for a person at a terminal (make run).
    log_format: Literal["json", "console"] = Field(default="json", alias="PMD_LOG_FORMAT")
    # How long ``pmd serve`` waits for an unreachable database at start before it exits.
    database_wait: float = Field(default=300.0, alias="PMD_DATABASE_WAIT", ge=0)
    telegram_bot_token: str | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    # The bot's username (without @): the dashboard's t.me link and its QR code. When
    # unset, the name Telegram gives for the token once the bot started.
    telegram_bot_username: str | None = Field(
        default=None, alias="TELEGRAM_BOT_USERNAME", pattern=r"^[A-Za-z0-9_]{5,32}$"
    )
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_mode: Literal["polling", "webhook"] = Field(default="polling", alias="TELEGRAM_MODE")
    telegram_webhook_secret: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    # WhatsApp Business Cloud API (docs/whatsapp.md): all four, or none (no WhatsApp).
    whatsapp_api_url: str = Field(
        default="https://graph.facebook.com/v21.0", alias="WHATSAPP_API_URL"
    )
    whatsapp_phone_number_id: str | None = Field(default=None, alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_access_token: str | None = Field(default=None, alias="WHATSAPP_ACCESS_TOKEN")
    whatsapp_app_secret: str | None = Field(default=None, alias="WHATSAPP_APP_SECRET")
    whatsapp_verify_token: str | None = Field(default=None, alias="WHATSAPP_VERIFY_TOKEN")
    # Reverse proxies (addresses or networks) whose X-Forwarded-For is believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list, alias="PMD_TRUSTED_PROXIES"
    )
    # Who may read /metrics: these addresses or networks, or whoever sends the token.
    metrics_allow: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: [ip_network("127.0.0.1/32"), ip_network("::1/128")],
        alias="PMD_METRICS_ALLOW",
    )
    metrics_token: str | None = Field(default=None, alias="PMD_METRICS_TOKEN")

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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        """``"127.0.0.1, 10.0.0.0/8"``: each an address or a network."""
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if isinstance(value, list):
            for item in value:
                try:
                    ipaddress.ip_network(str(item), strict=False)
                except ValueError as exc:
                    raise ValueError(
                        f"PMD_TRUSTED_PROXIES: {item!r} no es una dirección IP ni una red"
                    ) from exc
        return value

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _split_allowed(cls, value: object) -> object:
        """``"127.0.0.1, 10.0.0.0/8 ::1"``: addresses or networks, or empty for none."""
        if isinstance(value, str):
            return [ip_network(part, strict=False) for part in value.replace(",", " ").split()]
        return value

    @field_validator("public_url", "telegram_api_url", "whatsapp_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value[-3:] == "://":
            raise ValueError("debe ser una dirección que empiece con https:// (o http://)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        """A SQLite file through aiosqlite, or PostgreSQL through asyncpg, that parses."""
        try:
            url = make_url(value)
            port = url.port
        except (ArgumentError, ValueError):
            url, port = None, None
        if url is None or url.drivername not in DATABASE_DRIVERS:
            raise ValueError(DATABASE_URL_HELP)
        if url.drivername == "sqlite+aiosqlite" and (
            not url.database or url.database == ":memory:" or os.path.isdir(url.database)
        ):
            raise ValueError(DATABASE_URL_HELP)
        if port is not None and not 0 < port < 65536:
            raise ValueError(DATABASE_URL_HELP)
        return value

    @model_validator(mode="after")
    def _local_address(self) -> Settings:
        """Without ``PMD_PUBLIC_URL``, development links point at the port it listens on."""
        if "public_url" not in self.model_fields_set and self.is_development and self.port:
            every = ("", "0.0.0.0", "::")  # noqa: S104 - read, not bound: the local address stands in
            host = "127.0.0.1" if self.host in every else self.host
            if ":" in host:
                host = f"[{host}]"  # an IPv6 address in a URL
            self.public_url = f"http://{host}:{self.port}"
        return self

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_secret",
        "metrics_token",
        "whatsapp_phone_number_id",
        "whatsapp_access_token",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "telegram_bot_username",
        "consultation",  # empty: the packaged file, not the current folder
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def is_development(self) -> bool:
        """Development and tests may run with the placeholder secret."""
        return self.environment in ("development", "test")

    @property
    def whatsapp_enabled(self) -> bool:
        """Whether the WhatsApp channel is configured (any of its settings given)."""
        return any(
            (
                self.whatsapp_phone_number_id,
                self.whatsapp_access_token,
                self.whatsapp_app_secret,
                self.whatsapp_verify_token,
            )
        )

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is a SQLite file."""
        return self.database_url.startswith("sqlite")

    def check_for_serving(self) -> None:
        """Refuse unsafe configurations before anything starts."""
        if not self.is_development:
            if self.secret_key == DEFAULT_SECRET:
                raise SettingsError(
                    _weak_message("PMD_SECRET_KEY", "falta o es el valor de ejemplo")
                )
            if weak_secret(self.secret_key):
                raise SettingsError(_weak_message("PMD_SECRET_KEY"))
            if self.telegram_webhook_secret and weak_secret(self.telegram_webhook_secret):
                raise SettingsError(_weak_message("TELEGRAM_WEBHOOK_SECRET"))
            if self.metrics_token and weak_secret(self.metrics_token):
                raise SettingsError(_weak_message("PMD_METRICS_TOKEN"))
            for name, value in (
                ("WHATSAPP_APP_SECRET", self.whatsapp_app_secret),
                ("WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token),
            ):
                if value and weak_secret(value):
                    raise SettingsError(_weak_message(name))
            if "public_url" not in self.model_fields_set:
                raise SettingsError(
                    "Falta PMD_PUBLIC_URL: la dirección pública de Participa PMD (por ejemplo "
                    "https://participa.example.mx), con la que se forman los enlaces y el código "
                    "QR de las constancias."
                )
        if self.whatsapp_enabled:
            missing = [
                name
                for name, value in (
                    ("WHATSAPP_PHONE_NUMBER_ID", self.whatsapp_phone_number_id),
                    ("WHATSAPP_ACCESS_TOKEN", self.whatsapp_access_token),
                    ("WHATSAPP_APP_SECRET", self.whatsapp_app_secret),
                    ("WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token),
                )
                if not value
            ]
            if missing:
                raise SettingsError("WhatsApp necesita también " + ", ".join(missing) + ".")
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
    except ValidationError as exc:
        said = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'PMD'}: {spanish(error)}"
            for error in exc.errors(include_url=False)
        )
        raise SettingsError(f"Configuración no válida: {said}.") from None
    except ValueError as exc:
        raise SettingsError(f"Configuración no válida: {exc}") from exc
