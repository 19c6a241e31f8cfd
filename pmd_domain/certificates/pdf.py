"""The printable certificate: one Letter page with the verification QR code.

``render_certificate`` is blocking (reportlab + qrcode, ~15-30 ms); async callers use
``render_certificate_async``, which runs it in a worker process (see
``pmd_domain.certificates.renderer``) or a thread, so the event loop keeps serving
other chats.
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
from concurrent.futures import Executor
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import qrcode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from pmd_domain.clock import as_aware
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Certificate
from pmd_domain.i18n import Catalogs, long_date
from pmd_domain.services.certificates import short_code, topic_names

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
QR_SYMBOL = 42 * mm  # the code itself, without its quiet zone (scanners need >= ~40 mm on paper)
QR_BORDER = 4  # modules of quiet zone on each side
ACCENT = colors.HexColor("#7a1f3d")
INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#4a4a4a")


_FONT_LOCK = threading.Lock()


def _fonts() -> tuple[str, str, str]:
    """(regular, bold, serif-bold) font names: DejaVu when installed, else the PDF base fonts."""
    # Several worker threads may render the first certificates at once: register once.
    with _FONT_LOCK:
        return _register_fonts()


@lru_cache(maxsize=1)
def _register_fonts() -> tuple[str, str, str]:
    files = {
        "PMD-Sans": "DejaVuSans.ttf",
        "PMD-Sans-Bold": "DejaVuSans-Bold.ttf",
        "PMD-Serif-Bold": "DejaVuSerif-Bold.ttf",
    }
    if all((DEJAVU / name).is_file() for name in files.values()):
        for font, name in files.items():
            pdfmetrics.registerFont(TTFont(font, str(DEJAVU / name)))
        # So that <b> inside a paragraph picks the bold face.
        registerFontFamily(
            "PMD-Sans",
            normal="PMD-Sans",
            bold="PMD-Sans-Bold",
            italic="PMD-Sans",
            boldItalic="PMD-Sans-Bold",
        )
        return ("PMD-Sans", "PMD-Sans-Bold", "PMD-Serif-Bold")
    return ("Helvetica", "Helvetica-Bold", "Times-Bold")


def registered_fonts() -> tuple[str, str, str]:
    """The fonts of every printed document: (regular, bold, serif-bold)."""
    return _fonts()


def _packaged_catalogs() -> Catalogs:
    with _FONT_LOCK:
        return _load_catalogs()


@lru_cache(maxsize=1)
def _load_catalogs() -> Catalogs:
    return Catalogs.load()


def warm_up() -> None:
    """Register the fonts and load the texts once (a worker process's initializer)."""
    _fonts()
    _packaged_catalogs()


def _qr_image(url: str) -> tuple[ImageReader, float]:
    """The QR code of ``url`` and the size to draw it so the symbol is ``QR_SYMBOL`` wide."""
    made = qrcode.make(url, box_size=10, border=QR_BORDER)
    modules = made.pixel_size // 10 - 2 * QR_BORDER
    return ImageReader(made.get_image()), QR_SYMBOL * (modules + 2 * QR_BORDER) / modules


# reportlab keeps the embedded fonts' subsets in the process-wide font objects: two
# threads drawing at once can interleave them (a KeyError in the subsetter). In a
# worker process there is one thread and the lock costs nothing.
_DRAWING = threading.Lock()


def render_certificate(
    *,
    consultation: Consultation,
    certificate: Certificate,
    verify_url: str,
    language: str = "es",
    catalogs: Catalogs | None = None,
) -> bytes:
    """The certificate as a one-page PDF (blocking; pure: reads only its arguments)."""
    with _DRAWING:
        return _render(consultation, certificate, verify_url, language, catalogs)


def _render(
    consultation: Consultation,
    certificate: Certificate,
    verify_url: str,
    language: str,
    catalogs: Catalogs | None,
) -> bytes:
    texts = catalogs or _packaged_catalogs()
    regular, bold, serif = _fonts()
    exercise = consultation.exercise
    wording = consultation.certificate
    width, height = LETTER
    margin = 22 * mm
    inner = width - 2 * margin
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=LETTER, pageCompression=1)
    title = consultation.text(wording.title, language)
    pdf.setTitle(f"{title} {certificate.folio}")
    pdf.setAuthor(exercise.authority)
    pdf.setSubject(consultation.text(exercise.title, language))

    # Frame: a double rule, as on printed official documents.
    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(2.2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setLineWidth(0.6)
    pdf.rect(14.5 * mm, 14.5 * mm, width - 29 * mm, height - 29 * mm)

    def para(
        text: str, y: float, style: ParagraphStyle, box: float = inner, x: float = margin
    ) -> float:
        block = Paragraph(text, style)
        _, used = block.wrap(box, height)
        block.drawOn(pdf, x, y - used)
        return y - used

    qr_image, qr_size = _qr_image(verify_url)
    qr_y = 52 * mm  # room below for the address, the folio and code, the office
    center = ParagraphStyle("c", fontName=regular, fontSize=12, leading=16, alignment=TA_CENTER)
    y = height - 30 * mm
    if consultation.coat_of_arms is not None:
        # The office's coat of arms above its name, at most 18 mm high and 40 mm wide.
        arms = ImageReader(io.BytesIO(consultation.coat_of_arms))
        pixels_w, pixels_h = arms.getSize()
        scale = min(18 * mm / pixels_h, 40 * mm / pixels_w)
        arms_w, arms_h = pixels_w * scale, pixels_h * scale
        top = height - 20 * mm
        pdf.drawImage(arms, (width - arms_w) / 2, top - arms_h, arms_w, arms_h, mask="auto")
        y = top - arms_h - 3 * mm
    y = para(
        escape(exercise.authority),
        y,
        ParagraphStyle(
            "auth", parent=center, fontName=bold, fontSize=15, leading=19, textColor=ACCENT
        ),
    )
    y = para(
        escape(exercise.municipality),
        y - 2 * mm,
        ParagraphStyle("m", parent=center, textColor=MUTED),
    )
    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(0.8)
    pdf.line(margin + inner / 4, y - 5 * mm, margin + 3 * inner / 4, y - 5 * mm)

    y = para(
        escape(title.upper()),
        y - 14 * mm,
        ParagraphStyle("t", parent=center, fontName=serif, fontSize=24, leading=30, textColor=INK),
    )
    y = para(escape(consultation.text(wording.grants, language)), y - 10 * mm, center)
    name_size = 22 if len(certificate.name or "") <= 45 else 17
    y = para(
        escape(certificate.name or ""),
        y - 5 * mm,
        ParagraphStyle(
            "n",
            parent=center,
            fontName=bold,
            fontSize=name_size,
            leading=name_size * 1.25,
            textColor=INK,
        ),
    )
    pdf.setStrokeColor(MUTED)
    pdf.setLineWidth(0.5)
    pdf.line(margin + 15 * mm, y - 2 * mm, width - margin - 15 * mm, y - 2 * mm)
    y = para(escape(consultation.text(wording.reason, language)), y - 7 * mm, center)
    y = para(
        escape(consultation.text(exercise.title, language)),
        y - 2 * mm,
        ParagraphStyle("e", parent=center, fontName=bold, fontSize=13, leading=17),
    )

    # Pillars and topics, one line per pillar, in the largest size that fits above the
    # bottom block (a citizen may have proposals on many topics).
    y = para(
        escape(texts.text(language, "certificate.pdf.topics")),
        y - 8 * mm,
        ParagraphStyle(
            "th", parent=center, fontName=bold, fontSize=11, leading=14, textColor=MUTED
        ),
    )
    grouped: dict[str, list[str]] = {}
    for pillar_name, topic_name in topic_names(
        consultation, certificate.topics or [], language=language
    ):
        grouped.setdefault(pillar_name, []).append(topic_name)
    listing = "<br/>".join(
        f"<b>{escape(pillar)}:</b> {escape('; '.join(topics))}"
        for pillar, topics in grouped.items()
    )
    floor = qr_y + qr_size + 8 * mm
    for size in (10.5, 9.5, 8.5, 7.5, 6.5, 5.5):
        block = Paragraph(
            listing, ParagraphStyle("tl", parent=center, fontSize=size, leading=size * 1.3)
        )
        _, used = block.wrap(inner, height)
        if y - 1.5 * mm - used >= floor:
            break
    block.drawOn(pdf, margin, y - 1.5 * mm - used)

    # Bottom block: place and date, folio, signature on the left; QR on the right.
    zone = exercise.timezone
    issued = long_date(as_aware(certificate.issued_at), zone=zone, language=language)
    left = ParagraphStyle("l", fontName=regular, fontSize=11, leading=15, alignment=TA_LEFT)
    qr_x = width - margin - qr_size
    pdf.drawImage(qr_image, qr_x, qr_y, qr_size, qr_size)
    # Legible: 9 pt in ink, the token alone on its line (never broken inside it), and
    # the folio with the short code for whoever types instead of scanning.
    url_style = ParagraphStyle(
        "u", fontName=regular, fontSize=9, leading=11.5, alignment=TA_CENTER, textColor=INK
    )
    token_style = ParagraphStyle("ut", parent=url_style, fontName=bold, splitLongWords=False)
    head, token = _split_url(verify_url, certificate.token)
    # wide enough for the address's first part and the token, each on one line
    needed = max(stringWidth(head, regular, 9), stringWidth(token, bold, 9)) + 4 * mm
    url_box = min(max(qr_size + 20 * mm, needed), inner * 0.6)
    url_x = width - margin + 4 * mm - url_box
    uy = para(
        escape(texts.text(language, "certificate.pdf.verify")),
        qr_y - 1 * mm,
        url_style,
        box=url_box,
        x=url_x,
    )
    uy = para(escape(head), uy - 0.5 * mm, url_style, box=url_box, x=url_x)
    uy = para(escape(token), uy, token_style, box=url_box, x=url_x)
    code = texts.text(
        language,
        "certificate.pdf.code",
        folio=certificate.folio or "",
        code=short_code(certificate.token),
    )
    para(escape(code), uy - 1 * mm, url_style, box=url_box, x=url_x)

    column = inner - qr_size - 8 * mm
    place = texts.text(
        language, "certificate.pdf.place_date", place=exercise.municipality, date=issued
    )
    ly = para(escape(place), qr_y + qr_size, left, box=column)
    ly = para(
        escape(texts.text(language, "certificate.pdf.folio", folio=certificate.folio or "")),
        ly - 2 * mm,
        ParagraphStyle("f", parent=left, fontName=bold),
        box=column,
    )
    if wording.signer_name or wording.signer_title:
        sign_y = qr_y + 4 * mm
        pdf.setStrokeColor(INK)
        pdf.setLineWidth(0.7)
        pdf.line(margin, sign_y + 14 * mm, margin + min(column, 80 * mm), sign_y + 14 * mm)
        signer = ParagraphStyle("s", parent=left, fontSize=9.5, leading=12)
        box = min(column, 80 * mm)
        sy = para(
            escape(wording.signer_name),
            sign_y + 12 * mm,
            ParagraphStyle("sb", parent=signer, fontName=bold),
            box=box,
        )
        para(escape(wording.signer_title), sy, signer, box=box)

    # who is behind it: the office's contact, on the left below the signature
    office = consultation.office
    contact = "<br/>".join(
        escape(part) for part in (office.name, office.address, office.email, office.phone) if part
    )
    if contact:
        foot = ParagraphStyle("o", parent=left, fontSize=9, leading=11.5, textColor=INK)
        para(contact, qr_y - 2 * mm, foot, box=inner - url_box - 2 * mm)

    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _split_url(url: str, token: str) -> tuple[str, str]:
    """The address up to the token, and the token: printed on two lines."""
    if token and url.endswith(token):
        return url[: -len(token)], token
    return url, ""


def snapshot(certificate: Certificate) -> Certificate:
    """A detached copy with the fields the PDF uses: safe to hand to a thread or process."""
    return Certificate(
        id=certificate.id,
        participant_id=certificate.participant_id,
        folio=certificate.folio,
        token=certificate.token,
        name=certificate.name,
        topics=[list(pair) for pair in certificate.topics or []],
        issued_at=certificate.issued_at,
        updated_at=certificate.updated_at,
        revoked_at=certificate.revoked_at,
    )


async def render_certificate_async(
    *,
    consultation: Consultation,
    certificate: Certificate,
    verify_url: str,
    language: str = "es",
    executor: Executor | None = None,
) -> bytes:
    """``render_certificate`` off the event loop: in ``executor`` or a worker thread.

    Pass the application's ``CertificateRenderer.executor`` (a worker process) in
    production: threads share the GIL with the event loop, so many PDFs rendered at
    once in threads can still delay the loop; a process cannot.
    """
    job = functools.partial(
        render_certificate,
        consultation=consultation,
        certificate=snapshot(certificate),
        verify_url=verify_url,
        language=language,
    )
    if executor is None:
        return await asyncio.to_thread(job)
    return await asyncio.get_running_loop().run_in_executor(executor, job)
