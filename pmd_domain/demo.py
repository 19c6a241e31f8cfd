"""Realistic synthetic participation data, reproducible for a seed.

Fast enough for 1,000,000 participants: rows are generated in Python and inserted
in large batches, and the aggregate counters are computed while generating.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from types import SimpleNamespace

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.assurance import Assurance
from pmd_domain.clock import local_day
from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Base, Participant, Proposal
from pmd_domain.errors import NotAllowed
from pmd_domain.search import search_text_of
from pmd_domain.services import exposure, ranking
from pmd_domain.services.counters import bucket, bump
from pmd_domain.services.proposals import CROSS_DIMENSIONS, folio_for
from pmd_domain.statuses import ProposalStatus

CHANNEL = "demo"
LEVEL = str(Assurance.PHONE)  # synthetic participants stand for Telegram ones
TABLES = Base.metadata.tables
BATCH = 20_000
SOURCES = [
    ("fb_alcalde", 38),
    ("instagram", 12),
    ("whatsapp", 18),
    ("qr_mercados", 6),
    ("radio", 4),
    (None, 22),
]
WEIGHTS = {
    "gender": [("mujer", 52), ("hombre", 43), ("otro", 1), (None, 4)],
    "age_group": [
        ("18_29", 33),
        ("30_44", 33),
        ("45_59", 20),
        ("60_mas", 7),
        (None, 3),
    ],
}
PROBLEMS = {
    "bienestar": [
        "En mi colonia el centro de salud no tiene médicos por la tarde",
        "Faltan becas y útiles para estudiantes de secundaria",
        "No hay actividades culturales ni deportivas para los jóvenes",
        "Muchas personas mayores viven solas y sin apoyo",
    ],
    "servicios": [
        "Nos falta el agua varios días a la semana",
        "Las luminarias de la calle llevan meses fundidas",
        "El camión de la basura pasa muy pocas veces",
        "Los baches dañan los autos y ponen en riesgo a los ciclistas",
        "Los parques están descuidados y sin árboles",
    ],
    "seguridad": [
        "Hay robos frecuentes en la parada del transporte",
        "La patrulla casi nunca pasa por la colonia",
        "El cruce frente a la escuela es muy peligroso",
        "Se inunda la calle cada temporada de lluvias",
    ],
    "economia": [
        "Es difícil encontrar empleo formal cerca de casa",
        "El mercado municipal está deteriorado y pierde clientes",
        "Los turistas no conocen la historia minera de la ciudad",
        "Abrir un negocio toma demasiados trámites",
    ],
    "gobierno": [
        "No sabemos en qué se gasta el presupuesto de obras",
        "Hay que ir en persona para cualquier trámite",
        "Los reportes ciudadanos no reciben respuesta",
        "Casi nunca nos consultan antes de hacer una obra",
    ],
}
PROPOSALS = {
    "bienestar": [
        "Ampliar el horario del centro de salud y llevar brigadas médicas a las colonias",
        "Crear un programa municipal de becas con reglas claras",
        "Abrir talleres de música y deporte en las canchas del barrio",
        "Organizar redes vecinales de apoyo a personas mayores",
    ],
    "servicios": [
        "Reparar las fugas de la red y publicar el calendario de suministro",
        "Cambiar las luminarias por LED y atender reportes en 48 horas",
        "Aumentar la frecuencia de recolección y promover la separación",
        "Un programa permanente de bacheo con prioridad a calles escolares",
        "Reforestar parques con participación de los vecinos",
    ],
    "seguridad": [
        "Iluminar las paradas y colocar botones de emergencia",
        "Rondines de policía de proximidad con horarios conocidos",
        "Poner semáforo peatonal y reductores de velocidad",
        "Limpiar drenes y coladeras antes de las lluvias",
    ],
    "economia": [
        "Ferias de empleo en cada zona de la ciudad",
        "Rehabilitar el mercado y promoverlo en redes sociales",
        "Rutas turísticas por las minas y la gastronomía local",
        "Una ventanilla única en línea para abrir negocios",
    ],
    "gobierno": [
        "Publicar el avance y costo de cada obra en datos abiertos",
        "Hacer en línea los trámites más solicitados",
        "Dar folio y seguimiento público a cada reporte",
        "Consultas ciudadanas digitales antes de cada obra grande",
    ],
}


@dataclass
class DemoSummary:
    """How much was generated."""

    participants: int
    proposals: int
    supports: int


class _Weighted:
    """Values with weights, cumulated once so each draw is O(log n)."""

    def __init__(self, weighted: list[tuple[str | None, int]]):
        self.values = [v for v, _ in weighted]
        self.cumulative = list(accumulate(w for _, w in weighted))

    def draw(self, rng: random.Random) -> str | None:
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    # more participation early (the launch campaign) and a bump at the close
    fraction = rng.betavariate(1.1, 1.6) if rng.random() < 0.85 else rng.uniform(0.9, 1.0)
    return start + timedelta(seconds=span * fraction)


async def generate(
    session: AsyncSession,
    *,
    consultation: Consultation,
    participants: int,
    seed: int,
    until: datetime | None = None,
) -> DemoSummary:
    """Insert ``participants`` synthetic participants with proposals and supports.

    ``until``: nothing later than this moment (an exercise still open: up to now).
    """
    if participants < 1:
        raise NotAllowed("participants must be at least 1")
    exists = await session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(Participant.channel == CHANNEL, Participant.external_id == f"{seed}-0")
    )
    if exists:
        raise NotAllowed(f"ya existen datos de demostración con la semilla {seed}")
    rng = random.Random(seed)
    exercise = consultation.exercise
    start, end = exercise.opens, min(exercise.closes, until or exercise.closes)
    zone = exercise.timezone
    sector_question = consultation.question("sector")
    sectors = _Weighted([(o.key, 10) for o in sector_question.options]) if sector_question else None
    draws = {dim: _Weighted(weights) for dim, weights in WEIGHTS.items()}
    sources = _Weighted(SOURCES)
    base_participant = (await session.scalar(select(func.max(Participant.id)))) or 0
    base_proposal = (await session.scalar(select(func.max(Proposal.id)))) or 0
    counters: Counter[tuple[str, str, str]] = Counter()
    published: list[tuple[int, str, int]] = []  # (proposal id, pillar, author id)
    pillars = consultation.pillars
    next_proposal = base_proposal

    def people() -> Iterator[dict[str, object]]:
        nonlocal next_proposal
        for n in range(participants):
            pid = base_participant + n + 1
            when = _moment(rng, start, end)
            answers = {dim: draw.draw(rng) for dim, draw in draws.items()}
            answers["sector"] = sectors.draw(rng) if sectors and rng.random() > 0.05 else None
            source = sources.draw(rng)
            row = {
                "id": pid,
                "channel": CHANNEL,
                "external_id": f"{seed}-{n}",
                "consent_at": when,
                "notice_version": consultation.privacy.version,
                "language": "es",
                "source": source,
                "postal_code": f"42{rng.randint(0, 199):03d}" if rng.random() < 0.7 else None,
                "demographics_at": when,
                "muted": False,
                "reachable": True,
                "supports_given": 0,
                "proposals_made": 0,
                "created_at": when,
                "assurance": LEVEL,
                **answers,
            }
            day = local_day(when, zone)
            counters[("participants", "total", "all")] += 1
            counters[("changes", "total", "all")] += 1
            counters[("participants", "day", day)] += 1
            counters[("participants", "source", bucket(source))] += 1
            counters[("participants", "assurance", LEVEL)] += 1
            for dim in ("gender", "age_group", "sector"):
                counters[("participants", dim, bucket(answers.get(dim)))] += 1
            made = 1 if rng.random() < 0.3 else 0
            made += 1 if made and rng.random() < 0.15 else 0
            row["proposals_made"] = made
            for _ in range(made):
                next_proposal += 1
                pillar = rng.choice(pillars)
                topic = rng.choice(pillar.topics)
                roll = rng.random()
                status = (
                    ProposalStatus.PUBLISHED
                    if roll < 0.82
                    else (ProposalStatus.PENDING if roll < 0.92 else ProposalStatus.REJECTED)
                )
                pdayt = min(
                    when + timedelta(minutes=rng.randint(2, 30)), end - timedelta(seconds=1)
                )
                proposal_rows.append(
                    {
                        "id": next_proposal,
                        "folio": folio_for(consultation, next_proposal),
                        "participant_id": pid,
                        "pillar": pillar.key,
                        "topic": topic.key,
                        "problem": rng.choice(PROBLEMS.get(pillar.key, PROBLEMS["gobierno"])) + ".",
                        "proposal": rng.choice(PROPOSALS.get(pillar.key, PROPOSALS["gobierno"]))
                        + ".",
                        "vision": None
                        if rng.random() < 0.6
                        else "Una ciudad más segura, limpia y con oportunidades para todas las personas.",
                        "status": status,
                        "moderation_reason": "Contenido ofensivo."
                        if status == ProposalStatus.REJECTED
                        else None,
                        "views": 0,
                        "supports": 0,
                        "reports": 0,
                        "submitted_at": pdayt,
                        "published_at": pdayt if status == ProposalStatus.PUBLISHED else None,
                        "counted_as": {dim: answers.get(dim) for dim in CROSS_DIMENSIONS},
                    }
                )
                proposal_rows[-1]["search_text"] = search_text_of(
                    SimpleNamespace(**proposal_rows[-1])
                )
                if status == ProposalStatus.PUBLISHED:
                    published.append((next_proposal, pillar.key, pid))
                    counters[("proposals", "status", ProposalStatus.PUBLISHED)] += 1
                    counters[(exposure.METRIC, exposure.DIMENSION, "0")] += 1
                counters[("proposals", "total", "all")] += 1
                counters[("changes", "total", "all")] += 1
                counters[("proposals", "day", local_day(pdayt, zone))] += 1
                counters[("proposals", "pillar", pillar.key)] += 1
                counters[("proposals", "topic", f"{pillar.key}.{topic.key}")] += 1
                counters[("proposals", "source", bucket(source))] += 1
                for dim in CROSS_DIMENSIONS:
                    counters[
                        ("proposals", f"{dim}:pillar", f"{bucket(answers.get(dim))}|{pillar.key}")
                    ] += 1
            yield row

    proposal_rows: list[dict[str, object]] = []
    batch: list[dict[str, object]] = []
    for row in people():
        batch.append(row)
        if len(batch) >= BATCH:
            await _flush(session, batch, proposal_rows)
    await _flush(session, batch, proposal_rows)

    supports = await _supports(
        session, consultation, rng, published, base_participant, participants, counters, end
    )
    await bump(session, [(m, d, b, v) for (m, d, b), v in counters.items()])
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        for table in ("participants", "proposals", "votes"):
            await session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    return DemoSummary(participants, next_proposal - base_proposal, supports)


async def _flush(
    session: AsyncSession, people: list[dict[str, object]], proposals: list[dict[str, object]]
) -> None:
    if people:
        await session.execute(insert(TABLES["participants"]), people)
        people.clear()
    if proposals:
        await session.execute(insert(TABLES["proposals"]), proposals)
        proposals.clear()


async def _supports(
    session: AsyncSession,
    consultation: Consultation,
    rng: random.Random,
    published: list[tuple[int, str, int]],
    base: int,
    participants: int,
    counters: Counter[tuple[str, str, str]],
    end: datetime,
) -> int:
    """Votes with a popularity skew: a few proposals gather many supports."""
    if not published:
        return 0
    zone = consultation.exercise.timezone
    start = consultation.exercise.opens
    cumulative = list(accumulate(rng.paretovariate(1.3) for _ in published))
    indexes = range(len(published))
    per_proposal: Counter[int] = Counter()
    per_person: Counter[int] = Counter()
    rows: list[dict[str, object]] = []
    seen: set[tuple[int, int]] = set()
    total = 0
    voters = max(1, int(participants * 0.45))
    for _ in range(voters):
        pid = base + rng.randint(1, participants)
        picks = {p for p in rng.choices(indexes, cum_weights=cumulative, k=rng.randint(1, 4))}
        for index in picks:
            proposal_id, pillar, author = published[index]
            if author == pid or per_person[pid] >= consultation.limits.supports_per_participant:
                continue
            key = (proposal_id, pid)
            if key in seen:
                continue
            seen.add(key)
            when = _moment(rng, start, end)
            rows.append(
                {
                    "proposal_id": proposal_id,
                    "participant_id": pid,
                    "verdict": "support",
                    "created_at": when,
                    "channel": CHANNEL,
                    "assurance": LEVEL,
                }
            )
            per_proposal[proposal_id] += 1
            per_person[pid] += 1
            supports = ranking.metric(LEVEL)
            counters[(supports, "total", "all")] += 1
            counters[(supports, "pillar", pillar)] += 1
            counters[(supports, "day", local_day(when, zone))] += 1
            total += 1
            if len(rows) >= BATCH:
                await session.execute(insert(TABLES["votes"]), rows)
                rows.clear()
    if rows:
        await session.execute(insert(TABLES["votes"]), rows)
    await _update_counts(session, "proposals", f"supports_{LEVEL}", per_proposal)
    if consultation.integrity.counts(LEVEL):
        await _update_counts(session, "proposals", "supports", per_proposal)
    await _update_counts(session, "participants", "supports_given", per_person)
    return total


async def _update_counts(
    session: AsyncSession, table: str, column: str, counts: Counter[int]
) -> None:
    statement = text(f"UPDATE {table} SET {column} = :n WHERE id = :id")  # noqa: S608 - fixed names
    items = [{"id": key, "n": value} for key, value in counts.items()]
    for start in range(0, len(items), BATCH):
        await session.execute(statement, items[start : start + BATCH])
