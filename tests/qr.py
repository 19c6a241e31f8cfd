"""Read the QR codes of a PDF the way a phone would: render the page, decode the image."""

from __future__ import annotations

import pypdfium2
import zxingcpp


def qr_texts(pdf: bytes, *, dpi: int = 150) -> list[str]:
    """The texts of the QR codes found on the first page of ``pdf`` rendered at ``dpi``."""
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=dpi / 72).to_pil()
    return [code.text for code in zxingcpp.read_barcodes(image)]
