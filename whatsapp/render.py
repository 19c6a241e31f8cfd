"""Channel-neutral replies rendered within WhatsApp's limits, as Graph API message bodies.

- Up to 3 choices whose labels fit in 20 characters: reply buttons.
- Up to 10 choices whose labels fit in 72: a list message (row titles of at most 24
  characters; a longer label is cut in the title and given whole as the description).
- More, or longer labels: a numbered text menu; the citizen answers with the number or
  the words (``whatsapp.updates.chosen``).
- Texts are cut at 4,096 characters (the body of an interactive message at 1,024: a
  longer text goes first as text messages, the choices after it).
- Link buttons become lines of the text (``label: url``).
- A document is uploaded first (``/media``), then sent by its id, with its caption.

Nothing here talks to WhatsApp: ``pieces`` gives what to send, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pmd_domain.conversation.types import Button, Document, Reply, split_text
from pmd_domain.i18n import Catalogs

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ID = 256

Json = dict[str, Any]
Style = Literal["none", "buttons", "list", "numbered"]


@dataclass(frozen=True)
class Upload:
    """A document to upload, then send by the id the upload gives."""

    document: Document


Piece = Json | Upload


def choices_of(reply: Reply) -> tuple[Button, ...]:
    """The reply's choices in reading order (link buttons are not choices)."""
    return tuple(b for line in reply.buttons for b in line if b.url is None)


def style(choices: Sequence[Button]) -> Style:
    """How a set of choices is shown on WhatsApp."""
    if not choices:
        return "none"
    labels = [len(c.label) for c in choices]
    if len(choices) <= MAX_BUTTONS and max(labels) <= MAX_BUTTON_TITLE:
        return "buttons"
    if len(choices) <= MAX_ROWS and max(labels) <= MAX_ROW_DESCRIPTION:
        return "list"
    return "numbered"


def text_message(body: str) -> Json:
    """A text message (links are not previewed)."""
    return {"type": "text", "text": {"body": body[:MAX_TEXT], "preview_url": False}}


def _cut(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _interactive(body: str, choices: Sequence[Button], shape: Style, chrome: Chrome) -> Json:
    if shape == "buttons":
        action: Json = {
            "buttons": [
                {"type": "reply", "reply": {"id": c.data[:MAX_ID], "title": c.label}}
                for c in choices
            ]
        }
        kind = "button"
    else:
        rows = []
        for c in choices:
            row: Json = {"id": c.data[:MAX_ID], "title": _cut(c.label, MAX_ROW_TITLE)}
            if len(c.label) > MAX_ROW_TITLE:
                row["description"] = c.label[:MAX_ROW_DESCRIPTION]
            rows.append(row)
        action = {
            "button": _cut(chrome.list_button, MAX_BUTTON_TITLE),
            "sections": [{"rows": rows}],
        }
        kind = "list"
    return {
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": body}, "action": action},
    }


@dataclass(frozen=True)
class Chrome:
    """The channel's own words around the choices (from the catalogues)."""

    list_button: str
    choose: str
    numbered_hint: str

    @classmethod
    def of(cls, catalogs: Catalogs, language: str) -> Chrome:
        """The words in ``language``."""
        return cls(
            list_button=catalogs.text(language, "whatsapp.list_button"),
            choose=catalogs.text(language, "whatsapp.choose"),
            numbered_hint=catalogs.text(language, "whatsapp.numbered_hint"),
        )


def pieces(reply: Reply, chrome: Chrome) -> list[Piece]:
    """What to send for ``reply``, in order: messages, and a document to upload first."""
    links = [f"{b.label}: {b.url}" for line in reply.buttons for b in line if b.url]
    text = "\n\n".join(part for part in (reply.text, "\n".join(links)) if part)
    choices = choices_of(reply)
    shape = style(choices)
    if shape == "numbered":
        menu = "\n".join(f"{n}. {c.label}" for n, c in enumerate(choices, start=1))
        text = "\n\n".join(part for part in (text, menu, chrome.numbered_hint) if part)
    texts = split_text(text, MAX_TEXT)
    body = chrome.choose
    interactive = shape in ("buttons", "list")
    if interactive and reply.document is None and texts and len(texts[-1]) <= MAX_INTERACTIVE_BODY:
        body = texts.pop()  # the question carries its choices
    out: list[Piece] = [text_message(p) for p in texts]
    if reply.document is not None:
        out.append(Upload(reply.document))
    if interactive:
        out.append(_interactive(body, choices, shape, chrome))
    return out


def document_message(media_id: str, document: Document) -> Json:
    """The message that sends an uploaded document."""
    body: Json = {"id": media_id, "filename": document.filename}
    if document.caption:
        body["caption"] = document.caption[:MAX_CAPTION]
    return {"type": "document", "document": body}


def image_message(link: str, caption: str) -> Json:
    """A picture at an https address, with its caption (up to ``MAX_CAPTION``)."""
    body: Json = {"link": link}
    if caption:
        body["caption"] = caption[:MAX_CAPTION]
    return {"type": "image", "image": body}


def template_message(name: str, language: str, parameters: Sequence[str]) -> Json:
    """An approved template with its body parameters (no new lines: WhatsApp refuses them)."""
    template: Json = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": template_text(p)} for p in parameters],
            }
        ]
    return {"type": "template", "template": template}


def template_text(value: str) -> str:
    """A template parameter: one line, no tabs, no runs of more than four spaces."""
    return " ".join(value.replace("\t", " ").split())[:1024]
