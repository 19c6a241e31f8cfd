"""A colonia typed by name: tolerant of accents, case and typos (rapidfuzz).

Most people know their colonia, not its postal code. The consultation file may list
its colonias (``[colonias]``, name = postal code); what a citizen types is compared
with every name after folding accents and case and dropping a leading "colonia" /
"col.". One clear match is taken; several close ones are offered as a short choice.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from pmd_domain.search import search_key

CUTOFF = 80.0  # below this a name is not a match
CLEAR_LEAD = 8.0  # the best is taken alone when it leads the next by this much
MAX_CHOICES = 4
_PREFIX = re.compile(r"^(colonia|col\.?|fraccionamiento|fracc\.?|barrio)\s+")


def fold(text: str) -> str:
    """Lowercase, without accents, spaces collapsed, a leading "colonia" dropped."""
    plain = " ".join(re.sub(r"[^\w\s.]", " ", search_key(text)).split())
    return _PREFIX.sub("", plain)


def matches(colonias: dict[str, str], typed: str) -> list[str]:
    """The names ``typed`` may mean: one when it is clear, up to four when several fit."""
    query = fold(typed)
    if len(query) < 3 or not colonias:
        return []
    names = list(colonias)
    folded = [fold(name) for name in names]
    exact = [name for name, plain in zip(names, folded, strict=True) if plain == query]
    if len(exact) == 1:
        return exact
    found = process.extract(
        query, folded, scorer=fuzz.WRatio, limit=MAX_CHOICES + 1, score_cutoff=CUTOFF
    )
    if not found:
        return []
    best = found[0][1]
    if len(found) == 1 or best - found[1][1] >= CLEAR_LEAD:
        return [names[found[0][2]]]
    return [names[index] for _, score, index in found[:MAX_CHOICES] if best - score < CLEAR_LEAD]
