"""The client's address: X-Forwarded-For is believed only from a proxy in PMD_TRUSTED_PROXIES."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings, SettingsError, load_settings
from web.app import create_app
from web.clients import address_key


async def _remote(request: web.Request) -> web.Response:
    return web.Response(text=request.remote or "")


async def _client(settings: Settings, consultation: Consultation) -> TestClient:
    app = create_app(settings, consultation=consultation)
    app.router.add_get("/_remote", _remote)  # what the handlers see as the client
    return TestClient(TestServer(app))


async def test_a_trusted_proxy_says_who_the_client_is(
    sqlite_url: str, consultation: Consultation
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8"
    )
    async with await _client(settings, consultation) as client:
        seen = await client.get("/_remote", headers={"X-Forwarded-For": "189.203.1.9"})
        assert await seen.text() == "189.203.1.9"
        # a chain of trusted proxies: the first address that is not one of ours
        chain = await client.get(
            "/_remote", headers={"X-Forwarded-For": "201.141.7.7, 189.203.1.9, 10.1.2.3"}
        )
        assert await chain.text() == "189.203.1.9"
        alone = await client.get("/_remote")
        assert await alone.text() == "127.0.0.1"
        broken = await client.get("/_remote", headers={"X-Forwarded-For": "no es una ip"})
        assert broken.status == 400


async def test_without_trusted_proxies_the_header_is_ignored(
    sqlite_url: str, consultation: Consultation
) -> None:
    settings = Settings(PMD_ENV="test", PMD_DATABASE_URL=sqlite_url)  # type: ignore[call-arg]
    async with await _client(settings, consultation) as client:
        seen = await client.get("/_remote", headers={"X-Forwarded-For": "189.203.1.9"})
        assert await seen.text() == "127.0.0.1"


async def test_a_proxy_not_in_the_list_is_not_believed(
    sqlite_url: str, consultation: Consultation
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_TRUSTED_PROXIES="10.0.0.1"
    )
    async with await _client(settings, consultation) as client:
        seen = await client.get("/_remote", headers={"X-Forwarded-For": "189.203.1.9"})
        assert await seen.text() == "127.0.0.1"


def test_bad_trusted_proxies_are_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="PMD_TRUSTED_PROXIES"):
        load_settings(PMD_TRUSTED_PROXIES="localhost")


def test_the_address_key_is_keyed_and_groups_an_ipv6_network() -> None:
    one = address_key("secret-one-long-enough", "189.203.1.9")
    assert one is not None and "189" not in one
    assert one != address_key("secret-two-long-enough", "189.203.1.9")
    assert one != address_key("secret-one-long-enough", "189.203.1.10")
    # a phone on IPv6 gets a whole /64 network: its addresses are one client
    assert address_key("k" * 20, "2806:2f0:9020:1::5") == address_key(
        "k" * 20, "2806:2f0:9020:1:abcd::99"
    )
    assert address_key("k" * 20, "2806:2f0:9020:1::5") != address_key(
        "k" * 20, "2806:2f0:9020:2::5"
    )
    assert address_key("k" * 20, None) is None
    assert address_key("k" * 20, "not-an-address") is None
