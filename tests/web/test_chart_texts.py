"""The dashboard charts' titles come from the catalogues, like every other text of the site."""

from __future__ import annotations

from typing import Any

from pmd_domain.i18n import Catalogs
from web import charts

SNAPSHOT: dict[str, Any] = {
    "participants": {
        "gender": [{"label": "Mujer", "count": 12}],
        "day": [],
        "source": [],
    },
    "proposals": {"pillar": [], "topic": []},
    "supports": {"pillar": []},
    "representativeness": {},
}


def test_chart_titles_follow_the_catalogue_language() -> None:
    catalogs = Catalogs.load()
    spanish = charts.chart_specs(SNAPSHOT, catalogs)
    english = charts.chart_specs(SNAPSHOT, catalogs, "en")
    assert spanish["participantes-genero"]["title"] == "Participantes por género"
    assert spanish["propuestas-tema"]["title"] == "Temas con más propuestas (hasta 15)"
    assert spanish["participantes-dia"]["empty"] == "Aún no hay datos"
    assert english["participantes-genero"]["title"] == "Participants by gender"
    # a chart's version follows what it shows, its words included
    assert spanish["participantes-genero"]["version"] != english["participantes-genero"]["version"]
    # and an empty chart still renders as an image
    assert charts.render(spanish["participantes-dia"]).startswith(b"\x89PNG")
