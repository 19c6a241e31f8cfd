"""Mi constancia: needs at least one proposal; asks the full name, then issues the certificate.

``issue_certificate`` calls the certificates service and renders the PDF.
"""

from __future__ import annotations

from concurrent.futures import Executor
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.certificates.document import certificate_document
from pmd_domain.consultation import Consultation
from pmd_domain.conversation.choices import MenuChoice
from pmd_domain.conversation.types import Document, Reply
from pmd_domain.conversation.ui import Ctx, Replies, attempt, draw, rows, screen, show
from pmd_domain.db.models import Certificate, Participant
from pmd_domain.errors import DomainError, TextTooLong
from pmd_domain.i18n import Catalogs
from pmd_domain.links import Links
from pmd_domain.services import certificates, proposals
from pmd_domain.services.texts import require_name
from pmd_domain.statuses import ProposalStatus

STATE = "cert_name"


class NameChoice(StrEnum):
    """The buttons of the question for the certificate's name."""

    AGAIN = "r"  # download again under the name already used
    CANCEL = "q"


async def issue_certificate(
    session: AsyncSession,
    *,
    consultation: Consultation,
    catalogs: Catalogs,
    links: Links,
    participant: Participant,
    name: str,
    language: str,
    now: datetime,
    executor: Executor | None = None,
) -> Document:
    """Issue (or re-issue) the participant's certificate and render its PDF.

    Its DomainErrors (no participation, revoked, invalid name) reach the citizen as
    their catalogue text. The PDF renders in ``executor`` (a worker process in the
    service), so the event loop is never blocked.
    """
    record = await certificates.issue(
        session, consultation=consultation, participant=participant, name=name, now=now
    )
    return await certificate_document(
        consultation=consultation,
        certificate=record,
        links=links,
        catalogs=catalogs,
        language=language,
        executor=executor,
    )


async def _eligible(ctx: Ctx) -> bool:
    assert ctx.participant is not None
    records = await proposals.of_participant(ctx.session, participant_id=ctx.participant.id)
    return any(r.status != ProposalStatus.REJECTED for r in records)


async def _issued_name(ctx: Ctx) -> str | None:
    assert ctx.participant is not None
    return await ctx.session.scalar(
        select(Certificate.name).where(Certificate.participant_id == ctx.participant.id)
    )


async def begin(ctx: Ctx) -> Replies:
    """Ask for the name, or explain that a certificate needs a proposal first."""
    if not await _eligible(ctx):
        ctx.go("menu")  # the buttons are the menu's
        buttons = [
            ctx.button(ctx.t("menu.propose"), MenuChoice.PROPOSE),
            ctx.button(ctx.t("common.menu"), MenuChoice.MENU),
        ]
        return [Reply(text=ctx.t("cert.needs_proposal"), buttons=rows(buttons, per_row=2))]
    return await show(ctx, STATE)


async def prompt(ctx: Ctx) -> Replies:
    """Escribe tu nombre completo ... (or download again under the name already used)."""
    issued = await _issued_name(ctx)
    buttons = []
    text = ctx.t("cert.ask_name")
    if issued:
        text = ctx.t("cert.issued_as", name=issued) + "\n\n" + text
        buttons.append(ctx.button(ctx.t("cert.again"), NameChoice.AGAIN))
    buttons.append(ctx.button(ctx.t("common.cancel"), NameChoice.CANCEL))
    return [Reply(text=text, buttons=rows(buttons, per_row=2))]


async def on_button(ctx: Ctx, action: str, args: list[str]) -> Replies | None:
    """Download again under the same name, or cancel."""
    if action == NameChoice.AGAIN:
        issued = await _issued_name(ctx)
        return await _issue(ctx, issued) if issued else await draw(ctx)
    if action == NameChoice.CANCEL:
        return await show(ctx, "menu")
    return None


async def on_text(ctx: Ctx, raw: str) -> Replies | None:
    """Validate the name and issue the certificate."""
    try:
        name = require_name(raw, max_chars=ctx.consultation.limits.name_max_chars)
    except TextTooLong as too_long:
        return await draw(ctx, before=ctx.error(too_long))
    except DomainError:
        return await draw(ctx, before=ctx.t("cert.bad_name"))
    return await _issue(ctx, name)


async def _issue(ctx: Ctx, name: str) -> Replies:
    person = ctx.participant
    assert person is not None
    document, failure = await attempt(
        ctx,
        lambda: issue_certificate(
            ctx.session,
            consultation=ctx.consultation,
            catalogs=ctx.catalogs,
            links=ctx.links,
            participant=person,
            name=name,
            language=ctx.lang,
            now=ctx.now,
            executor=ctx.executor,
        ),
    )
    if failure is not None or document is None:
        return await show(ctx, "menu", before=ctx.error(failure) if failure else None)
    sent = Reply(text=ctx.t("cert.sent", name=name), document=document)
    return [sent, *await show(ctx, "menu")]


screen(STATE, prompt, button=on_button, text=on_text)
