"""Every text the conversation uses exists in Spanish and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pmd_domain.conversation
from pmd_domain.i18n import Catalogs
from pmd_domain.services.proposals import OUTCOMES

SOURCE = Path(pmd_domain.conversation.__file__).parent
KEY = re.compile(r"""\.t\(\s*"([a-z_]+\.[a-z_.]+)"|"([a-z_]+\.[a-z_.]+)" if""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SOURCE.glob("*.py"):
        for match in KEY.finditer(path.read_text("utf-8")):
            keys.add(match.group(1) or match.group(2))
    keys |= {f"mine.status.{s}" for s in ("pending", "published", "rejected")}
    keys |= {f"mine.outcome.{o}" for o in OUTCOMES}
    return keys


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_key_used_has_a_text(language: str) -> None:
    catalogs = Catalogs.load()
    keys = _used_keys()
    assert len(keys) > 80
    missing = sorted(k for k in keys if not catalogs.has(k, language))
    assert missing == []


def test_spanish_texts_keep_their_accents_and_opening_marks() -> None:
    spanish = Catalogs.load().messages["es"]
    for key, text in spanish.items():
        if key.startswith(("consent.", "menu.", "proposal.", "vote.", "mydata.", "cert.")):
            assert text.count("?") == text.count("¿"), key
            assert text.count("!") == text.count("¡"), key
    assert spanish["proposal.ask_proposal"] == "¿Qué propones?"
    assert spanish["menu.mine"] == "Mi participación"
