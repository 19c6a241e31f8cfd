"""Sealed values: what the database keeps of a secret the service must read back.

A keyed hash (``pmd_domain.hashing``) cannot be read back; the WhatsApp channel must
know a chat's number to reply to it. It is sealed with Fernet (AES-128-CBC and an
HMAC-SHA256, from ``cryptography``) under a key derived from ``PMD_SECRET_KEY`` for one
purpose, so a copy of the database without the key does not give the numbers away.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class Sealer:
    """Seals and opens values for one purpose with a key derived from the service's secret."""

    def __init__(self, secret: str, purpose: str):
        key = hmac.new(secret.encode(), f"seal\x00{purpose}".encode(), hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        """``value`` encrypted and authenticated (a different text every time)."""
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, sealed: str) -> str | None:
        """The value sealed in ``sealed``; ``None`` when it was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None
