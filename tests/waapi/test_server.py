"""The local Cloud API refuses what WhatsApp refuses, with WhatsApp's error bodies."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from pmd_domain.settings import Settings
from tests.waapi import ACCESS_TOKEN, WhatsAppCloudServer
from whatsapp.client import GraphClient, GraphError

TO = "5217711112222"


def client(waapi: WhatsAppCloudServer, token: str = ACCESS_TOKEN) -> GraphClient:
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test",
        WHATSAPP_API_URL=waapi.url,
        WHATSAPP_PHONE_NUMBER_ID=waapi.phone_number_id,
        WHATSAPP_ACCESS_TOKEN=token,
    )
    return GraphClient(settings)


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "¿Qué quieres hacer?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"b{n}", "title": t}}
                    for n, t in enumerate(titles)
                ]
            },
        },
    }


def rows(count: int, title: str = "Fila") -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Elige"},
            "action": {
                "button": "Ver opciones",
                "sections": [{"rows": [{"id": f"r{n}", "title": title} for n in range(count)]}],
            },
        },
    }


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "text", "text": {"body": "x" * 4097}}, 131009),
        (buttons("Uno", "Dos", "Tres", "Cuatro"), 131009),
        (buttons("Un título de más de veinte"), 131009),
        (rows(11), 131009),
        (rows(2, title="Una fila de más de 24 letras"), 131009),
        ({"type": "document", "document": {"id": "404", "filename": "x.pdf"}}, 131053),
        ({"type": "template", "template": {"name": "nope", "language": {"code": "es_MX"}}}, 132001),
    ],
)
async def test_what_whatsapp_refuses_is_refused_with_its_error_body(
    waapi: WhatsAppCloudServer, message: dict[str, Any], code: int
) -> None:
    waapi.last_inbound[TO] = waapi.clock()
    graph = client(waapi)
    try:
        with pytest.raises(GraphError) as refused:
            await graph.send(TO, message)
    finally:
        await graph.close()
    assert refused.value.code == code
    [body] = waapi.refused
    assert set(body["error"]) == {"message", "type", "code", "error_data", "fbtrace_id"}
    assert body["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert waapi.inbox[TO] == []


async def test_the_window_the_token_and_templates(waapi: WhatsAppCloudServer) -> None:
    graph = client(waapi)
    try:
        with pytest.raises(GraphError) as outside:
            await graph.send(TO, {"type": "text", "text": {"body": "Hola"}})
        assert outside.value.code == 131047  # the citizen never wrote: templates only
        waapi.approve("pmd_difusion", "es_MX", 1)
        template = {
            "type": "template",
            "template": {
                "name": "pmd_difusion",
                "language": {"code": "es_MX"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Foro"}]}],
            },
        }
        wamid = await graph.send(TO, template)
        assert wamid.startswith("wamid.")
        assert waapi.inbox[TO][0].parameters == ["Foro"]
        media = await graph.upload(b"%PDF-1.4", mime="application/pdf", filename="c.pdf")
        assert media in waapi.media
    finally:
        await graph.close()
    stranger = client(waapi, token="EAAG-not-the-token")
    try:
        with pytest.raises(GraphError) as unauthorised:
            await stranger.send(TO, template)
        assert (unauthorised.value.status, unauthorised.value.code) == (401, 190)
    finally:
        await stranger.close()
    url = f"{waapi.url}/{waapi.phone_number_id}/messages"
    async with aiohttp.ClientSession() as http, http.post(url, json={}) as response:
        assert response.status == 401
