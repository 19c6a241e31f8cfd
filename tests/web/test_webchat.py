"""The browser chat: the same conversation over JSON, identified by a cookie."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pmd_domain.consultation import Consultation
from pmd_domain.db.models import Participant, Proposal
from pmd_domain.settings import Settings
from tests.qr import qr_texts
from web.app import create_app
from web.identity import COOKIE, external_id
from web.keys import DATABASE, SETTINGS

_ids = itertools.count()


class WebChat:
    """A citizen in the browser chat, seen through its JSON endpoint."""

    def __init__(self, client: TestClient):
        self.client = client
        self.replies: list[dict[str, Any]] = []

    async def open(self) -> None:
        response = await self.client.get("/participa")
        assert response.status == 200

    async def _post(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        message.setdefault("id", f"m{next(_ids)}")
        response = await self.client.post("/participa/mensajes", json=message)
        assert response.status == 200, await response.text()
        body = await response.json()
        self.replies = body["replies"]
        return self.replies

    async def start(self, source: str = "") -> str:
        return self.text(await self._post({"kind": "start", "text": source}))

    async def say(self, text: str) -> str:
        return self.text(await self._post({"kind": "text", "text": text}))

    async def press(self, label: str) -> str:
        for reply in reversed(self.replies):
            for row in reply["buttons"]:
                for button in row:
                    if button["label"] == label and button.get("data"):
                        return self.text(
                            await self._post({"kind": "button", "data": button["data"]})
                        )
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    def labels(self) -> list[str]:
        return [b["label"] for r in self.replies for row in r["buttons"] for b in row]

    @staticmethod
    def text(replies: list[dict[str, Any]]) -> str:
        return "\n".join(r["text"] for r in replies)


async def _consent_and_skip_questions(chat: WebChat) -> None:
    await chat.open()
    greeting = await chat.start("qr_mercados")
    assert "aviso de privacidad" in greeting.lower()
    await chat.press("Acepto")
    while "Prefiero no decir" in chat.labels():
        await chat.press("Prefiero no decir")


async def test_a_citizen_proposes_from_the_browser(client: TestClient) -> None:
    chat = WebChat(client)
    await _consent_and_skip_questions(chat)
    assert "Hacer una propuesta" in chat.labels()
    await chat.press("Hacer una propuesta")
    await chat.press("2. Servicios públicos y desarrollo sostenible")
    await chat.press("Agua potable y drenaje")
    await chat.say("En mi calle falta el agua tres días por semana.")
    vision = await chat.say("Reparar las fugas y publicar el calendario del tandeo.")
    assert "2040" in vision, (vision, chat.labels())
    preview = await chat.press("Omitir")
    assert "En mi calle falta el agua" in preview
    done = await chat.press("Enviar")
    assert "PMD23-" in done
    await chat.press("Mi constancia")
    await chat.say("María José Pérez-Núñez")
    document = chat.replies[0]["document"]
    assert document["mime"] == "application/pdf"
    pdf = base64.b64decode(document["base64"])
    [url] = qr_texts(pdf)
    verification = await client.get(url.removeprefix("http://testserver"))
    page = await verification.text()
    assert verification.status == 200
    assert "María José Pérez-Núñez" in page
    assert "Agua potable y drenaje" in page
    app = client.server.app
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/participa"))[COOKIE].value
    token = cookie.rsplit(".", 1)[0]  # the token, then our signature
    async with app[DATABASE].reading() as session:
        person = await session.scalar(select(Participant).where(Participant.channel == "web"))
        assert person is not None
        # the database keeps a keyed hash, never the browser's token itself
        assert person.external_id == external_id(app[SETTINGS].secret_key, token)
        assert person.external_id != token
        assert person.source == "qr_mercados"
        proposal = await session.scalar(select(Proposal))
        assert proposal is not None
        assert proposal.problem == "En mi calle falta el agua tres días por semana."


async def test_refusing_consent_stores_nothing(client: TestClient) -> None:
    chat = WebChat(client)
    await chat.open()
    await chat.start()
    await chat.press("No acepto")
    async with client.server.app[DATABASE].reading() as session:
        assert (await session.scalars(select(Participant))).first() is None


async def test_requests_without_the_session_cookie_or_from_elsewhere_are_refused(
    client: TestClient,
) -> None:
    response = await client.post("/participa/mensajes", json={"kind": "start", "text": ""})
    assert response.status == 403
    assert "Recarga la página" in (await response.json())["error"]
    await client.get("/participa")
    response = await client.post(
        "/participa/mensajes", json={"kind": "start"}, headers={"Origin": "https://otro.example"}
    )
    assert response.status == 403


async def test_malformed_input_gets_a_short_answer(client: TestClient) -> None:
    await client.get("/participa")
    for body in ("no es json", '{"kind": "nada"}', '{"kind": "text", "text": 5}', "[1, 2]"):
        response = await client.post(
            "/participa/mensajes", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert (await response.json())["error"] == "No entendimos ese mensaje."


async def test_a_flood_is_slowed_down_kindly(client: TestClient) -> None:
    await client.get("/participa")
    statuses = []
    for _ in range(30):
        response = await client.post("/participa/mensajes", json={"kind": "text", "text": "hola"})
        statuses.append(response.status)
    assert 429 in statuses
    assert statuses[0] == 200


async def test_after_a_reload_the_replies_can_be_fetched_again(client: TestClient) -> None:
    chat = WebChat(client)
    await chat.open()
    first = await client.post("/participa/mensajes", json={"kind": "start", "id": "w-1"})
    started = await first.json()
    assert isinstance(started["id"], int)
    chat.replies = started["replies"]
    await chat.press("Acepto")
    asked = chat.replies
    # A retried request (same id) answers the same, with the same id.
    again = await (
        await client.post("/participa/mensajes", json={"kind": "start", "id": "w-1"})
    ).json()
    assert again["duplicate"] and again["replies"] == started["replies"]
    assert again["id"] == started["id"]
    # The page reloads and asks what it missed since the greeting.
    response = await client.get(f"/participa/mensajes?desde={started['id']}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    [step] = (await response.json())["steps"]
    assert step["id"] > started["id"] and step["replies"] == asked
    everything = await (await client.get("/participa/mensajes?desde=0")).json()
    assert [s["replies"] for s in everything["steps"]] == [started["replies"], asked]


async def test_one_browser_never_sees_another_ones_replies(
    client: TestClient, settings: Settings, consultation: Consultation
) -> None:
    chat = WebChat(client)
    await chat.open()
    await chat.start()
    app = create_app(settings, consultation=consultation, migrate=False)
    async with TestClient(TestServer(app)) as other:
        await other.get("/participa")
        assert (await (await other.get("/participa/mensajes?desde=0")).json())["steps"] == []
        # Without the cookie, or with a cursor that is not a number: refused kindly.
        async with (
            ClientSession() as stranger,
            stranger.get(client.make_url("/participa/mensajes?desde=0")) as response,
        ):
            assert response.status == 403
        for cursor in ("abc", "-1", "1" * 30, ""):
            response = await other.get(f"/participa/mensajes?desde={cursor}")
            assert response.status == 400
            assert (await response.json())["error"]


async def test_the_chat_speaks_the_browsers_language_among_the_exercises(
    client: TestClient,
) -> None:
    """As the bot takes Telegram's language_code, the browser chat takes Accept-Language."""
    english = {"Accept-Language": "en-US,en;q=0.9"}
    page = await client.get("/participa", headers=english)
    html = await page.text()
    assert '<html lang="en">' in html
    response = await client.post(
        "/participa/mensajes", json={"kind": "start", "text": "", "id": "lang1"}, headers=english
    )
    body = await response.json()
    texts = "\n".join(r["text"] for r in body["replies"])
    assert "Welcome to the citizen consultation" in texts
    labels = [b["label"] for r in body["replies"] for row in r["buttons"] for b in row]
    assert "I accept" in labels


async def test_a_language_the_exercise_does_not_offer_gets_spanish(client: TestClient) -> None:
    french = {"Accept-Language": "fr-FR,fr;q=0.9"}
    page = await client.get("/participa", headers=french)
    assert '<html lang="es-MX">' in await page.text()
    response = await client.post(
        "/participa/mensajes", json={"kind": "start", "text": "", "id": "lang2"}, headers=french
    )
    texts = "\n".join(r["text"] for r in (await response.json())["replies"])
    assert "aviso de privacidad" in texts.lower()
