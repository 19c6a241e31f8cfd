"""Typed access to the objects every handler needs, kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.notify import Notifier
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.metrics import Metrics
from pmd_domain.settings import Settings

_KEY = "pmd_services"
_NOTIFIER = "pmd_notifier"


@dataclass(frozen=True)
class Services:
    """What the bot's handlers share: settings, database, consultation, texts, links."""

    settings: Settings
    database: Database
    consultation: Consultation
    catalogs: Catalogs
    links: Links
    metrics: Metrics = field(default_factory=Metrics)


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Make ``services`` available to every handler of ``application``."""
    application.bot_data[_KEY] = services


def services_of(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The services attached to the application that runs this handler."""
    found = context.application.bot_data[_KEY]
    assert isinstance(found, Services)
    return found


def attach_notifier(
    application: Application[Any, Any, Any, Any, Any, Any], notifier: Notifier
) -> None:
    """Make the process's notification sender available to every handler."""
    application.bot_data[_NOTIFIER] = notifier


def notifier_of(
    application: Application[Any, Any, Any, Any, Any, Any],
) -> Notifier | None:
    """The application's notification sender, if it has one."""
    found = application.bot_data.get(_NOTIFIER)
    return found if isinstance(found, Notifier) else None
