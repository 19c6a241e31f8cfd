"""Text folded for accent- and case-insensitive search, the same on every database.

Each proposal stores ``search_text`` (its folio and texts through ``search_key``),
written with the proposal; a visitor's query is folded the same way and matched
with ``LIKE``, so neither SQLite nor PostgreSQL needs a collation or an extension.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_SPACES = re.compile(r"\s+")


def search_key(*texts: str | None) -> str:
    """Texts folded for search: no accents, case-folded, single spaces (``ñ`` becomes ``n``)."""
    joined = " ".join(t for t in texts if t)
    decomposed = unicodedata.normalize("NFKD", joined.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare).strip()


def search_text_of(record: Any) -> str:
    """The stored search column of a proposal (or of a row with its fields)."""
    return search_key(record.folio, record.problem, record.proposal, record.vision)


def contains_pattern(text: str) -> str:
    """A ``LIKE`` pattern (escape character ``\\``) matching ``text`` anywhere, wildcards literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
