"""The office's coat of arms: read with the consultation file, on every page and the certificate."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from pmd_domain.certificates.pdf import render_certificate_async
from pmd_domain.consultation import Consultation
from pmd_domain.consultation.demo_exercise import demo_exercise_text
from pmd_domain.consultation.loader import ConsultationError, load_consultation
from pmd_domain.settings import Settings
from tests.factories import sample_certificate
from web.app import create_app


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 72), (120, 30, 40)).save(out, format="PNG")
    return out.getvalue()


def _file_with_arms(folder: Path, name: str) -> Path:
    text = demo_exercise_text(date.today()).replace('coat_of_arms = ""', f'coat_of_arms = "{name}"')
    path = folder / "consulta.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _images(pdf: bytes) -> int:
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    found = len(list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])))
    page.close()
    document.close()
    return found


async def _certificate(consultation: Consultation) -> bytes:
    record = sample_certificate()
    return await render_certificate_async(
        consultation=consultation, certificate=record, verify_url="https://x.example/c/t"
    )


async def test_the_coat_of_arms_is_in_the_footer_and_on_the_certificate(
    tmp_path: Path, settings: Settings
) -> None:
    image = _png()
    (tmp_path / "escudo.png").write_bytes(image)
    consultation = load_consultation(_file_with_arms(tmp_path, "escudo.png"))
    assert consultation.coat_of_arms == image
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        for path in ("/", "/privacidad", "/participa"):
            assert 'src="/escudo"' in await (await client.get(path)).text(), path
        served = await client.get("/escudo")
        assert served.status == 200 and served.content_type == "image/png"
        assert await served.read() == image
    with_arms = await _certificate(consultation)
    without = await _certificate(load_consultation(_file_with_arms(tmp_path, "")))
    # the QR code alone, then the QR code and the coat of arms
    assert (_images(without), _images(with_arms)) == (1, 2)


async def test_without_a_coat_of_arms_the_pages_show_the_placeholder(
    tmp_path: Path, settings: Settings
) -> None:
    consultation = load_consultation(_file_with_arms(tmp_path, ""))
    app = create_app(settings, consultation=consultation)
    async with TestClient(TestServer(app)) as client:
        assert "escudo.svg" in await (await client.get("/")).text()
        assert (await client.get("/escudo")).status == 404


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "no se puede leer el escudo"), (b"<svg></svg>", "PNG o JPEG")],
)
def test_a_coat_of_arms_that_cannot_be_used_is_told_at_load(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    if content is not None:
        (tmp_path / "escudo.png").write_bytes(content)
    with pytest.raises(ConsultationError) as error:
        load_consultation(_file_with_arms(tmp_path, "escudo.png"))
    assert says in str(error.value) and "office.coat_of_arms" in str(error.value)
