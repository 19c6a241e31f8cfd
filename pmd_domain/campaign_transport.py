"""How the campaign sender hands one campaign message to a channel.

The sender (``bot.broadcast.BroadcastWorker``) paces, leases and records; a channel
gives a ``CampaignTransport`` that sends one message and says, by what it raises,
what happened:

- ``Hold``: the channel asks to slow down (Telegram's 429, WhatsApp's 130429): no
  message of that channel goes out for ``after`` seconds; this one is tried again.
- ``Blocked``: the citizen takes no messages (Telegram's 403, WhatsApp's 131026).
- ``Failed``: this message cannot go out (a refusal); ``again`` when the request
  surely never reached the channel, so trying again cannot duplicate it.
"""

from __future__ import annotations

from typing import Protocol

from pmd_domain.db.models import Campaign


class Hold(Exception):
    """Send nothing on this channel for ``after`` seconds; then this message again."""

    def __init__(self, after: float):
        super().__init__(f"hold {after}s")
        self.after = after


class Blocked(Exception):
    """The citizen takes no messages from us (marked unreachable)."""


class Failed(Exception):
    """This message did not go out; ``again``: it surely never left, so it may be retried."""

    def __init__(self, reason: str, *, again: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.again = again


class CampaignTransport(Protocol):
    """A channel's way of sending one campaign message."""

    channel: str

    async def start(self) -> None:
        """Open what sending needs (a connection pool)."""
        ...

    async def stop(self) -> None:
        """Close it."""
        ...

    async def send(self, campaign: Campaign, chat: str) -> None:
        """Send ``campaign`` to the chat ``chat``; raise ``Hold``, ``Blocked`` or ``Failed``."""
        ...
