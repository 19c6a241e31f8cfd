"""The public list and page of published proposals (``/propuestas``), never the author.

Search ignores accents and case on every database (``pmd_domain.search``: a stored
folded column matched with ``LIKE``; every word of the query must appear). Lists are newest first and paginated by keyset
(``id`` before or after a cursor), so a page costs the same on page 1 and page
10,000; the filters (pillar, topic, outcome) each have an index that ends in ``id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.clock import as_aware
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Proposal, ProposalAction
from pmd_domain.errors import NotFound
from pmd_domain.search import contains_pattern, search_key
from pmd_domain.services import ranking
from pmd_domain.services.proposals import OUTCOMES
from pmd_domain.statuses import ProposalStatus

PER_PAGE = 20
QUERY_MAX_CHARS = 100
NO_OUTCOME = "sin_resultado"
_FOLIO = re.compile(r"^[A-Z0-9]{2,10}-([0-9]{1,12})$")


def folio_id(folio: str) -> int | None:
    """The id inside a well-formed folio (``PMD23-000123`` is 123), else None."""
    match = _FOLIO.match(folio.strip().upper())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Query:
    """What a visitor asked for; anything unknown is ignored rather than refused."""

    text: str = ""
    pillar: str = ""
    topic: str = ""  # a topic key of ``pillar``
    outcome: str = ""  # an outcome key, NO_OUTCOME, or empty
    before: int | None = None  # proposals older than this id (the next page)
    after: int | None = None  # proposals newer than this id (the previous page)

    @classmethod
    def parse(cls, consultation: Consultation, params: dict[str, str]) -> Query:
        """A query from URL parameters ``q, eje, tema, resultado, antes, despues``."""
        pillar = params.get("eje", "").strip()
        topic = params.get("tema", "").strip()
        of, _, key = topic.partition(".")
        if key and pillar in ("", of):  # "pillar.topic", as the list's topic menu sends it
            pillar, topic = of, key
        spec = consultation.pillar(pillar)
        outcome = params.get("resultado", "").strip()
        return cls(
            text=" ".join(params.get("q", "").split())[:QUERY_MAX_CHARS],
            pillar=pillar if spec else "",
            topic=topic if spec and spec.topic(topic) else "",
            outcome=outcome if outcome in (*OUTCOMES, NO_OUTCOME) else "",
            before=folio_id(params.get("antes", "")),
            after=None if params.get("antes") else folio_id(params.get("despues", "")),
        )

    def params(self) -> dict[str, str]:
        """The filters as URL parameters (no cursor), empty ones left out."""
        topic = f"{self.pillar}.{self.topic}" if self.topic else ""
        given = {"q": self.text, "eje": self.pillar, "tema": topic, "resultado": self.outcome}
        return {key: value for key, value in given.items() if value}

    @property
    def filtered(self) -> bool:
        """Whether any filter or search is set."""
        return bool(self.params())


@dataclass(frozen=True)
class Item:
    """One proposal of the list."""

    folio: str
    pillar: str
    topic: str
    problem: str
    proposal: str
    supports: int
    outcome: str | None
    submitted_at: datetime


@dataclass(frozen=True)
class Page:
    """A page of the list and the cursors to its neighbours (None: there is none)."""

    items: list[Item]
    older: str | None  # folio to pass as ``antes``
    newer: str | None  # folio to pass as ``despues``


def _where(query: Query) -> list[Any]:
    clauses: list[Any] = [Proposal.status == ProposalStatus.PUBLISHED]
    if query.pillar:
        clauses.append(Proposal.pillar == query.pillar)
        if query.topic:
            clauses.append(Proposal.topic == query.topic)
    if query.outcome == NO_OUTCOME:
        clauses.append(Proposal.outcome.is_(None))
    elif query.outcome:
        clauses.append(Proposal.outcome == query.outcome)
    for word in search_key(query.text).split(" "):
        if word:
            clauses.append(Proposal.search_text.like(contains_pattern(word), escape="\\"))
    return clauses


_LIST_COLUMNS = (
    Proposal.id,
    Proposal.folio,
    Proposal.pillar,
    Proposal.topic,
    Proposal.problem,
    Proposal.proposal,
    Proposal.supports,
    Proposal.outcome,
    Proposal.submitted_at,
)


def list_statement(query: Query, *, per_page: int = PER_PAGE) -> Any:
    """The statement of one page (one row more than ``per_page``: whether there are more)."""
    clauses = _where(query)
    if query.before is not None:
        clauses.append(Proposal.id < query.before)
    elif query.after is not None:
        clauses.append(Proposal.id > query.after)
    order = Proposal.id.asc() if _backwards(query) else Proposal.id.desc()
    return select(*_LIST_COLUMNS).where(*clauses).order_by(order).limit(per_page + 1)


def _backwards(query: Query) -> bool:
    return query.after is not None and query.before is None


async def page(session: AsyncSession, *, query: Query, per_page: int = PER_PAGE) -> Page:
    """One page of published proposals matching ``query``, newest first."""
    rows = list((await session.execute(list_statement(query, per_page=per_page))).all())
    backwards = _backwards(query)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    items = [
        Item(
            folio=row.folio or "",
            pillar=row.pillar,
            topic=row.topic,
            problem=row.problem,
            proposal=row.proposal,
            supports=int(row.supports),
            outcome=row.outcome,
            submitted_at=as_aware(row.submitted_at),
        )
        for row in rows
    ]
    if not items:
        return Page(items=[], older=None, newer=None)
    has_older = True if backwards else more
    has_newer = more if backwards else query.before is not None
    return Page(
        items=items,
        older=items[-1].folio if has_older else None,
        newer=items[0].folio if has_newer else None,
    )


@dataclass(frozen=True)
class Detail:
    """A published proposal as the public sees it: texts, supports, the office's answer."""

    folio: str
    pillar: str
    topic: str
    problem: str
    proposal: str
    vision: str | None
    supports: int  # those that count
    by_level: dict[str, int]  # every support by level, and those discounted
    under_review: bool
    outcome: str | None
    outcome_note: str | None
    actions: list[str]  # keys of the aligned strategic actions
    views: int
    submitted_at: datetime
    published_at: datetime | None
    answered_at: datetime | None


async def detail(session: AsyncSession, *, folio: str) -> Detail:
    """The public view of the published proposal ``folio``; NotFound for any other."""
    record = await session.scalar(
        select(Proposal).where(
            Proposal.folio == folio.strip().upper(), Proposal.status == ProposalStatus.PUBLISHED
        )
    )
    if record is None:
        raise NotFound("proposal")
    actions = await session.scalars(
        select(ProposalAction.action)
        .where(ProposalAction.proposal_id == record.id)
        .order_by(ProposalAction.action)
    )
    outcome_at = as_aware(record.outcome_at) if record.outcome and record.outcome_at else None
    return Detail(
        folio=record.folio or "",
        pillar=record.pillar,
        topic=record.topic,
        problem=record.problem,
        proposal=record.proposal,
        vision=record.vision,
        supports=int(record.supports),
        by_level={
            level: int(getattr(record, f"supports_{level}") or 0)
            for _, level in ranking.FILE_COLUMNS
        },
        under_review=record.review_since is not None,
        outcome=record.outcome,
        outcome_note=record.outcome_note if record.outcome else None,
        actions=list(actions),
        views=int(record.views),
        submitted_at=as_aware(record.submitted_at),
        published_at=as_aware(record.published_at) if record.published_at else None,
        answered_at=outcome_at,
    )


async def published_folios(session: AsyncSession, *, participant_id: int) -> list[str]:
    """The folios of a participant's published proposals, oldest first."""
    rows = await session.scalars(
        select(Proposal.folio)
        .where(
            Proposal.participant_id == participant_id, Proposal.status == ProposalStatus.PUBLISHED
        )
        .order_by(Proposal.id)
    )
    return [folio for folio in rows if folio]
