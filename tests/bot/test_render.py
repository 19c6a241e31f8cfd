"""Pure parts of rendering: splitting long texts, building keyboards."""

from __future__ import annotations

from bot.render import keyboard, split_text
from pmd_domain.conversation.types import MAX_TEXT_CHARS, Button


def test_long_text_is_split_under_the_limit_without_losing_anything() -> None:
    text = ("Una línea de propuesta bastante larga.\n" * 300).strip()
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_TEXT_CHARS for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    unbroken = "x" * 9000
    assert [len(p) for p in split_text(unbroken)] == [4096, 4096, 808]


def test_keyboard_has_callback_and_url_buttons() -> None:
    markup = keyboard([(Button("Acepto", "c:y"), Button("Aviso", url="https://e.mx/p"))])
    assert markup == {
        "inline_keyboard": [
            [
                {"text": "Acepto", "callback_data": "c:y"},
                {"text": "Aviso", "url": "https://e.mx/p"},
            ]
        ]
    }
    assert keyboard(()) is None
