"""Typed handles on the objects the aiohttp application shares."""

from __future__ import annotations

from aiohttp import web

from pmd_domain.campaign_transport import CampaignTransport
from pmd_domain.certificates.renderer import CertificateRenderer
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Conversation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.logs import RepeatedLog
from pmd_domain.metrics import Metrics
from pmd_domain.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CONSULTATION = web.AppKey("consultation", Consultation)
DATABASE = web.AppKey("database", Database)
BOT_STATUS = web.AppKey("bot_status", dict)
CATALOGS = web.AppKey("catalogs", Catalogs)
# The citizen conversation: built once by create_app, the same for every channel.
CONVERSATION = web.AppKey("conversation", Conversation)
RENDERER = web.AppKey("certificate_renderer", CertificateRenderer)
METRICS = web.AppKey("metrics", Metrics)
FAILURES = web.AppKey("failure_log", RepeatedLog)  # request failures, a line per interval
# Campaign senders of other channels (WhatsApp) for the bot's campaign worker.
CAMPAIGN_TRANSPORTS: web.AppKey[list[CampaignTransport]] = web.AppKey("campaign_transports")
