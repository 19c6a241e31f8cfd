"""The printable certificate: one page, the right texts, a QR code that decodes to the URL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pypdfium2
import pytest
import zxingcpp

from pmd_domain.certificates.document import certificate_document
from pmd_domain.certificates.pdf import render_certificate, render_certificate_async
from pmd_domain.certificates.renderer import CertificateRenderer
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Certificate
from pmd_domain.i18n import Catalogs

URL = "https://participa.example.mx/constancias/Zx9_-abcdefghijklmnopqrstuvwxyz01"


def _certificate(consultation: Consultation) -> Certificate:
    seguridad = consultation.pillar("seguridad")
    assert seguridad is not None
    return Certificate(
        id=45,
        participant_id=1,
        folio="C23-000045",
        token="Zx9_-abcdefghijklmnopqrstuvwxyz01",
        name="María José Hernández-López",
        topics=[["servicios", "agua"], ["seguridad", seguridad.topics[0].key]],
        # 03:00 UTC on the 24th is still the 23rd in Mexico City.
        issued_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
    )


def test_the_pdf_has_one_letter_page_with_the_texts_and_a_readable_qr(
    consultation: Consultation,
) -> None:
    certificate = _certificate(consultation)
    data = render_certificate(consultation=consultation, certificate=certificate, verify_url=URL)
    assert data.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(data)
    assert len(document) == 1
    page = document[0]
    assert page.get_size() == (612, 792)
    text = " ".join(page.get_textpage().get_text_range().split())
    assert consultation.exercise.authority in text
    assert "CONSTANCIA DE PARTICIPACIÓN" in text
    assert "Otorga la presente constancia a María José Hernández-López" in text
    assert "C23-000045" in text
    assert "23 de noviembre de 2026" in text
    assert "Agua potable y drenaje" in text
    assert consultation.certificate.signer_name in text
    for size in (72, 150):
        image = page.render(scale=size / 72).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]
    # The QR symbol itself (without its quiet zone) is at least 40 mm wide (72 dpi: 1 px = 1 pt).
    found = zxingcpp.read_barcodes(page.render(scale=1).to_pil())[0].position
    assert (found.top_right.x - found.top_left.x) / 72 * 25.4 >= 40


def test_english_wording(consultation: Consultation) -> None:
    data = render_certificate(
        consultation=consultation,
        certificate=_certificate(consultation),
        verify_url=URL,
        language="en",
    )
    text = " ".join(pypdfium2.PdfDocument(data)[0].get_textpage().get_text_range().split())
    assert "CERTIFICATE OF PARTICIPATION" in text
    assert "November 23, 2026" in text


async def test_rendering_off_the_event_loop(consultation: Consultation) -> None:
    certificate = _certificate(consultation)
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    tick = asyncio.create_task(ticker())
    pdfs = await asyncio.gather(
        *(
            render_certificate_async(
                consultation=consultation, certificate=certificate, verify_url=URL
            )
            for _ in range(4)
        )
    )
    stop.set()
    await tick
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
    assert lags  # the loop kept ticking while the PDFs were built


async def test_the_renderer_uses_a_worker_process(consultation: Consultation) -> None:
    with CertificateRenderer(processes=1) as renderer:
        first, second = await asyncio.gather(
            renderer.render(
                consultation=consultation, certificate=_certificate(consultation), verify_url=URL
            ),
            renderer.render(
                consultation=consultation,
                certificate=_certificate(consultation),
                verify_url=URL + "x",
                language="en",
            ),
        )
    for pdf, url in ((first, URL), (second, URL + "x")):
        image = pypdfium2.PdfDocument(pdf)[0].render(scale=150 / 72).to_pil()
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]


class FixedLinks:
    """Public links under one base URL (the web side builds them from its routes)."""

    def certificate(self, token: str) -> str:
        return f"https://participa.example.mx/constancias/{token}"

    def privacy(self) -> str:
        return "https://participa.example.mx/privacidad"

    def dashboard(self) -> str:
        return "https://participa.example.mx/"


async def test_the_chat_document_carries_the_pdf_name_and_caption(
    consultation: Consultation,
) -> None:
    certificate = _certificate(consultation)
    document = await certificate_document(
        consultation=consultation,
        certificate=certificate,
        links=FixedLinks(),
        catalogs=Catalogs.load(),
    )
    assert document.filename == "constancia-C23-000045.pdf"
    assert document.mime == "application/pdf"
    assert "C23-000045" in document.caption and "QR" in document.caption
    image = pypdfium2.PdfDocument(document.content)[0].render(scale=150 / 72).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [
        f"https://participa.example.mx/constancias/{certificate.token}"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://a.mx/constancias/Zx9_-abcdefghijklmnopqrstuvwxyz01",
        "https://participa.municipio-de-ejemplo.gob.mx/consulta-2026/constancias/"
        "Zx9_-abcdefghijklmnopqrstuvwxyz01",
    ],
)
def test_the_qr_symbol_is_at_least_40_mm_for_short_and_long_urls(
    consultation: Consultation, url: str
) -> None:
    data = render_certificate(
        consultation=consultation, certificate=_certificate(consultation), verify_url=url
    )
    found = zxingcpp.read_barcodes(pypdfium2.PdfDocument(data)[0].render(scale=1).to_pil())
    assert [code.text for code in found] == [url]
    corners = found[0].position
    assert (corners.top_right.x - corners.top_left.x) / 72 * 25.4 >= 40


def test_a_long_name_and_many_topics_still_fit_on_the_page(consultation: Consultation) -> None:
    every_topic = [[p.key, t.key] for p in consultation.pillars for t in p.topics]
    certificate = _certificate(consultation)
    certificate.name = "María de los Ángeles Guadalupe Hernández-López de la Santísima " + (
        "Trinidad O'Connor Villaseñor y Castañeda Ruiz"
    )
    certificate.topics = every_topic[:10]
    page = pypdfium2.PdfDocument(
        render_certificate(consultation=consultation, certificate=certificate, verify_url=URL)
    )[0]
    text = page.get_textpage()
    upper = " ".join(text.get_text_bounded(bottom=270).split())  # above the QR block
    lower = " ".join(text.get_text_bounded(top=265).split())  # the QR block and below
    for pillar_key, topic_key in every_topic[:10]:
        pillar = consultation.pillar(pillar_key)
        assert pillar is not None
        topic = pillar.topic(topic_key)
        assert topic is not None
        assert consultation.text(topic.name, "es") in upper
        assert consultation.text(topic.name, "es") not in lower
    assert "Castañeda Ruiz" in upper
    assert "C23-000045" in lower and "Folio" not in upper
    image = page.render(scale=150 / 72).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]


async def test_many_certificates_rendered_at_once_in_threads_all_come_out() -> None:
    """reportlab's font subsetting is shared in a process: threads must not interleave it."""
    import asyncio

    from pmd_domain.certificates.pdf import render_certificate_async
    from tests.factories import open_consultation, sample_certificate

    consultation = open_consultation()
    names = [f"Persona {n} Ñandú Íñiguez" for n in range(64)]
    pdfs = await asyncio.gather(
        *(
            render_certificate_async(
                consultation=consultation,
                certificate=sample_certificate(name=name),
                verify_url="https://x.example/constancias/abc",
            )
            for name in names
        )
    )
    assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
