"""Where an input came from, as far as its channel can tell."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """The browser chat's client: the keyed hash of its address, and whether it is a kiosk.

    A phone channel (Telegram) passes no client: its accounts are tied to a phone
    number, and it sees no address. A kiosk is enrolled by staff: its participants
    are verified in person and it is exempt from the per-address limits.
    """

    address: str | None = None
    kiosk: bool = False

    @property
    def limited(self) -> bool:
        """Whether the per-address limits apply to this client."""
        return self.address is not None and not self.kiosk
