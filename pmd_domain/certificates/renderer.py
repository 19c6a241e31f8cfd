"""A small pool of worker processes that renders certificates away from the event loop.

Threads share the GIL with the event loop: with several PDFs rendering at once the
loop can wait tens of milliseconds for it. A worker process never delays the loop;
the loop only pickles the arguments (~1 ms) and receives the bytes.

The application owns one ``CertificateRenderer`` (created in a lifecycle hook and
closed in the matching one) and passes ``renderer.executor`` to
``render_certificate_async``, or calls ``renderer.render(...)``.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

from pmd_domain.certificates.pdf import render_certificate_async, warm_up
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Certificate


class CertificateRenderer:
    """Renders certificate PDFs in ``processes`` worker processes (0: one worker thread)."""

    def __init__(self, *, processes: int = 1):
        self.executor: Executor
        if processes > 0:
            # "spawn": a fresh interpreter, safe even when the parent already runs threads.
            self.executor = ProcessPoolExecutor(
                processes, mp_context=multiprocessing.get_context("spawn"), initializer=warm_up
            )
        else:
            self.executor = ThreadPoolExecutor(1, thread_name_prefix="pmd-certificate")

    async def render(
        self,
        *,
        consultation: Consultation,
        certificate: Certificate,
        verify_url: str,
        language: str = "es",
    ) -> bytes:
        """The certificate's PDF, rendered by a worker."""
        return await render_certificate_async(
            consultation=consultation,
            certificate=certificate,
            verify_url=verify_url,
            language=language,
            executor=self.executor,
        )

    def close(self) -> None:
        """Stop the workers (pending renders are cancelled)."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> CertificateRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
