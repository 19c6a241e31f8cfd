"""Property-based tests of the conversation: random sequences of what citizens do.

Hypothesis draws sequences of inputs for three citizens (two Telegram chats, one
browser-chat session) against the real engine and a real database: texts (valid
answers, junk, emoji, 5,000 characters), presses of the buttons on screen, presses of
buttons of older messages, double taps (two presses of one button at once),
commands, media, edited and forwarded messages, an update delivered twice, staff
publishing the pending proposals, and restarts (a new ``Conversation`` and a new
``Database`` handle on the same database, as a new process). After every step and
at the end it checks:

- no step raises;
- every stored conversation state is a registered screen;
- no participant supports a proposal twice;
- every proposal whose folio the citizen was shown is stored, theirs, with the
  texts they typed (unless they erased their data afterwards);
- the counters (``stat_counters``, ``proposals.supports``, ``participants.supports_given``
  and ``proposals_made``) equal a recount from the rows.

Bounded: ``MAX_EXAMPLES`` sequences of at most ``MAX_STEPS`` steps per database kind
(``PMD_HYPOTHESIS_EXAMPLES`` raises it for a longer hunt), no per-example deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pmd_domain.assurance import LEVELS
from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Inbound
from pmd_domain.conversation.types import Reply
from pmd_domain.conversation.ui import SCREENS
from pmd_domain.db import Database
from pmd_domain.db.models import (
    ConversationState,
    Participant,
    Proposal,
    StatCounter,
    Vote,
)
from pmd_domain.services import proposals
from pmd_domain.services.counters import bucket
from tests.conftest import run_async
from tests.domain.conversation.chat import Chat, new_conversation
from tests.factories import make_participant, make_proposal, open_consultation

MAX_EXAMPLES = int(os.environ.get("PMD_HYPOTHESIS_EXAMPLES", "25"))
MAX_STEPS = 80
# The confirmation of a proposal (Spanish or English: /idioma is among the inputs).
SENT = re.compile(r"(?:quedó registrada con el|was registered with the) folio (PMD23-\d+)")
ERASED = ("borramos tus datos", "we deleted your personal data")
ERASE = ("Sí, borrar todo", "Yes, delete everything")
CITIZENS = (("telegram", 0), ("web", 1), ("telegram", 2))
_examples = itertools.count(1)

PROBLEM = "En mi colonia no hay alumbrado y de noche es peligroso caminar."
PROPOSAL = "Instalar luminarias LED en las calles principales y darles mantenimiento."
TEXTS = st.one_of(
    st.sampled_from(
        [
            PROBLEM,
            PROPOSAL,
            "Que los niños jueguen seguros en parques iluminados.",
            "42080",
            "Centro",
            "Ana María Pérez López",
            "hola",
            "",
            "   ",
            "🙂🙂🙂",
            "x" * 5000,
            "/start",
            "/start fb_alcalde",
            "/menu",
            "/cancelar",
            "/ayuda",
            "/silenciar",
            "/activar",
            "/idioma",
            "/misdatos",
            "/desconocido",
        ]
    ),
    st.text(max_size=40),
)
WHO = st.sampled_from([0, 0, 0, 1, 1, 2])  # mostly one citizen: deeper flows
BUTTON = st.integers(0, 40)
# What a screen that takes text is answered with (an "answer" action).
TYPED = {
    "p_problem": PROBLEM,
    "p_proposal": PROPOSAL,
    "p_vision": "Que los niños jueguen seguros en parques iluminados.",
    "cert_name": "Ana María Pérez López",
    "demo": "42080",  # only when the question is the postal code's
}
# Buttons that go back or away; an "answer" mostly presses one of the others.
BACK = ("Volver", "Cancelar", "Menú", "Corregir", "No acepto", "Back", "Cancel", "Menu", "Edit")
# Most steps (60 in 100) answer what the bot asks (a press, or the text a screen
# wants), so that sequences reach the deep screens; the rest is what citizens do
# besides. Roll 0, where Hypothesis shrinks to, is an answer.
KINDS = [
    (60, "answer"),
    (8, "press"),
    (6, "stale"),
    (5, "double"),
    (8, "say"),
    (4, "other"),
    (4, "again"),
    (3, "publish"),
    (2, "restart"),
]


def _action(drawn: tuple[int, int, int, int, str, str]) -> tuple[Any, ...]:
    roll, who, index, back, text, other = drawn
    kind = KINDS[-1][1]
    for weight, name in KINDS:
        if roll < weight:
            kind = name
            break
        roll -= weight
    return {
        "answer": ("answer", who, index),
        "press": ("press", who, index),
        "stale": ("stale", who, back, index),
        "double": ("double", who, index),
        "say": ("say", who, text),
        "other": ("other", who, other),
        "again": ("again", who),
        "publish": ("publish",),
        "restart": ("restart",),
    }[kind]


ACTIONS = st.tuples(
    st.integers(0, sum(w for w, _ in KINDS) - 1),
    WHO,
    BUTTON,
    st.integers(1, 6),
    TEXTS,
    st.sampled_from(["media", "edited", "forwarded"]),
).map(_action)


class World:
    """The citizens of one example, their chats, and what they were told."""

    def __init__(self, url: str, consultation: Consultation, tag: int):
        self.url = url
        self.consultation = consultation
        self.database = Database(url)
        conversation = new_conversation(consultation)
        self.chats = [
            Chat(self.database, conversation, external_id=f"h{tag}-{n}", channel=channel)
            for channel, n in CITIZENS
        ]
        self.last: dict[int, Inbound] = {}
        self.answered: dict[int, tuple[Reply, ...]] = {}
        self.folios: dict[str, int] = {}  # folio shown → citizen
        self.erased: set[int] = set()

    def restart(self) -> None:
        """A new process: a new engine and a new database handle (the old one is closed)."""
        old = self.database
        self.database = Database(self.url)
        conversation = new_conversation(self.consultation)
        for chat in self.chats:
            chat.database, chat.conversation = self.database, conversation
        self._old = old

    async def act(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind == "restart":
            self.restart()
            await self._old.dispose()
            return
        if kind == "publish":
            await self.publish()
            return
        who = action[1]
        chat = self.chats[who]
        if kind == "answer":
            state = await self.state(who) or ""
            typed = TYPED.get(state)
            if state == "demo" and "postal" not in chat.text.lower():
                typed = None
            forward = [
                b.data for b in _pressable(chat.last) if not any(word in b.label for word in BACK)
            ]
            # Index 0 (where Hypothesis starts and shrinks to) is the way forward.
            if typed is not None and (action[2] % 4 != 3 or not _buttons(chat.last)):
                await self.send(who, "text", text=typed)
            elif forward and action[2] % 5 != 4:
                await self.send(who, "button", data=forward[action[2] % len(forward)])
            else:
                await self.tap(who, chat.last, action[2])
        elif kind == "press":
            await self.tap(who, chat.last, action[2])
        elif kind == "stale":
            older = chat.history[-action[2]] if len(chat.history) >= action[2] else chat.last
            await self.tap(who, older, action[3])
        elif kind == "double":
            buttons = _buttons(chat.last)
            if buttons:
                data = buttons[action[2] % len(buttons)]
                await asyncio.gather(
                    self.send(who, "button", data=data), self.send(who, "button", data=data)
                )
        elif kind == "say":
            text = action[2]
            if text.startswith("/start"):
                await self.send(who, "start", text=text[6:].strip())
            else:
                await self.send(who, "text", text=text)
        elif kind == "other":
            await self.send(who, action[2], media="sticker", text="hola")
        elif kind == "again" and who in self.last:
            outcome = await chat.send(self.last[who])  # the same update delivered again
            # nothing is done again; the step's stored replies may be sent again (outbox)
            assert outcome.duplicate and outcome.replies in ((), self.answered[who])

    async def state(self, who: int) -> str | None:
        chat = self.chats[who]
        async with self.database.reading() as session:
            return await session.scalar(
                select(ConversationState.state)
                .join(Participant, Participant.id == ConversationState.participant_id)
                .where(
                    Participant.channel == chat.channel,
                    Participant.external_id == chat.external_id,
                )
            )

    async def tap(self, who: int, replies: Any, index: int) -> None:
        buttons = _buttons(replies)
        if buttons:
            await self.send(who, "button", data=buttons[index % len(buttons)])
        else:
            await self.send(who, "start")

    async def send(self, who: int, kind: str, **fields: str) -> None:
        chat = self.chats[who]
        inbound = replace(chat._inbound(kind, **fields))
        self.last[who] = inbound
        outcome = await chat.send(inbound)
        self.answered[who] = outcome.replies
        for reply in outcome.replies:
            for folio in SENT.findall(reply.text):
                self.folios.setdefault(folio, who)
            if any(said in reply.text for said in ERASED):
                self.erased.add(who)

    async def publish(self) -> None:
        async with self.database.transaction() as session:
            waiting = await session.scalars(select(Proposal.id).where(Proposal.status == "pending"))
            for proposal_id in list(waiting):
                await proposals.moderate(
                    session,
                    consultation=self.consultation,
                    proposal_id=proposal_id,
                    decision="publish",
                    staff_id=1,
                    now=utcnow(),
                )

    async def check_states(self) -> None:
        async with self.database.reading() as session:
            states = set(await session.scalars(select(ConversationState.state).distinct()))
        assert states <= set(SCREENS), states - set(SCREENS)


def _buttons(replies: Any) -> list[str]:
    return [b.data for b in _pressable(replies)]


def _pressable(replies: Any) -> list[Any]:
    """The buttons a random citizen may press: all but the confirmation of erasure
    (``test_erasure_keeps_the_counters_equal_to_a_recount`` says why)."""
    return [
        b
        for r in replies
        for row in r.buttons
        for b in row
        if b.url is None and b.label not in ERASE
    ]


async def seed(url: str, consultation: Consultation) -> None:
    """A published proposal by someone else, so that there is something to vote on."""
    database = Database(url)
    try:
        async with database.transaction() as session:
            author = await make_participant(session, consultation, gender="mujer")
            await make_proposal(session, consultation, author)
    finally:
        await database.dispose()


async def check_rows(world: World) -> None:
    """The invariants that need the whole database."""
    async with world.database.reading() as session:
        # At most one support per person and proposal (and per person, one verdict).
        twice = await session.execute(
            select(Vote.proposal_id, Vote.participant_id)
            .group_by(Vote.proposal_id, Vote.participant_id)
            .having(func.count() > 1)
        )
        assert twice.all() == []
        # Every proposal whose folio a citizen was shown is kept, theirs, as typed.
        stored = {p.folio: p for p in await session.scalars(select(Proposal))}
        people = {(p.channel, p.external_id): p for p in await session.scalars(select(Participant))}
        for folio, who in world.folios.items():
            if who in world.erased:
                continue
            chat = world.chats[who]
            assert folio in stored, folio
            person = people[(chat.channel, chat.external_id)]
            assert stored[folio].participant_id == person.id
            assert stored[folio].problem and stored[folio].proposal
        await check_counters(session, world.consultation)


async def check_counters(session: Any, consultation: Consultation) -> None:
    """The counters equal a recount from the rows."""
    counters = {
        (c.metric, c.dimension, c.bucket): c.value
        for c in await session.scalars(select(StatCounter))
    }

    def counter(metric: str, dimension: str, key: str) -> int:
        return int(counters.get((metric, dimension, key), 0))

    people = [p for p in await session.scalars(select(Participant)) if p.erased_at is None]
    every = list(await session.scalars(select(Proposal)))
    supports = [v for v in await session.scalars(select(Vote)) if v.verdict == "support"]
    kept = [v for v in supports if v.discounted_at is None]
    counted = {str(level) for level in consultation.integrity.count_levels}
    by_id = {p.id: p for p in every}
    # Per row: each level's column, and the ranking count of the levels that count.
    for proposal in every:
        mine = [v for v in kept if v.proposal_id == proposal.id]
        for level in LEVELS:
            assert getattr(proposal, f"supports_{level}") == sum(
                v.assurance == level for v in mine
            ), (proposal.folio, level)
        assert proposal.supports == sum(v.assurance in counted for v in mine), proposal.folio
    for person in people:
        assert person.supports_given == sum(v.participant_id == person.id for v in supports)
        own = sum(p.participant_id == person.id for p in every)
        assert person.proposals_made == own, person.id
    # Aggregates.
    assert counter("participants", "total", "all") == len(people)
    for question in (q for q in consultation.demographics if q.kind == "choice"):
        keys = {bucket(getattr(p, question.key)) for p in people} | {
            k[2] for k in counters if k[:2] == ("participants", question.key)
        }
        for key in keys:
            recount = sum(bucket(getattr(p, question.key)) == key for p in people)
            assert counter("participants", question.key, key) == recount, (question.key, key)
    assert counter("proposals", "total", "all") == len(every)
    published = sum(p.status == "published" for p in every)
    assert counter("proposals", "status", "published") == published
    for pillar in consultation.pillars:
        assert counter("proposals", "pillar", pillar.key) == sum(
            p.pillar == pillar.key for p in every
        )
        for level in LEVELS:
            assert counter(f"supports.{level}", "pillar", pillar.key) == sum(
                by_id[v.proposal_id].pillar == pillar.key and v.assurance == level for v in kept
            ), (pillar.key, level)
    for level in LEVELS:
        assert counter(f"supports.{level}", "total", "all") == sum(
            v.assurance == level for v in kept
        ), level


async def run_example(url: str, consultation: Consultation, actions: list[tuple[Any, ...]]) -> None:
    await seed(url, consultation)
    world = World(url, consultation, next(_examples))
    try:
        for action in actions:
            await world.act(action)
            await world.check_states()
        await check_rows(world)
        if os.environ.get("PMD_HYPOTHESIS_STATS"):
            async with world.database.reading() as session:
                votes = await session.scalar(select(func.count()).select_from(Vote))
            print(
                "reached",
                len(world.folios),
                "folios",
                len(world.erased),
                "erasures",
                votes,
                "votes",
            )
    finally:
        await world.database.dispose()


CONSULTATION = open_consultation(days=365)


@pytest.mark.slow
# No shrinking: a conversation of 40-80 steps takes minutes to shrink; a failure is
# reported as found (with the seed to replay it).
@settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=MAX_STEPS // 2, max_size=MAX_STEPS))
def test_random_sequences_keep_every_invariant(database_url: str, actions: list[Any]) -> None:
    run_async(run_example(database_url, CONSULTATION, actions))


@pytest.mark.parametrize("steps", [200])
def test_one_long_random_walk_through_every_flow(database_url: str, steps: int) -> None:
    """Mostly answers: a long walk that reaches deep screens (votes, certificates, Mis datos)."""
    import random

    chance = random.Random(16)
    walk: list[tuple[Any, ...]] = []
    for _ in range(steps):
        who = chance.randrange(len(CITIZENS))
        roll = chance.random()
        if roll < 0.8:
            walk.append(("answer", who, chance.randrange(40)))
        elif roll < 0.85:
            walk.append(("publish",))
        elif roll < 0.9:
            walk.append(("double", who, chance.randrange(40)))
        elif roll < 0.95:
            walk.append(("stale", who, chance.randrange(1, 5), chance.randrange(40)))
        else:
            walk.append(("restart",))
    run_async(run_example(database_url, CONSULTATION, walk))


async def test_erasure_keeps_the_counters_equal_to_a_recount(
    database_url: str, consultation: Consultation
) -> None:
    world = World(database_url, consultation, next(_examples))
    try:
        author, voter = world.chats[0], world.chats[2]
        for chat in (author, voter):
            await chat.start()
            await chat.press("Acepto")
            await chat.press("Hombre")
            while "Prefiero no decir" in chat.labels():
                await chat.press("Prefiero no decir")
        await author.press("Hacer una propuesta")
        await author.press("Servicios públicos")
        await author.press("Alumbrado público")
        await author.say(PROBLEM)
        await author.say(PROPOSAL)
        await author.press("Omitir")
        await author.press("Enviar")
        await world.publish()
        await voter.press("Votar propuestas")
        await voter.press("Todos los ejes")
        await voter.press("Apoyo")
        await author.press("Mis datos")
        await author.press("Borrar mis datos")
        await author.press("Sí, borrar todo")
        assert "borramos tus datos" in author.text
        async with world.database.reading() as session:
            await check_counters(session, consultation)
    finally:
        await world.database.dispose()
