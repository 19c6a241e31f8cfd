"""Campaign messages on WhatsApp (``pmd_domain.campaign_transport.CampaignTransport``).

Within the 24-hour window (the citizen wrote less than a day ago) a campaign goes as
a text message, or as an image with the text as its caption when it has a picture at
an https address (the web panel's; a photo sent to the bot is a Telegram file, which
WhatsApp cannot show, and a caption longer than WhatsApp takes goes as text alone);
outside the window as the approved template the consultation file names
(``[whatsapp.templates.campaign]``), with its parameters filled from the campaign.
A campaign for someone outside the window when no template is named is ``failed``.
"""

from __future__ import annotations

from pmd_domain.campaign_transport import Blocked, Failed, Hold
from pmd_domain.db.models import Campaign
from whatsapp import render
from whatsapp.channel import WhatsAppChannel
from whatsapp.client import GraphError
from whatsapp.updates import CHANNEL

HOLD_SECONDS = 1.0  # the Cloud API says to slow down without saying how long
PAIR_RATE = 131056  # too many messages to one number: only that chat waits


def campaign_values(campaign: Campaign) -> dict[str, str]:
    """What a template's parameters may name, for a campaign."""
    return {"text": campaign.text, "link": campaign.button_url or ""}


def campaign_text(campaign: Campaign) -> str:
    """A campaign as a free-form message: its text and its link."""
    if campaign.button_text and campaign.button_url:
        return f"{campaign.text}\n\n{campaign.button_text}: {campaign.button_url}"
    return campaign.text


def campaign_message(campaign: Campaign) -> render.Json:
    """A campaign inside the 24-hour window: its picture with the text, or the text."""
    text = campaign_text(campaign)
    photo = campaign.photo or ""
    if photo.startswith("https://") and len(text) <= render.MAX_CAPTION:
        return render.image_message(photo, text)
    return render.text_message(text)


class WhatsAppCampaigns:
    """Sends one campaign message through the WhatsApp channel's client."""

    channel = CHANNEL

    def __init__(self, whatsapp: WhatsAppChannel):
        self.whatsapp = whatsapp

    async def start(self) -> None:
        """Nothing to open: the channel's client is shared."""

    async def stop(self) -> None:
        """Nothing to close: the channel closes its client."""

    async def send(self, campaign: Campaign, chat: str) -> None:
        """Send ``campaign`` to the chat: text within the window, else the template."""
        whatsapp = self.whatsapp
        reach = await whatsapp.reach(chat)
        if reach is None:
            raise Failed("no number")
        if reach.window_open:
            message = campaign_message(campaign)
        else:
            rules = whatsapp.conversation.consultation.whatsapp
            template = rules.templates.get("campaign")
            if template is None:
                raise Failed("outside the 24-hour window and no campaign template")
            values = campaign_values(campaign)
            message = render.template_message(
                template.name, template.language, [values[p] for p in template.parameters]
            )
        try:
            await whatsapp.client.send(reach.number, message)
        except GraphError as error:
            if error.code == PAIR_RATE:
                raise Failed(error.reason, again=True) from None
            if error.rate_limited:
                raise Hold(HOLD_SECONDS) from None
            if error.undeliverable:
                raise Blocked() from None
            # A 5xx answer: WhatsApp did not take it; a network failure may have sent it.
            again = error.retry and error.status < 599
            raise Failed(error.reason, again=again) from None
