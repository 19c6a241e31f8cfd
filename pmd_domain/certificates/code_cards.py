"""A printable sheet of verification code cards (``pmd codes issue --output FILE.pdf``).

Ten cards per Letter page (two columns of five, dashed lines to cut along), each with
the municipality, one code in large letters, where to type it and when it expires.
The codes appear only here: the database keeps their keyed hashes. Blocking
(reportlab); the command line calls it directly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from pmd_domain.certificates.pdf import ACCENT, INK, MUTED, registered_fonts
from pmd_domain.consultation import Consultation
from pmd_domain.i18n import Catalogs, long_date

COLUMNS, ROWS = 2, 5
MARGIN = 12 * mm
CODE_FONT = "Courier-Bold"  # fixed width: every character distinct and easy to copy


def render_code_cards(
    codes: Sequence[str],
    *,
    consultation: Consultation,
    expires: datetime,
    chat_url: str,
    catalogs: Catalogs,
    language: str = "es",
) -> bytes:
    """The PDF of ``codes`` (already shown as ``XXXX-XXXX``), ten cards per page."""
    regular, bold, _ = registered_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER, invariant=True)
    canvas.setTitle(catalogs.text(language, "cards.title"))
    width, height = LETTER
    card_w = (width - 2 * MARGIN) / COLUMNS
    card_h = (height - 2 * MARGIN) / ROWS
    until = long_date(expires, zone=consultation.exercise.timezone, language=language)
    per_page = COLUMNS * ROWS
    for start in range(0, len(codes), per_page):
        for index, code in enumerate(codes[start : start + per_page]):
            column, row = index % COLUMNS, index // COLUMNS
            x = MARGIN + column * card_w
            y = height - MARGIN - (row + 1) * card_h
            canvas.setDash(3, 3)
            canvas.setStrokeColor(MUTED)
            canvas.rect(x, y, card_w, card_h)
            canvas.setDash()
            left, top = x + 6 * mm, y + card_h - 8 * mm
            canvas.setFillColor(ACCENT)
            canvas.setFont(bold, 10)
            canvas.drawString(left, top, consultation.exercise.municipality)
            canvas.setFillColor(INK)
            canvas.setFont(regular, 9)
            canvas.drawString(left, top - 5 * mm, catalogs.text(language, "cards.heading"))
            canvas.setFont(CODE_FONT, 24)
            canvas.drawString(left, top - 17 * mm, code)
            canvas.setFont(regular, 8)
            canvas.drawString(
                left, top - 24 * mm, catalogs.text(language, "cards.where", url=chat_url)
            )
            canvas.drawString(left, top - 28 * mm, catalogs.text(language, "cards.how"))
            canvas.setFillColor(MUTED)
            canvas.drawString(
                left, top - 33 * mm, catalogs.text(language, "cards.expires", date=until)
            )
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
