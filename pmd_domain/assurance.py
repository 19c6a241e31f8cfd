"""How sure we are that a participant is one real person (SPEC §9).

- ``phone``: a Telegram (later WhatsApp) account, which is tied to a phone number;
- ``verified``: a browser participant verified in person (a single-use code, a
  kiosk) or linked to their Telegram participant;
- ``anonymous``: a browser participant nobody has verified: anyone can make many.

Every participant and every support carries its level; the consultation file says
which levels count toward the public ranking (``[integrity] count_levels``).
"""

from __future__ import annotations

from enum import StrEnum


class Assurance(StrEnum):
    """The assurance level of a participant or of one support."""

    PHONE = "phone"
    VERIFIED = "verified"
    ANONYMOUS = "anonymous"


LEVELS = tuple(Assurance)
# Channels whose accounts are tied to a phone number.
PHONE_CHANNELS = frozenset({"telegram", "whatsapp"})


def initial(channel: str, *, in_person: bool = False) -> Assurance:
    """The level of a participant registering on ``channel`` (``in_person``: at a kiosk)."""
    if channel in PHONE_CHANNELS:
        return Assurance.PHONE
    return Assurance.VERIFIED if in_person else Assurance.ANONYMOUS


def of_support(level: str, *, home_channel: str, channel: str) -> Assurance:
    """The level of a support given on ``channel`` by a participant of ``level``.

    A participant whose account is on a phone channel, acting from a browser linked
    to it, gives a *verified* browser support; otherwise the participant's level.
    """
    person = Assurance(level)
    if person is Assurance.PHONE and channel != home_channel and channel not in PHONE_CHANNELS:
        return Assurance.VERIFIED
    return person
