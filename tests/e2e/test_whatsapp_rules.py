"""WhatsApp's rules on the channel: unexpected messages, opt-out words, campaigns and the
24-hour window, rate limits and undeliverable numbers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.db.models import Delivery, OutboxStep, Participant, Proposal, WhatsAppContact
from pmd_domain.services import analysis, broadcasts, moderation
from tests.e2e.citizens import PROBLEM, PROPOSAL
from tests.waapi import Phone, WhatsAppCloudServer, press
from tests.waapi.hosting import serving
from web.keys import DATABASE
from web.whatsapp import NOTIFIER, WHATSAPP

NUMBER = "5217719998877"

UNEXPECTED: list[tuple[str, Any, dict[str, Any], str]] = [
    ("audio", {"id": "1001", "mime_type": "audio/ogg; codecs=opus", "voice": True}, {}, "solo puedo leer texto"),
    ("image", {"id": "1002", "mime_type": "image/jpeg", "sha256": "x"}, {}, "solo puedo leer texto"),
    ("video", {"id": "1003", "mime_type": "video/mp4"}, {}, "solo puedo leer texto"),
    ("sticker", {"id": "1004", "mime_type": "image/webp", "animated": False}, {}, "solo puedo leer texto"),
    ("location", {"latitude": 20.1011, "longitude": -98.7591, "name": "Plaza Juárez"}, {}, "solo puedo leer texto"),
    ("contacts", [{"name": {"formatted_name": "Ana"}, "phones": [{"phone": "+52 771 000 0000"}]}], {}, "solo puedo leer texto"),
    ("reaction", {"message_id": "wamid.previous", "emoji": "👍"}, {}, "solo puedo leer texto"),
    ("document", {"id": "1005", "filename": "foto.pdf", "mime_type": "application/pdf"}, {}, "solo puedo leer texto"),
    ("unsupported", {}, {"errors": [{"code": 131051, "title": "Message type unknown"}]}, "solo puedo leer texto"),
    ("edit", {"original_message_id": "wamid.previous", "message": {"type": "text", "text": {"body": "Hola"}}}, {}, "edit"),
    ("text", {"body": "Reenviado"}, {"context": {"forwarded": True}}, "reenv"),
]  # fmt: skip


async def onboarded(phone: Phone) -> None:
    await phone.run([("Hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
    while "Prefiero no decir" in phone.choices():
        await phone.press("Prefiero no decir")
    assert "¿Qué quieres hacer?" in phone.last().text


async def test_every_unexpected_message_gets_a_kind_answer_with_the_question_again(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation):
        # A first message that is a voice note: the same kind answer, then the greeting.
        newcomer = waapi.phone("5217719998866")
        voice = "\n".join(m.text for m in await newcomer.send("audio", UNEXPECTED[0][1]))
        assert voice.startswith("Por ahora solo puedo leer texto y botones.")
        assert "bienvenida" in voice and "Acepto" in newcomer.choices()
        phone = waapi.phone(NUMBER)
        await phone.run([("Hola", "bienvenida"), (press("Acepto"), "Pregunta 1 de 4")])
        for kind, content, extra, expected in UNEXPECTED:
            arrived = await phone.send(kind, content, **extra)
            said = "\n".join(m.text for m in arrived).lower()
            assert phone.last_status == 200, kind
            assert expected in said, (kind, said)
            assert "pregunta 1 de 4" in said, (kind, said)  # what the bot is waiting for
            assert phone.last().choices, kind  # with its choices again


async def test_baja_and_the_other_opt_out_words_stop_campaigns(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation) as app:
        for number, word in [
            ("5217710000001", "BAJA"),
            ("5217710000002", "alto"),
            ("5217710000003", "Stop"),
            ("5217710000004", "No quiero mensajes"),
        ]:
            phone = waapi.phone(number)
            await onboarded(phone)
            await phone.run([(word, "ya no te enviaremos mensajes de campaña")])
        async with app[DATABASE].reading() as session:
            muted = (await session.scalars(select(Participant.muted))).all()
        assert muted == [True, True, True, True]
        # On WhatsApp the way out is told as WhatsApp users know it: the word BAJA.
        await phone.run(
            [
                ("/activar", "Para dejar de recibirlos escribe BAJA."),
                ("/ayuda", "BAJA (no más mensajes de campaña; /activar para volver"),
                ("/ayuda", "También puedes escribir:"),
            ]
        )


async def wait_campaign_done(app: Any, campaign_id: int) -> None:
    for _ in range(200):
        async with app[DATABASE].reading() as session:
            progress = await broadcasts.progress(session, campaign_id=campaign_id)
        if progress.status == "done":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"campaign still {progress.status}")


async def test_a_campaign_goes_as_text_inside_the_window_and_as_the_template_outside(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    template = consultation.whatsapp.templates["campaign"]
    waapi.approve(template.name, template.language, len(template.parameters))
    async with serving(waapi, sqlite_url, consultation) as app:
        recent, away, gone, quiet = (waapi.phone(f"52177100001{n}") for n in range(4))
        for phone in (recent, away, gone, quiet):
            await onboarded(phone)
        await quiet.run([("BAJA", "ya no te enviaremos")])
        # ``away`` last wrote two days ago (on WhatsApp's side and ours).
        two_days = timedelta(days=2)
        waapi.last_inbound[away.wa_id] -= two_days.total_seconds()
        async with app[DATABASE].transaction() as session:
            await session.execute(
                update(WhatsAppContact)
                .where(WhatsAppContact.external_id == app[WHATSAPP].external_id(away.wa_id))
                .values(last_inbound_at=utcnow() - two_days)
            )
        waapi.fail(131026, wa_id=gone.wa_id)  # the number no longer takes messages
        before = {p.wa_id: len(p.messages) for p in (recent, away, gone, quiet)}
        text = "Este sábado hay\nforo vecinal en la Plaza Juárez a las 10:00."
        async with app[DATABASE].transaction() as session:
            campaign = await broadcasts.create(
                session,
                consultation=consultation,
                text=text,
                audience=broadcasts.Audience(),
                created_by=1,
                now=utcnow(),
            )
            await broadcasts.confirm(session, campaign_id=campaign.id, now=utcnow())
        await wait_campaign_done(app, campaign.id)
        [inside] = recent.messages[before[recent.wa_id] :]
        assert inside.kind == "text" and inside.text == text
        [outside] = away.messages[before[away.wa_id] :]
        assert outside.kind == "template" and outside.template == template.name
        assert outside.parameters == [" ".join(text.split())]  # one line, as WhatsApp wants
        assert gone.messages[before[gone.wa_id] :] == []
        assert quiet.messages[before[quiet.wa_id] :] == []
        async with app[DATABASE].reading() as session:
            statuses = sorted((await session.scalars(select(Delivery.status))).all())
            reachable = dict(
                (await session.execute(select(Participant.id, Participant.reachable))).all()
            )
        assert statuses == ["blocked", "sent", "sent", "skipped"]
        assert sorted(reachable.values()) == [False, True, True, True]


async def test_rate_limits_are_waited_out_and_the_reply_arrives(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation):
        phone = waapi.phone(NUMBER)
        waapi.fail(130429, times=2)  # the phone number's throughput is reached, twice
        assert await phone.say("Hola") == []
        [greeting] = await waapi.wait_for(phone.wa_id, 1, timeout=10)
        assert "bienvenida" in greeting.text
        assert [e["error"]["code"] for e in waapi.refused] == [130429, 130429]
        waapi.fail(131056)  # too many messages to this one number
        await phone.press("Acepto")
        await waapi.wait_for(phone.wa_id, 2, timeout=10)
        assert "Pregunta 1 de 4" in phone.last().text


async def test_the_outcome_of_a_proposal_reaches_its_author_as_a_template_after_a_day(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    template = consultation.whatsapp.templates["outcome"]
    waapi.approve(template.name, template.language, len(template.parameters))
    async with serving(waapi, sqlite_url, consultation) as app:
        author = waapi.phone(NUMBER)
        await onboarded(author)
        await author.run(
            [
                (press("Hacer una propuesta"), "¿De qué eje es tu propuesta?"),
                (press("2. Servicios públicos y desarrollo sostenible"), "¿De qué tema?"),
                (press("Alumbrado público"), "¿Cuál es el problema?"),
                (PROBLEM, "¿Qué propones?"),
                (PROPOSAL, "2040"),
                (press("Omitir"), "Revisa"),
                (press("Enviar"), "PMD23-"),
            ]
        )
        async with app[DATABASE].transaction() as session:
            [mine] = (await session.scalars(select(Proposal))).all()
            await moderation.decide(
                session,
                consultation=consultation,
                proposal_id=mine.id,
                decision="publish",
                staff_id=1,
                admin_ids=[1],
                now=utcnow(),
            )
        # Published within the window: the author reads it as a message.
        shown = len(author.messages)
        app[NOTIFIER].wake()
        [published] = (await waapi.wait_for(author.wa_id, shown + 1))[shown:]
        assert published.kind == "text" and str(mine.folio) in published.text
        # Weeks later the office records its answer: the template, outside the window.
        waapi.last_inbound[author.wa_id] -= timedelta(days=20).total_seconds()
        async with app[DATABASE].transaction() as session:
            await session.execute(
                update(WhatsAppContact).values(last_inbound_at=utcnow() - timedelta(days=20))
            )
            await analysis.record_outcome(
                session, proposal_id=mine.id, outcome="incluida", now=utcnow()
            )
        app[NOTIFIER].wake()
        [answer] = (await waapi.wait_for(author.wa_id, shown + 2))[shown + 1 :]
        assert answer.kind == "template" and answer.template == template.name
        folio, outcome, link = answer.parameters
        assert folio == mine.folio
        assert outcome == "incluida en el Plan Municipal de Desarrollo"
        assert link.endswith(f"/propuestas/{mine.folio}")


async def test_a_campaign_with_a_picture_goes_as_an_image_with_its_caption_inside_the_window(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation) as app:
        phone = waapi.phone("5217710000991")
        await onboarded(phone)
        sent: list[Any] = []
        for photo in ("https://pachuca.gob.mx/foro.jpg", "AgACAgEAAxkBAAIBsmTelegramFileId"):
            before = len(phone.messages)
            async with app[DATABASE].transaction() as session:
                campaign = await broadcasts.create(
                    session,
                    consultation=consultation,
                    text="Foro vecinal el sábado a las 10:00.",
                    photo=photo,
                    button_text="Programa",
                    button_url="https://pachuca.gob.mx/foro",
                    audience=broadcasts.Audience(),
                    created_by=1,
                    now=utcnow(),
                )
                await broadcasts.confirm(session, campaign_id=campaign.id, now=utcnow())
            await wait_campaign_done(app, campaign.id)
            sent.extend(phone.messages[before:])
    picture, words = sent
    # A picture the web panel gave (an https address) is shown with the text as its caption.
    assert picture.kind == "image" and picture.image == "https://pachuca.gob.mx/foro.jpg"
    assert picture.text == (
        "Foro vecinal el sábado a las 10:00.\n\nPrograma: https://pachuca.gob.mx/foro"
    )
    # A Telegram photo cannot be shown on WhatsApp: the text and its link go alone.
    assert words.kind == "text" and words.text == picture.text


async def test_the_channel_s_own_words_follow_the_citizen_s_language(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    async with serving(waapi, sqlite_url, consultation):
        phone = waapi.phone("5217710000992")
        await onboarded(phone)
        await phone.run([("/idioma", "idioma"), (press("English"), "")])
        [menu] = await phone.say("/menu")
        assert menu.kind == "list" and "What would you like to do?" in menu.text
        # The list's button is WhatsApp's own word, in the citizen's language too.
        assert menu.list_button == "See options"


async def test_a_reply_left_behind_comes_in_the_citizen_s_language_from_the_next_process(
    waapi: WhatsAppCloudServer, sqlite_url: str, consultation: Consultation
) -> None:
    phone = waapi.phone("5217710000993")
    async with serving(waapi, sqlite_url, consultation):
        await onboarded(phone)
        await phone.run([("/idioma", "idioma"), (press("English"), "")])
        waapi.fail(130429, times=1000)  # the number's throughput: nothing goes out
        assert await phone.say("/menu") == []
        assert phone.last_status == 200  # stored: the reply waits in the outbox
    # The process ended before it could send it, and its lease has run out since.
    database = Database(sqlite_url)
    try:
        async with database.transaction() as session:
            await session.execute(update(OutboxStep).values(lease_until=utcnow()))
    finally:
        await database.dispose()
    waapi.rules.clear()
    async with serving(waapi, sqlite_url, consultation) as app:
        # A new process, which knows nothing of the chat yet, sends what was left.
        assert await app[WHATSAPP].sender.claim_left_behind() == 1
        [menu] = (await waapi.wait_for(phone.wa_id, len(phone.messages) + 1))[-1:]
        assert menu.kind == "list" and "What would you like to do?" in menu.text
        assert menu.list_button == "See options"
