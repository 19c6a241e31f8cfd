"""The public list and page of proposals on SQLite and PostgreSQL: search, filters, paging."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.errors import NotFound
from pmd_domain.search import search_key
from pmd_domain.services import analysis, public_proposals
from pmd_domain.services.public_proposals import Query
from tests.factories import make_participant, make_proposal


def test_the_search_key_drops_accents_and_case() -> None:
    assert (
        search_key("  Iluminación  PÚBLICA\n en  la Peñita ") == "iluminacion publica en la penita"
    )
    assert search_key("ÁÉÍÓÚÜÑ", None, "ß") == "aeiouun ss"


async def _three(db: Database, consultation: Consultation) -> list[str]:
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        first = await make_proposal(
            session,
            consultation,
            author,
            problem="La iluminación pública no sirve en la Peñita.",
            proposal="Cambiar las lámparas por luminarias LED.",
        )
        second = await make_proposal(
            session,
            consultation,
            author,
            pillar="seguridad",
            topic="prevencion",
            problem="Los jóvenes no tienen espacios seguros.",
            proposal="Abrir canchas con vigilancia vecinal.",
        )
        hidden = await make_proposal(
            session,
            consultation,
            author,
            problem="Iluminación pendiente de moderar en la colonia.",
            proposal="Poner lámparas en la esquina.",
            publish=False,
        )
    return [str(first.folio), str(second.folio), str(hidden.folio)]


async def test_search_ignores_accents_and_case_and_finds_only_published(
    db: Database, consultation: Consultation
) -> None:
    first, second, hidden = await _three(db, consultation)
    async with db.reading() as session:
        for typed in ("ILUMINACION", "iluminación", "penita", "Peñita LED", first.lower()):
            found = await public_proposals.page(
                session, query=Query.parse(consultation, {"q": typed})
            )
            assert [i.folio for i in found.items] == [first], typed
        nothing = await public_proposals.page(
            session, query=Query.parse(consultation, {"q": "50%_\\"})
        )
        assert nothing.items == []
        everything = await public_proposals.page(session, query=Query())
    assert [i.folio for i in everything.items] == [second, first]  # newest first, no pending
    assert hidden not in {i.folio for i in everything.items}


async def test_filters_by_pillar_topic_and_outcome(
    db: Database, consultation: Consultation
) -> None:
    first, second, _ = await _three(db, consultation)
    async with db.transaction() as session:
        record = await public_proposals.detail(session, folio=first)
        assert record.outcome is None
        from pmd_domain.services import proposals

        stored = await proposals.by_folio(session, folio=first)
        await analysis.record_outcome(
            session, proposal_id=stored.id, outcome="incluida", now=utcnow()
        )

    async def folios(**params: str) -> list[str]:
        async with db.reading() as session:
            found = await public_proposals.page(session, query=Query.parse(consultation, params))
        return [i.folio for i in found.items]

    assert await folios(eje="seguridad") == [second]
    assert await folios(eje="servicios", tema="agua") == [first]
    assert await folios(eje="servicios", tema="prevencion") == [first]  # foreign topic ignored
    assert await folios(resultado="incluida") == [first]
    assert await folios(resultado="sin_resultado") == [second]
    assert await folios(resultado="considerada") == []
    assert await folios(eje="nada", resultado="<script>") == [second, first]  # unknown: ignored


async def test_keyset_pages_walk_forward_and_back(db: Database, consultation: Consultation) -> None:
    async with db.transaction() as session:
        made = []
        for n in range(7):
            author = await make_participant(session, consultation)
            record = await make_proposal(
                session, consultation, author, problem=f"Problema número {n} de la calle."
            )
            made.append(str(record.folio))
    newest_first = list(reversed(made))
    seen: list[str] = []
    query = Query()
    pages = []
    async with db.reading() as session:
        while True:
            found = await public_proposals.page(session, query=query, per_page=3)
            pages.append(found)
            seen += [i.folio for i in found.items]
            if found.older is None:
                break
            query = Query.parse(consultation, {"antes": found.older})
        assert seen == newest_first
        assert pages[0].newer is None and pages[1].newer == newest_first[3]
        back = await public_proposals.page(
            session, query=Query.parse(consultation, {"despues": str(pages[2].newer)}), per_page=3
        )
    assert [i.folio for i in back.items] == newest_first[3:6]
    assert back.older == newest_first[5] and back.newer == newest_first[3]


async def test_a_page_is_found_by_folio_only_when_published(
    db: Database, consultation: Consultation
) -> None:
    first, _, hidden = await _three(db, consultation)
    async with db.reading() as session:
        shown = await public_proposals.detail(session, folio=first.lower())
        assert shown.folio == first and shown.published_at is not None
        assert shown.by_level == {"phone": 0, "verified": 0, "anonymous": 0, "discounted": 0}
        for folio in (hidden, "PMD23-999999", "no-es-folio", ""):
            with pytest.raises(NotFound):
                await public_proposals.detail(session, folio=folio)


async def test_the_list_uses_an_index_in_id_order_without_sorting(
    db: Database, consultation: Consultation
) -> None:
    """The page cost does not grow with the data: no sort of all matching rows."""
    await _three(db, consultation)
    async with db.reading() as session:
        if session.bind.dialect.name != "sqlite":
            pytest.skip("the plan check reads SQLite's EXPLAIN QUERY PLAN")
        for filters in ({}, {"eje": "servicios"}, {"eje": "servicios", "tema": "agua"}):
            for outcome in ("", "incluida"):
                params = {**filters, **({"resultado": outcome} if outcome else {})}
                if outcome and filters:
                    continue
                query = Query.parse(consultation, {**params, "antes": "PMD23-000100"})
                statement = public_proposals.list_statement(query, per_page=20)
                compiled = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
                plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
                details = " ".join(str(row[-1]) for row in plan)
                assert "TEMP B-TREE" not in details, (params, details)
                assert "INDEX" in details, (params, details)
