"""Long polling confirms an update to Telegram only once its step has committed."""

from __future__ import annotations

from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from tests.botapi import BotApiServer
from tests.botapi.server import DROP, Call
from tests.e2e.citizens import STEP
from tests.e2e.harness import polling_bot


async def test_what_was_handled_is_confirmed_when_polling_stops(
    botapi: BotApiServer, sqlite_url: str, consultation: Consultation
) -> None:
    database = Database(sqlite_url)
    handled: list[int] = []

    async def lose_long_polls_that_confirm(call: Call) -> object:
        # The long polls that would confirm the update are lost; only a short one
        # (the confirmation when polling stops) gets through.
        offset = int(call.params.get("offset") or 0)
        waits = str(call.params.get("timeout", "0")) not in ("0", "0.0")
        return DROP if handled and offset > handled[0] and waits else None

    try:
        async with polling_bot(botapi, database, consultation):
            botapi.intercept("getUpdates", lose_long_polls_that_confirm)
            await botapi.user_sends(9801, "hola")
            handled.append(botapi.updates[-1]["update_id"])
            await botapi.wait_for_message(9801, lambda m: "bienvenida" in (m.text or ""))
            assert [u["update_id"] for u in botapi.updates] == handled
        # Stopping confirmed it: the next process does not get it again.
        assert list(botapi.updates) == []
        botapi.clear_intercepts()
        async with polling_bot(botapi, database, consultation):
            await botapi.chat(9801).run([("/ayuda", "bienvenida")], **STEP)
        assert sum("bienvenida" in (t or "") for t in botapi.texts_to(9801)) == 2
    finally:
        await database.dispose()
