"""A typed message read the same way on every channel: command, /start or text."""

from __future__ import annotations

from pmd_domain.conversation.typed import command_in, inbound_of_text


def test_a_command_s_name_and_arguments() -> None:
    assert command_in("/ayuda") == ("ayuda", "")
    assert command_in("  /Ayuda@ParticipaBot   por favor  ") == ("ayuda", "por favor")
    assert command_in("/menú") == ("menú", "")
    assert command_in("/propuesta\nuna línea más") == ("propuesta", "una línea más")


def test_what_is_not_a_command() -> None:
    for text in ("hola", "/", "/ ayuda", "/¿qué?", "a/ayuda", "/" + "x" * 33, ""):
        assert command_in(text) is None, text


def test_start_takes_its_payload_and_the_rest_stays_text() -> None:
    start = inbound_of_text("/start feria_2026", update_id="u1")
    assert (start.kind, start.text, start.update_id) == ("start", "feria_2026", "u1")
    assert inbound_of_text("/start " + "p" * 100).text == "p" * 64
    command = inbound_of_text("/idioma en")
    assert (command.kind, command.command, command.text) == ("command", "idioma", "en")
    text = inbound_of_text("/¿qué?")
    assert (text.kind, text.text) == ("text", "/¿qué?")
