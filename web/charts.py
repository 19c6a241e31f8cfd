"""Dashboard charts: what each one shows (from the snapshot) and its PNG rendering.

``chart_specs`` is cheap and runs on the event loop; ``render`` is the blocking
matplotlib work and runs in a worker thread. A spec is plain data, so its hash
is the chart's version: the PNG only changes when the figures it shows change.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from pmd_domain.i18n import DEFAULT_LANGUAGE, Catalogs
from pmd_domain.publication import HIDDEN

SLUGS = {"gender": "genero", "age_group": "edad", "sector": "sector"}
ACCENT = "#7a1f3d"
CENSUS = "#8a8a8a"
MAX_BARS = 15


def dimension_title(catalogs: Catalogs, dimension: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The name of a demographic dimension (catalogue ``chart.dimension.<name>``)."""
    key = f"chart.dimension.{dimension}"
    return catalogs.text(lang, key) if catalogs.has(key) else dimension.replace("_", " ")


def slug(dimension: str) -> str:
    """The URL-friendly Spanish name of a demographic dimension."""
    return SLUGS.get(dimension, dimension.replace("_", "-"))


def chart_specs(
    snapshot: dict[str, Any], catalogs: Catalogs, lang: str = DEFAULT_LANGUAGE
) -> dict[str, dict[str, Any]]:
    """Every chart of the dashboard as ``{name: spec}``; each spec carries its ``version``."""

    def t(key: str, **params: object) -> str:
        return catalogs.text(lang, key, **params)

    def by(key: str, dim: str) -> str:
        return t(key, dimension=dimension_title(catalogs, dim, lang))

    specs: dict[str, dict[str, Any]] = {}
    participants = snapshot["participants"]
    for dim, series in participants.items():
        if dim in ("day", "source"):
            continue
        specs[f"participantes-{slug(dim)}"] = _bars(
            by("chart.participants_by", dim), series, horizontal=True
        )
    specs["participantes-dia"] = _bars(
        t("chart.participants_day"), participants["day"], horizontal=False, short_labels=True
    )
    specs["participantes-fuente"] = _bars(
        t("chart.participants_source"), participants["source"], horizontal=True
    )
    specs["propuestas-eje"] = _bars(
        t("chart.proposals_pillar"), snapshot["proposals"]["pillar"], horizontal=True
    )
    topics = sorted(
        (s for s in snapshot["proposals"]["topic"] if s["count"]), key=lambda s: -s["count"]
    )[:MAX_BARS]
    specs["propuestas-tema"] = _bars(
        t("chart.proposals_topic", n=MAX_BARS), topics, horizontal=True
    )
    specs["apoyos-eje"] = _bars(
        t("chart.supports_pillar"), snapshot["supports"]["pillar"], horizontal=True
    )
    for dim, rows in snapshot["representativeness"].items():
        specs[f"representatividad-{slug(dim)}"] = {
            "kind": "compare",
            "title": by("chart.representativeness", dim),
            "labels": [
                f"{r['label']} ({HIDDEN})" if r["participant_share"] is None else r["label"]
                for r in rows
            ],
            "values": [round(100 * (r["participant_share"] or 0), 1) for r in rows],
            "reference": [round(100 * r["census_share"], 1) for r in rows],
        }
    for spec in specs.values():
        spec["empty"] = t("chart.empty")
        spec["version"] = hashlib.sha256(
            json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()[:16]
    return specs


def _bars(
    title: str, series: list[dict[str, Any]], *, horizontal: bool, short_labels: bool = False
) -> dict[str, Any]:
    """A bar chart of what the table beside it publishes: a reserved count has no bar."""
    labels = [str(s["label"]) for s in series]
    if short_labels:  # 2023-06-05 -> 05/06
        labels = [f"{x[8:10]}/{x[5:7]}" if len(x) == 10 else x for x in labels]
    values = [s["count"] if isinstance(s["count"], int) else None for s in series]
    labels = [f"{x} ({HIDDEN})" if v is None else x for x, v in zip(labels, values, strict=True)]
    return {
        "kind": "barh" if horizontal else "bar",
        "title": title,
        "labels": labels,
        "values": values,
    }


def count_label(value: float, _position: object = None) -> str:
    """A count on an axis: thousands separated, never "-0" (an empty chart's ticks)."""
    return f"{max(value, 0.0) + 0.0:,.0f}"  # + 0.0 turns -0.0 into 0.0


def render(spec: dict[str, Any]) -> bytes:
    """Draw one chart as PNG (blocking: call it in a worker)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    labels = spec["labels"]
    values = [v or 0 for v in spec["values"]]  # a reserved count is drawn as no bar
    rows = max(len(labels), 1)
    height = 1.4 + 0.36 * rows if spec["kind"] != "bar" else 3.4
    figure = Figure(figsize=(5.6, min(max(height, 2.4), 7.5)), dpi=110)
    figure.set_layout_engine("constrained")
    axes = figure.add_subplot()
    axes.set_title(spec["title"], loc="left", fontsize=13, fontfamily="DejaVu Sans")
    axes.tick_params(labelsize=11)
    thousands = FuncFormatter(count_label)
    top = max([1, *values])  # counts start at 0; an empty series still has a 0-1 axis
    if not labels:
        axes.text(0.5, 0.5, spec["empty"], ha="center", va="center", fontsize=12)
        axes.set_axis_off()
    elif spec["kind"] == "bar":
        axes.bar(range(len(values)), values, color=ACCENT)
        step = max(1, len(labels) // 12)
        axes.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")
        axes.yaxis.set_major_formatter(thousands)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, top * 1.05)
    elif spec["kind"] == "barh":
        rows_at = list(range(len(values)))
        axes.barh(rows_at, values, color=ACCENT)
        axes.set_yticks(rows_at, labels)
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(thousands)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, top * 1.05)
    else:
        positions = [float(i) for i in range(len(values))]
        axes.barh([p - 0.2 for p in positions], values, 0.4, color=ACCENT, label="Participantes")
        axes.barh([p + 0.2 for p in positions], spec["reference"], 0.4, color=CENSUS, label="Censo")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel("Porcentaje")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
