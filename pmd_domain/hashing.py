"""Keyed hashes: what the database keeps instead of a secret or an address.

A keyed hash (HMAC-SHA256 with ``PMD_SECRET_KEY``) cannot be reversed by trying every
possible value without the key, even for values with few possibilities (an IPv4
address, an 8-character code); the ``purpose`` keeps hashes of different things apart.
"""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(secret: str, purpose: str, value: str, *, length: int = 64) -> str:
    """HMAC-SHA256 of ``value`` for ``purpose``, as ``length`` hexadecimal characters."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:length]
