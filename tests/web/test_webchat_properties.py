"""Random requests to the browser chat's endpoint (hypothesis): never a 500.

A small run through the real aiohttp endpoint, beside the engine-level property tests
(``tests/domain/conversation/test_properties.py``): well-formed and malformed messages,
random JSON, random bytes under random content types, from one browser session. Every
answer is a 200 with replies or a short 4xx, and afterwards the stored states and
counters still agree with the rows.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pmd_domain.conversation.ui import SCREENS
from pmd_domain.db.models import ConversationState
from tests.domain.conversation.test_properties import check_counters
from web.chat import LIMITER
from web.keys import CONSULTATION, DATABASE

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
MESSAGES = st.fixed_dictionaries(
    {"kind": st.sampled_from(["start", "text", "button", "command", "otro"]) | st.text(max_size=8)},
    optional={
        "text": st.text(max_size=200) | JSON_VALUES,
        "data": st.text(max_size=80) | JSON_VALUES,
        "id": st.text(max_size=80) | st.integers(),
    },
)
BODIES = st.one_of(
    MESSAGES.map(lambda m: (json.dumps(m).encode(), "application/json")),
    JSON_VALUES.map(lambda v: (json.dumps(v).encode(), "application/json")),
    st.tuples(
        st.binary(max_size=300),
        st.sampled_from(
            [
                "application/json",
                "application/json; charset=zzz",
                "text/plain",
                "",
                "multipart/form-data",
            ]
        ),
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests=st.lists(BODIES, min_size=1, max_size=8))
async def test_random_requests_get_a_reply_or_a_short_4xx(
    client: TestClient, requests: list[tuple[bytes, str]]
) -> None:
    app = client.server.app
    assert app is not None
    app[LIMITER].burst = app[LIMITER].refill = 1e9  # one browser sends them all
    if not client.session.cookie_jar.filter_cookies(client.make_url("/participa")):
        assert (await client.get("/participa")).status == 200
    for body, content_type in requests:
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client.post("/participa/mensajes", data=body, headers=headers)
        assert response.status in (200, 400, 413), response.status
        answer: dict[str, Any] = await response.json()
        if response.status == 200:
            assert all(isinstance(r["text"], str) for r in answer["replies"])
        else:
            assert 0 < len(answer["error"]) < 80
    async with app[DATABASE].reading() as session:
        states = set(await session.scalars(select(ConversationState.state)))
        assert states <= set(SCREENS)
        await check_counters(session, app[CONSULTATION])
