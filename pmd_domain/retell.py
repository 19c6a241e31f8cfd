"""Another library's fixed English messages, told again in Spanish from a table.

Each row is a pattern that must match the whole message and what to say instead: a
text, said as it is, or a function of the match (for the parts the message carries).
The first row that matches is used; a message no row matches is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

Said = str | Callable[[re.Match[str]], str]


class Retelling:
    """A table of English messages and their Spanish words (see the module docstring)."""

    def __init__(self, rows: Iterable[tuple[str, Said]]):
        self._rows = tuple((re.compile(f"^{pattern}$", re.DOTALL), said) for pattern, said in rows)

    def __call__(self, message: str) -> str:
        """``message`` in Spanish, or as it is when no row knows it."""
        for pattern, said in self._rows:
            found = pattern.match(message)
            if found is not None:
                return said if isinstance(said, str) else said(found)
        return message
