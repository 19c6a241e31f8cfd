"""Public links the domain needs (the QR code, the privacy notice), built by the web side.

The web side implements this from its route table and ``PMD_PUBLIC_URL``
(``web.links.RouterLinks``); the domain and the bot only see this protocol.
"""

from __future__ import annotations

from typing import Protocol


class Links(Protocol):
    """Absolute public URLs."""

    def certificate(self, token: str) -> str:
        """The verification page of a certificate."""
        ...

    def privacy(self) -> str:
        """The full privacy notice."""
        ...

    def dashboard(self) -> str:
        """The public dashboard."""
        ...

    def panel_login(self, token: str) -> str:
        """A one-time login link into the staff area."""
        ...

    def proposal(self, folio: str) -> str:
        """The public page of a published proposal."""
        ...
