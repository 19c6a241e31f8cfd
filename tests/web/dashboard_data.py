"""A small, known participation data set built through the domain services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pmd_domain.clock import local_day, utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Certificate
from pmd_domain.services import participants, proposals, votes
from tests.factories import make_participant, make_proposal

XSS_SCRIPT = "<script>window.__pwned=1</script>"
TRICKY_CSV_TEXT = 'Dicen "ya mero", pero; el agua\nno llega, ni el lunes.'
XSS_IMG = '<img src=x onerror="window.__pwned=2">'


@dataclass
class KnownData:
    """What was built, for the assertions."""

    now: datetime
    day: str
    chat_ids: list[str] = field(default_factory=list)
    postal_codes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    published_folios: list[str] = field(default_factory=list)
    hidden_texts: list[str] = field(default_factory=list)
    supported_folio: str = ""


async def build(database: Database, consultation: Consultation) -> KnownData:
    """Four participants, eight proposals (seven published), one support.

    A: mujer, 18_29, estudiante, source fb_alcalde: six published proposals in
       servicios and one pending in seguridad.
    B: mujer, 30_44, empleado, source fb_alcalde: supports A's first proposal.
    C: hombre, 18_29, empleado, no source: one published proposal in servicios.
    D: no answers, source radio.
    """
    now = utcnow()
    data = KnownData(now=now, day=local_day(now, consultation.exercise.timezone))
    async with database.transaction() as session:
        people = []
        for chat, postal, gender, age, sector, source in (
            ("900000001", "42084", "mujer", "18_29", "estudiante", "fb_alcalde"),
            ("900000002", "42070", "mujer", "30_44", "empleado", "fb_alcalde"),
            ("900000003", "42119", "hombre", "18_29", "empleado", None),
            ("900000004", None, None, None, None, "radio"),
        ):
            person = await make_participant(
                session,
                consultation,
                external_id=chat,
                gender=gender,
                age_group=age,
                sector=sector,
                source=source,
                now=now,
            )
            if postal:
                await participants.record_answer(
                    session,
                    consultation=consultation,
                    participant=person,
                    question="postal_code",
                    answer=postal,
                    now=now,
                )
                data.postal_codes.append(postal)
            data.chat_ids.append(chat)
            people.append(person)
        a, b, c, _d = people
        made = []
        for index in range(6):
            made.append(
                await make_proposal(
                    session,
                    consultation,
                    a,
                    pillar="servicios",
                    topic="agua",
                    proposal=f"Propuesta publicada número {index} para el agua de la colonia.",
                    now=now,
                )
            )
        pending = await make_proposal(
            session,
            consultation,
            a,
            pillar="seguridad",
            topic="proteccion_civil",
            problem="Texto pendiente de moderación que no debe publicarse.",
            proposal="Propuesta pendiente que nadie debe ver todavía.",
            publish=False,
            now=now,
        )
        data.hidden_texts += [pending.problem, pending.proposal]
        made.append(await make_proposal(session, consultation, c, problem=TRICKY_CSV_TEXT, now=now))
        await votes.judge(
            session,
            consultation=consultation,
            participant=b,
            proposal_id=made[0].id,
            verdict="support",
            now=now,
        )
        await proposals.set_outcome(session, proposal_id=made[1].id, outcome="incluida", now=now)
        data.published_folios = [str(p.folio) for p in made]
        data.supported_folio = str(made[0].folio)
        for person, name in ((a, "Xochiquetzal Ramírez Zúñiga"), (c, "Tlacaélel Domínguez Ortega")):
            session.add(
                Certificate(
                    participant_id=person.id,
                    folio=f"C-{person.id:06d}",
                    token=f"tok{person.id:032d}",
                    name=name,
                    topics=[["servicios", "agua"]],
                    issued_at=now,
                    updated_at=now,
                )
            )
            data.names.append(name)
    return data


async def add_xss_proposal(database: Database, consultation: Consultation) -> str:
    """A published proposal whose text tries to run script; returns its text."""
    text = f"Hola {XSS_SCRIPT} y {XSS_IMG} adiós"
    async with database.transaction() as session:
        author = await make_participant(session, consultation, gender="otro")
        await make_proposal(
            session, consultation, author, pillar="gobierno", topic="transparencia", proposal=text
        )
    return text
