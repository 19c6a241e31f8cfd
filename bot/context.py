"""Typed access to the objects every handler needs, kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.inbound import Commits
from bot.notify import Notifier
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.metrics import Metrics
from pmd_domain.outbox_sender import OutboxSender
from pmd_domain.settings import Settings

_KEY = "pmd_services"
_NOTIFIER = "pmd_notifier"
_SENDER = "pmd_outbox_sender"
_COMMITS = "pmd_commits"


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


def attach_delivery(
    application: Application[Any, Any, Any, Any, Any, Any], sender: OutboxSender, commits: Commits
) -> None:
    """Make the process's outbox sender and its record of committed updates available."""
    application.bot_data[_SENDER] = sender
    application.bot_data[_COMMITS] = commits


def sender_of(application: Application[Any, Any, Any, Any, Any, Any]) -> OutboxSender:
    """The application's outbox sender (citizens' replies)."""
    found = application.bot_data[_SENDER]
    assert isinstance(found, OutboxSender)
    return found


def sender_if_any(application: Application[Any, Any, Any, Any, Any, Any]) -> OutboxSender | None:
    """The outbox sender of an application built by ``build_application`` (else None)."""
    found = application.bot_data.get(_SENDER)
    return found if isinstance(found, OutboxSender) else None


def commits_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Commits:
    """Which updates in hand have their step committed (polling and webhook confirm them)."""
    found = application.bot_data[_COMMITS]
    assert isinstance(found, Commits)
    return found
