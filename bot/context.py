"""Typed access to the objects every handler needs, kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.settings import Settings

_KEY = "pmd_services"


@dataclass(frozen=True)
class Services:
    """What the bot's handlers share: settings, database, consultation, texts, links."""

    settings: Settings
    database: Database
    consultation: Consultation
    catalogs: Catalogs
    links: Links


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Make ``services`` available to every handler of ``application``."""
    application.bot_data[_KEY] = services


def services_of(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The services attached to the application that runs this handler."""
    found = context.application.bot_data[_KEY]
    assert isinstance(found, Services)
    return found
