"""The browser chat's identity: a cookie issued and signed by the server, rotated at consent."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from pmd_domain.clock import utcnow
from pmd_domain.db.models import Participant
from pmd_domain.services import participants
from tests.web.test_webchat import WebChat
from web.identity import COOKIE, external_id
from web.keys import CONSULTATION, DATABASE, SETTINGS


def _cookie(client: TestClient) -> str | None:
    found = client.session.cookie_jar.filter_cookies(client.make_url("/participa")).get(COOKIE)
    return found.value if found else None


def _forge(client: TestClient, value: str) -> None:
    """The browser sends ``value`` as its chat cookie (in place of the one it has)."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[COOKIE] = value
    cookie[COOKIE]["path"] = "/participa"
    client.session.cookie_jar.update_cookies(cookie, client.make_url("/participa"))


async def _participants(client: TestClient) -> list[Participant]:
    async with client.server.app[DATABASE].reading() as session:
        return list(await session.scalars(select(Participant).order_by(Participant.id)))


async def _join(chat: WebChat) -> None:
    await chat.open()
    await chat.start()
    await chat.press("Acepto")


async def test_the_page_issues_a_signed_cookie_that_is_not_the_stored_identity(
    client: TestClient,
) -> None:
    await WebChat(client).open()
    value = _cookie(client)
    assert value is not None and "." in value  # token.signature
    token = value.rsplit(".", 1)[0]
    assert external_id(client.server.app[SETTINGS].secret_key, token) != value


async def test_a_cookie_the_server_did_not_issue_starts_a_fresh_stranger(
    client: TestClient,
) -> None:
    chat = WebChat(client)
    await _join(chat)
    [person] = await _participants(client)
    issued = _cookie(client)
    assert issued is not None
    # Anything else the browser might send: an unsigned value of the old shape, a
    # value with a forged signature, the stored identity itself, garbage.
    token = issued.rsplit(".", 1)[0]
    forgeries = [
        secrets.token_urlsafe(32),
        f"{token}.{'A' * 27}",
        person.external_id or "",
        token,
        "x" * 64,
    ]
    for forged in forgeries:
        _forge(client, forged)
        greeting = await chat.start()
        assert "aviso de privacidad" in greeting.lower(), forged  # a stranger's greeting
        fresh = _cookie(client)
        assert fresh not in (None, forged, issued)
    assert len(await _participants(client)) == 1  # nobody got anyone's participation


async def test_consent_rotates_the_cookie_and_the_old_value_is_worth_nothing(
    client: TestClient,
) -> None:
    chat = WebChat(client)
    await chat.open()
    await chat.start()
    before = _cookie(client)
    await chat.press("Acepto")
    after = _cookie(client)
    assert before and after and before != after
    [person] = await _participants(client)
    secret = client.server.app[SETTINGS].secret_key
    assert person.external_id == external_id(secret, after.rsplit(".", 1)[0])
    menu = await chat.start()
    assert "aviso de privacidad" not in menu.lower()  # the new cookie is the participant
    _forge(client, before)
    assert "aviso de privacidad" in (await chat.start()).lower()


async def test_a_cookie_from_before_signing_keeps_its_participant(client: TestClient) -> None:
    """Browsers that took part before cookies were signed are not thrown out."""
    app = client.server.app
    legacy = secrets.token_urlsafe(32)
    async with app[DATABASE].transaction() as session:
        await participants.register(
            session,
            consultation=app[CONSULTATION],
            channel="web",
            external_id=external_id(app[SETTINGS].secret_key, legacy),
            now=utcnow(),
        )
    chat = WebChat(client)
    _forge(client, legacy)
    text = await chat.start()
    assert "aviso de privacidad" not in text.lower()
    renewed = _cookie(client)
    assert renewed is not None and renewed.startswith(legacy + ".")
    assert len(await _participants(client)) == 1


async def test_forgetting_the_browser_clears_the_cookie(client: TestClient) -> None:
    chat = WebChat(client)
    await _join(chat)
    elsewhere = await client.post(
        "/participa/olvidar", headers={"Origin": "https://otro.example"}, allow_redirects=False
    )
    assert elsewhere.status == 403
    assert _cookie(client) is not None
    response = await client.post("/participa/olvidar", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/participa"
    assert _cookie(client) is None
    await chat.open()
    assert "aviso de privacidad" in (await chat.start()).lower()
    async with client.server.app[DATABASE].reading() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 1


async def test_the_page_offers_to_forget_the_browser(client: TestClient) -> None:
    page = await (await client.get("/participa")).text()
    assert 'action="/participa/olvidar"' in page
    assert "Salir / olvidar este navegador" in page
