"""What one conversation step costs the database: the SQL statements it sends.

A step is the unit of SPEC §8's conversation bar; each statement is work done while
SQLite's single write lock is held. These counts are the budget: a change that adds
a statement to the common step has to say why here (the last one stores the step's
replies in the outbox, SPEC §2: a confirmation is never lost).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Inbound
from pmd_domain.db import Database
from tests.domain.conversation.chat import Chat, new_conversation


@contextmanager
def statements_of(database: Database) -> Iterator[list[str]]:
    """The SQL statements ``database`` sends while the block runs (BEGIN left out)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            sent.append(" ".join(statement.split()))

    for engine in database.write_engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in database.write_engines:
            event.remove(engine, "before_cursor_execute", record)


def _first_words(statements: list[str]) -> list[str]:
    return [" ".join(s.split()[:3]) for s in statements]


async def _answering_chat(db: Database, consultation: Consultation) -> Chat:
    chat = Chat(db, new_conversation(consultation))
    await chat.start()
    await chat.press("Acepto")
    assert "Prefiero no decir" in chat.labels()
    return chat


async def test_a_demographic_answer_costs_six_statements_seven_on_postgresql(
    db: Database, consultation: Consultation
) -> None:
    chat = await _answering_chat(db, consultation)
    option = next(label for label in chat.labels() if label != "Prefiero no decir")
    with statements_of(db) as sent:
        await chat.press(option)
    words = _first_words(sent)
    if db.is_sqlite:
        # The write lock is held from BEGIN IMMEDIATE: the participant and their state
        # come in one query, unlocked.
        assert words == [
            "INSERT INTO processed_updates",
            "SELECT participants.id, participants.channel,",
            "UPDATE participants SET",
            "INSERT INTO stat_counters",
            "UPDATE conversation_states SET",
            "INSERT INTO outbox",
        ], sent
        assert "LEFT OUTER JOIN conversation_states" in sent[1]
        # The reply's row id comes from the driver (lastrowid), not from RETURNING.
        assert "RETURNING" not in sent[-1]
    else:
        # PostgreSQL locks the state row in a query of its own (see engine._load).
        assert words == [
            "INSERT INTO processed_updates",
            "SELECT participants.id, participants.channel,",
            "SELECT conversation_states.state, conversation_states.data,",
            "UPDATE participants SET",
            "INSERT INTO stat_counters",
            "UPDATE conversation_states SET",
            "INSERT INTO outbox",
        ], sent
        assert sent[2].endswith("FOR UPDATE")
    # No savepoint around an answer that is checked before anything is written, and
    # the processed-update row is not read back. The replies are stored with the step
    # (the outbox): one statement, so that a reply survives whatever happens next.
    assert not any("SAVEPOINT" in s for s in sent), sent
    assert not any("RETURNING" in s for s in sent[:-1]), sent


async def test_a_repeated_update_costs_two_statements_and_resends_nothing_in_flight(
    db: Database, consultation: Consultation
) -> None:
    chat = await _answering_chat(db, consultation)
    button = chat.button("Prefiero no decir")
    inbound = Inbound(kind="button", data=button.data, update_id="repeated-1")
    first = await chat.send(inbound)
    assert first.replies and not first.duplicate
    with statements_of(db) as sent:
        again = await chat.send(inbound)
    # The step's replies are still leased to the process sending them: nothing to do.
    assert again.duplicate and again.replies == () and again.outgoing is None
    assert _first_words(sent) == ["INSERT INTO processed_updates", "UPDATE outbox SET"], sent


async def test_a_stale_button_changes_nothing_but_costs_no_savepoint(
    db: Database, consultation: Consultation
) -> None:
    chat = await _answering_chat(db, consultation)
    stale = chat.last
    await chat.press("Prefiero no decir")
    with statements_of(db) as sent:
        await chat.press("Prefiero no decir", replies=stale)
    assert chat.text.startswith("Ese botón es de un mensaje anterior.")
    assert not any("SAVEPOINT" in s for s in sent), sent
    assert not any(s.startswith("UPDATE participants") for s in sent), sent
