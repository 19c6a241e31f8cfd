"""The certificate as a chat document: what the "Mi constancia" step sends."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import TYPE_CHECKING

from pmd_domain.certificates.pdf import render_certificate_async
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Certificate
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links

if TYPE_CHECKING:
    from pmd_domain.conversation.types import Document


async def certificate_document(
    *,
    consultation: Consultation,
    certificate: Certificate,
    links: Links,
    catalogs: Catalogs,
    language: str = "es",
    executor: Executor | None = None,
) -> Document:
    """The PDF of an issued certificate, with its file name and caption, ready to send.

    Call it after ``services.certificates.issue`` (ideally once that transaction has
    committed, so the database is not held while the PDF renders); pass the
    application's ``CertificateRenderer.executor`` to keep the event loop free.
    """
    folio = certificate.folio or ""
    content = await render_certificate_async(
        consultation=consultation,
        certificate=certificate,
        verify_url=links.certificate(certificate.token),
        language=language,
        executor=executor,
    )
    # imported here: the conversation package imports this module (its certificate step)
    from pmd_domain.conversation.types import Document

    return Document(
        filename=catalogs.text(language, "certificate.filename", folio=folio),
        content=content,
        mime="application/pdf",
        caption=catalogs.text(language, "certificate.ready", folio=folio),
    )
