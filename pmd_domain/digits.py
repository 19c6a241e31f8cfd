"""Numbers that arrive as text (ids, pages, cursors, menu numbers): ASCII digits only.

``str.isdigit`` is true for "²" and "①", which ``int()`` then refuses with a
``ValueError``, and ``int()`` reads "٣" (an Arabic-Indic three) as 3 and "1_000" as
1000. None of those is an id, a page or a choice a client should be able to send, so
every check of "is this a number" in the product goes through here
(``tests/domain/test_digits.py`` keeps ``isdigit`` out of the code).
"""

from __future__ import annotations

import re

# ``\d`` matches every Unicode decimal digit; only 0-9 are numbers here.
_DIGITS = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-?[0-9]+")
# 18 digits always fit a signed 64-bit integer (a database's BIGINT).
MAX_DIGITS = 18


def is_digits(text: str, *, most: int = MAX_DIGITS) -> bool:
    """Whether ``text`` is one to ``most`` of the ASCII digits 0-9, and nothing else."""
    return len(text) <= most and _DIGITS.fullmatch(text) is not None


def number(text: str, *, most: int = MAX_DIGITS, signed: bool = False) -> int | None:
    """The whole number ``text`` spells in ASCII digits (at most ``most`` of them), else ``None``.

    ``signed``: a leading minus is allowed too (Telegram's group chat ids).
    """
    pattern = _SIGNED if signed else _DIGITS
    digits = text.removeprefix("-") if signed else text
    if len(digits) > most or pattern.fullmatch(text) is None:
        return None
    return int(text)
