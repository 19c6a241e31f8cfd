"""Notifications (a proposal's outcome) to citizens on WhatsApp.

Within the 24-hour window the message goes as text, as on Telegram; outside it the
outcome goes as the template the consultation file names
(``[whatsapp.templates.outcome]``, parameters ``folio``, ``outcome``, ``link``). Other
notifications outside the window, or an outcome without a template, are dropped
(Mi participación shows the outcome anyway).
"""

from __future__ import annotations

from functools import partial

from pmd_domain.campaign_transport import Blocked, Failed, Hold
from pmd_domain.links import Links
from pmd_domain.notification_sender import Notifier
from pmd_domain.services import notifications
from pmd_domain.services.notifications import Pending
from whatsapp import render
from whatsapp.channel import WhatsAppChannel
from whatsapp.client import GraphError
from whatsapp.updates import CHANNEL


def outcome_values(whatsapp: WhatsAppChannel, item: Pending, links: Links | None) -> dict[str, str]:
    """What an outcome template's parameters may name, in the citizen's language."""
    folio = str(item.params.get("folio", ""))
    outcome = str(item.params.get("outcome", ""))
    key = f"{notifications.OUTCOME_KEY}.{outcome}"
    return {
        "folio": folio,
        "outcome": whatsapp.catalogs.text(item.language, key) if outcome else "",
        "link": links.proposal(folio) if links is not None and folio else "",
    }


async def send_notification(
    whatsapp: WhatsAppChannel, links: Links | None, item: Pending, text: str
) -> None:
    """Send one notification: text within the window, the outcome template outside it."""
    reach = await whatsapp.reach(item.external_id or "")
    if reach is None:
        raise Failed("no number")
    if reach.window_open:
        message = render.text_message(text)
    else:
        template = whatsapp.conversation.consultation.whatsapp.templates.get("outcome")
        if item.text_key != notifications.OUTCOME_KEY or template is None:
            raise Failed("outside the 24-hour window and no template")
        values = outcome_values(whatsapp, item, links)
        message = render.template_message(
            template.name, template.language, [values[p] or "-" for p in template.parameters]
        )
    try:
        await whatsapp.client.send(reach.number, message)
    except GraphError as error:
        if error.undeliverable:
            raise Blocked() from None
        if error.retry:
            raise Hold(1.0) from None
        raise Failed(error.reason) from None


def notifier(whatsapp: WhatsAppChannel, *, links: Links | None = None) -> Notifier:
    """The WhatsApp notification loop of a process (not started)."""
    return Notifier(
        whatsapp.database,
        whatsapp.catalogs,
        channel=CHANNEL,
        send=partial(send_notification, whatsapp, links),
        links=links,
    )
