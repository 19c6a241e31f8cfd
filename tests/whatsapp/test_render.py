"""Replies rendered within WhatsApp's limits; typed answers that name a choice."""

from __future__ import annotations

from pmd_domain.conversation.types import Button, Document, Reply
from pmd_domain.i18n import Catalogs
from whatsapp import render
from whatsapp.render import Chrome, Upload, pieces, style, template_message
from whatsapp.updates import chosen

CHROME = Chrome.of(Catalogs.load(), "es")


def buttons(*labels: str) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(label=label, data=f"7:{n}"),) for n, label in enumerate(labels))


def test_up_to_three_short_choices_are_reply_buttons_under_the_question() -> None:
    [message] = pieces(Reply(text="¿Aceptas?", buttons=buttons("Acepto", "No acepto")), CHROME)
    assert message["type"] == "interactive"
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "¿Aceptas?"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "7:0", "title": "Acepto"},
        {"id": "7:1", "title": "No acepto"},
    ]


def test_four_to_ten_choices_or_long_labels_are_a_list_with_whole_names_as_descriptions() -> None:
    long = "2. Servicios públicos y desarrollo sostenible"
    reply = Reply(text="¿De qué eje?", buttons=buttons("1. Bienestar social", long, "Cancelar"))
    assert style(render.choices_of(reply)) == "list"
    [message] = pieces(reply, CHROME)
    action = message["interactive"]["action"]
    assert len(action["button"]) <= 20
    rows = action["sections"][0]["rows"]
    assert all(len(r["title"]) <= 24 for r in rows)
    assert rows[1]["description"] == long and rows[1]["title"].endswith("…")
    assert "description" not in rows[0]


def test_more_than_ten_choices_are_a_numbered_menu_that_takes_the_number_or_the_words() -> None:
    labels = [f"Colonia {n}" for n in range(1, 13)]
    reply = Reply(text="¿En qué colonia vives?", buttons=buttons(*labels))
    choices = render.choices_of(reply)
    assert style(choices) == "numbered"
    [message] = pieces(reply, CHROME)
    assert message["type"] == "text"
    body = message["text"]["body"]
    assert "1. Colonia 1\n" in body and "12. Colonia 12" in body
    assert CHROME.numbered_hint in body
    assert chosen("12", choices, numbered=True) == choices[11]
    assert chosen("  colonia 3 ", choices, numbered=True) == choices[2]
    assert chosen("13", choices, numbered=True) is None
    # in a list or with buttons a number is just text (a postal code, a year)
    assert chosen("2", choices[:3], numbered=False) is None


def test_words_match_without_accents_or_case() -> None:
    choices = render.choices_of(Reply(text="?", buttons=buttons("Sí", "Prefiero no decir")))
    assert chosen("si", choices, numbered=False) == choices[0]
    assert chosen("PREFIERO NO DECIR.", choices, numbered=False) == choices[1]
    assert chosen("prefiero", choices, numbered=False) is None


def test_long_texts_are_cut_and_the_choices_follow_the_last_piece() -> None:
    text = ("Una línea de la propuesta que se repite.\n" * 200).strip()
    sent = pieces(Reply(text=text, buttons=buttons("Enviar", "Corregir")), CHROME)
    texts = [p["text"]["body"] for p in sent if isinstance(p, dict) and p["type"] == "text"]
    assert all(len(t) <= 4096 for t in texts)
    interactive = sent[-1]
    assert isinstance(interactive, dict) and interactive["type"] == "interactive"
    assert len(interactive["interactive"]["body"]["text"]) <= 1024
    assert "".join([*texts, interactive["interactive"]["body"]["text"]]).replace(
        "\n", ""
    ) == text.replace("\n", "")


def test_a_document_is_uploaded_then_sent_and_link_buttons_become_lines() -> None:
    pdf = Document(filename="constancia.pdf", content=b"%PDF-1.4", mime="application/pdf")
    link = Button(label="Ver en la web", url="https://participa.example/propuestas/PMD23-000001")
    sent = pieces(
        Reply(text="Tu constancia:", document=pdf, buttons=((link,), (Button("Menú", "m"),))),
        CHROME,
    )
    assert sent[0] == render.text_message(
        "Tu constancia:\n\nVer en la web: https://participa.example/propuestas/PMD23-000001"
    )
    assert sent[1] == Upload(pdf)
    assert sent[2]["interactive"]["body"]["text"] == CHROME.choose  # type: ignore[index]


def test_template_parameters_are_one_line() -> None:
    message = template_message("pmd_difusion", "es_MX", ["Foro\n\tvecinal      hoy"])
    assert message["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Foro vecinal hoy"}
    ]
