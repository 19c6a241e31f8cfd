"""Checks on free text typed by citizens."""

from __future__ import annotations

import re
import unicodedata

from pmd_domain.errors import TextNotReadable, TextTooLong, TextTooShort

_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)
_SPACES = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n{3,}")
NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")


def clean_text(raw: str) -> str:
    """Normalise a typed text: NFC, no control characters, tidy spaces."""
    value = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    value = "\n".join(_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    return _BLANK_LINES.sub("\n\n", value).strip()


def require_text(raw: str, *, min_chars: int, max_chars: int) -> str:
    """A cleaned text with enough letters to be read, within the limits."""
    value = clean_text(raw)
    letters = sum(1 for ch in value if ch.isalpha())
    if letters < 2:
        raise TextNotReadable()
    if len(value) < min_chars:
        raise TextTooShort(min=min_chars, length=len(value))
    if len(value) > max_chars:
        raise TextTooLong(max=max_chars, length=len(value))
    return value


def require_name(raw: str, *, max_chars: int) -> str:
    """A person's full name: letters (accents included), spaces, hyphens, apostrophes."""
    value = " ".join(clean_text(raw).split())
    if len(value) > max_chars:
        raise TextTooLong(max=max_chars, length=len(value))
    if len(value) < 3 or not NAME.match(value) or " " not in value:
        raise TextNotReadable()
    return value
