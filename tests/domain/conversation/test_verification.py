"""Transcripts of each way of verifying a browser participant (both databases)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Conversation
from pmd_domain.db import Database
from pmd_domain.db.models import LinkedIdentity, Participant, Proposal, Vote
from pmd_domain.i18n import Catalogs
from pmd_domain.services import stats, verification
from tests.domain.conversation.chat import Chat, FixedLinks
from tests.domain.conversation.conftest import onboard, stored_state
from tests.factories import make_participant, make_proposal

SECRET = "a-secret-for-the-codes-of-tests"
ASK = "Escribe tu código de verificación"
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})\b")


def _conversation(consultation: Consultation) -> Conversation:
    return Conversation(
        consultation=consultation,
        catalogs=Catalogs.load(),
        links=FixedLinks(),
        codes=verification.CodeBook(secret=SECRET),
    )


async def _codes(
    db: Database, consultation: Consultation, count: int, *, ago: int = 0
) -> list[str]:
    async with db.transaction() as session:
        return await verification.issue_in_person(
            session,
            secret=SECRET,
            consultation=consultation,
            count=count,
            now=utcnow() - timedelta(days=ago),
        )


async def _person(db: Database, external_id: str) -> Participant:
    async with db.reading() as session:
        found = await session.scalar(
            select(Participant).where(Participant.external_id == external_id)
        )
    assert found is not None
    return found


async def test_an_in_person_code_verifies_a_browser_participant(
    db: Database, consultation: Consultation
) -> None:
    conversation = _conversation(consultation)
    good, other = await _codes(db, consultation, 2)
    [stale] = await _codes(db, consultation, 1, ago=consultation.integrity.codes.in_person_days + 1)
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        record = await make_proposal(session, consultation, author)
    browser = Chat(db, conversation, external_id="navegador-1", channel="web")
    await onboard(browser)
    await browser.press("Votar propuestas")
    await browser.press("Todos los ejes")
    await browser.press("Apoyo")  # anonymous: recorded apart, not in the ranking
    async with db.reading() as session:
        stored = await session.get(Proposal, record.id)
        assert stored is not None and (stored.supports, stored.supports_anonymous) == (0, 1)

    await browser.command("menu")
    await browser.press("Tengo un código")
    assert ASK in browser.text
    [mistyped] = await browser.say("ABCD-123")
    assert "No reconocimos ese código" in mistyped and ASK in mistyped
    [unknown] = await browser.say("ZZZZ-ZZZZ")
    assert "No reconocimos ese código" in unknown
    [expired] = await browser.say(verification.shown(stale))
    assert "Ese código ya venció" in expired and ASK in expired
    assert (await stored_state(db, "navegador-1"))[0] == "verify"  # still where they were
    typed = f" {good[:4].lower()} {good[4:].lower()} "  # lower case, spaces: still the code
    [done] = await browser.say(typed)
    assert "Tu participación quedó verificada" in done and "¿Qué quieres hacer?" in done
    person = await _person(db, "navegador-1")
    assert person.assurance == "verified"
    async with db.reading() as session:
        stored = await session.get(Proposal, record.id)
        assert stored is not None
        assert (stored.supports, stored.supports_anonymous, stored.supports_verified) == (1, 0, 1)
        [vote] = await session.scalars(select(Vote))
        assert vote.assurance == "verified"
        snapshot = await stats.snapshot(session, consultation=consultation, now=utcnow())
        assert snapshot["totals"]["supports"] == 1
    await browser.press("Mis datos")
    assert "Tipo de participación: navegador verificado" in browser.text
    await browser.press("Tengo un código")
    [again] = await browser.say(verification.shown(other))
    assert "ya está verificada" in again  # the second code is not spent on nothing

    second = Chat(db, conversation, external_id="navegador-2", channel="web")
    await onboard(second)
    await second.press("Tengo un código")
    [used] = await second.say(verification.shown(good))
    assert "Ese código ya se usó" in used and ASK in used
    assert (await _person(db, "navegador-2")).assurance == "anonymous"
    await second.press("Menú")
    assert "¿Qué quieres hacer?" in second.text
    await second.press("Tengo un código")
    [fine] = await second.say(verification.shown(other))
    assert "quedó verificada" in fine


async def test_attempts_at_codes_are_limited(db: Database, consultation: Consultation) -> None:
    conversation = _conversation(consultation)
    [good] = await _codes(db, consultation, 1)
    browser = Chat(db, conversation, external_id="navegador-3", channel="web")
    await onboard(browser)
    await browser.press("Tengo un código")
    for _ in range(consultation.integrity.codes.attempts.count):
        await browser.say("AAAA-AAAA")
    [refused] = await browser.say(verification.shown(good))
    assert "muchos intentos" in refused and ASK in refused
    assert (await _person(db, "navegador-3")).assurance == "anonymous"


async def _vote(chat: Chat, pillar: str, *, support: bool = True) -> None:
    """Open the pillar's proposals (one each here) and support the one shown."""
    await chat.press("Votar propuestas")
    await chat.press(pillar)
    if support:
        await chat.press("Apoyo")
        await chat.command("menu")


async def test_a_telegram_code_links_the_browser_and_one_support_stays_one(
    db: Database, consultation: Consultation
) -> None:
    conversation = _conversation(consultation)
    async with db.transaction() as session:
        author = await make_participant(session, consultation)
        both = await make_proposal(
            session, consultation, author, pillar="seguridad", topic="vialidad"
        )
        only_web = await make_proposal(session, consultation, author, pillar="servicios")
        later = await make_proposal(
            session, consultation, author, pillar="gobierno", topic="tramites"
        )
    phone = Chat(db, conversation, external_id="777", channel="telegram")
    await onboard(phone)
    browser = Chat(db, conversation, external_id="navegador-4", channel="web")
    await onboard(browser)
    assert "Usar en el navegador" in phone.labels() and "Tengo un código" not in phone.labels()
    assert "Tengo un código" in browser.labels() and "Usar en el navegador" not in browser.labels()

    # Before linking: one proposal supported on both sides, one only in the browser, and
    # one on Telegram while the browser has it on display.
    await _vote(phone, "3. Seguridad y paz ciudadana")
    await _vote(browser, "3. Seguridad y paz ciudadana")
    await _vote(browser, "2. Servicios públicos y desarrollo sostenible")
    await _vote(browser, "5. Honestidad, cercanía y modernidad", support=False)
    assert later.folio in browser.text
    old_support = browser.button("Apoyo")
    await browser.command("menu")
    await _vote(phone, "5. Honestidad, cercanía y modernidad")

    [shown] = await phone.press("Usar en el navegador")
    code = CODE.search(shown)
    assert code is not None and "Vence en 15 minutos" in shown
    await browser.press("Tengo un código")
    [wrong] = await browser.say("ABCD-EFGH")
    assert "No reconocimos ese código" in wrong
    [linked] = await browser.say(code.group(1).replace("-", ""))
    assert "Este navegador quedó vinculado a tu cuenta de Telegram" in linked
    assert "Tengo un código" not in browser.labels()  # it acts as the Telegram participant

    async with db.reading() as session:
        telegram = await session.scalar(select(Participant).where(Participant.external_id == "777"))
        assert telegram is not None
        shell = await session.scalar(
            select(Participant).where(Participant.merged_into == telegram.id)
        )
        assert shell is not None and shell.external_id is None
        alias = await session.get(LinkedIdentity, ("web", "navegador-4"))
        assert alias is not None and alias.participant_id == telegram.id
        votes = {
            (v.proposal_id, v.channel, v.assurance)
            for v in await session.scalars(select(Vote).where(Vote.participant_id == telegram.id))
        }
        assert votes == {
            (both.id, "telegram", "phone"),
            (only_web.id, "web", "verified"),
            (later.id, "telegram", "phone"),
        }
        counted = {
            p.id: (p.supports, p.supports_anonymous)
            for p in await session.scalars(select(Proposal))
        }
        assert counted == {both.id: (1, 0), only_web.id: (1, 0), later.id: (1, 0)}
        snapshot = await stats.snapshot(session, consultation=consultation, now=utcnow())
        assert snapshot["totals"]["supports"] == 3
        assert snapshot["totals"]["participants"] == 2  # the author and this person, once
        assert telegram.supports_given == 3

    # From the browser, a proposal supported on Telegram cannot be supported again.
    [twice] = await browser.tap(old_support)
    assert "Ya habías votado esta propuesta." in twice
    await browser.command("menu")
    await browser.press("Votar propuestas")
    [none] = await browser.press("Todos los ejes")
    assert "No hay más propuestas por ahora" in none
    [mine] = await browser.press("Mis datos")
    assert "Tipo de participación: Telegram" in mine
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Vote)) == 3


async def test_erasing_the_telegram_participant_unlinks_the_browser(
    db: Database, consultation: Consultation
) -> None:
    conversation = _conversation(consultation)
    phone = Chat(db, conversation, external_id="778", channel="telegram")
    await onboard(phone)
    [shown] = await phone.press("Usar en el navegador")
    code = CODE.search(shown)
    assert code is not None
    browser = Chat(db, conversation, external_id="navegador-5", channel="web")
    await onboard(browser)
    await browser.press("Tengo un código")
    await browser.say(code.group(1))
    await browser.press("Mis datos")
    await browser.press("Borrar mis datos")
    await browser.press("Sí, borrar todo")
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(LinkedIdentity)) == 0
    assert "aviso de privacidad" in "\n".join(await browser.start()).lower()  # a stranger again
