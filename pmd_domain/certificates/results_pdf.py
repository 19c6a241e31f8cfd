"""The printable results report for the cabildo (``/resultados.pdf``).

Blocking (reportlab); the web side runs it in the certificates' worker pool
(``CertificateRenderer.executor``). It reads only its arguments, all plain data
(the results of ``services/results.compute`` and the texts already in the reader's
language), so a worker process receives them pickled and needs no database.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from pmd_domain.certificates.pdf import ACCENT, INK, MUTED, registered_fonts
from pmd_domain.services.results import KINDS


def render_results_pdf(results: dict[str, Any], texts: dict[str, str]) -> bytes:
    """The results as a Letter PDF: totals, then one table of strategic actions per pillar.

    ``texts`` holds ``title``, ``subtitle``, ``intro``, ``pillar_answered``, ``action``,
    ``aligned``, ``generated``, ``authority`` and one label per outcome kind.
    """
    regular, bold, _ = registered_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5, textColor=INK)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=MUTED)
    head = ParagraphStyle("head", parent=body, fontName=bold, fontSize=16, leading=20)
    sub = ParagraphStyle("sub", parent=body, fontName=bold, fontSize=11.5, leading=15)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5)
    cell_bold = ParagraphStyle("cellb", parent=cell, fontName=bold)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(_escape(text), style)

    story: list[Any] = [
        p(texts["title"], head),
        p(texts["subtitle"], sub),
        Spacer(1, 3 * mm),
        p(texts["intro"]),
        Spacer(1, 4 * mm),
    ]
    kinds = list(KINDS)
    for pillar in results["pillars"]:
        story.append(p(f"{pillar['number']}. {pillar['name']}", sub))
        story.append(p(texts["pillar_answered"].format(count=pillar["answered"]), small))
        rows: list[list[Any]] = [
            [
                p(texts["action"], cell_bold),
                p(texts["aligned"], cell_bold),
                *(p(texts[k], cell_bold) for k in kinds),
            ]
        ]
        for action in pillar["actions"]:
            rows.append(
                [
                    p(f"{action['key']} {action['name']}", cell),
                    str(action["aligned"]),
                    *(str(action["outcomes"][k]) for k in kinds),
                ]
            )
        table = Table(rows, colWidths=[78 * mm, 20 * mm, *(20 * mm for _ in kinds)], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), regular, 8.5),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                ]
            )
        )
        story += [Spacer(1, 2 * mm), table, Spacer(1, 5 * mm)]
    story.append(p(texts["generated"], small))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=texts["title"],
        author=texts["authority"],
        subject=texts["subtitle"],
    )
    document.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
