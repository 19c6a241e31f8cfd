"""Telegram's formatting: HTML / MarkdownV2 parsing into plain text plus entities."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any


class ParseError(Exception):
    """The text cannot be parsed with the given parse_mode (Telegram answers 400)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            raise ParseError('Unsupported start tag "br"')
        if tag not in _HTML_TAGS:
            raise ParseError(f'Unsupported start tag "{tag}"')
        extra: dict[str, Any] = {}
        values = dict(attrs)
        if tag == "a":
            href = values.get("href")
            if not href:
                raise ParseError("Can't find end of a URL")
            extra["url"] = href
        if tag == "span" and values.get("class") != "tg-spoiler":
            raise ParseError('Unsupported start tag "span"')
        if tag == "code" and values.get("class", "") and self.stack and self.stack[-1][0] == "pre":
            extra["language"] = str(values["class"]).removeprefix("language-")
        self.stack.append((tag, self.length, extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise ParseError(f'Unmatched end tag at byte offset {self.length}, expected "</{tag}>"')
        name, start, extra = self.stack.pop()
        length = self.length - start
        if length > 0:
            self.entities.append(
                {"type": _HTML_TAGS[name], "offset": start, "length": length, **extra}
            )

    def handle_data(self, data: str) -> None:
        self.out.append(data)
        self.length += utf16_len(data)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the plain text and its entities, or ParseError."""
    if re.search(r"<(?![a-zA-Z/])", text):
        # Telegram refuses a bare '<' that does not open a tag.
        raise ParseError("Unexpected end of name token")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"')
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.out), entities


_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_MARKS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's MarkdownV2: the plain text and entities; unescaped reserved chars fail."""
    out: list[str] = []
    length = 0
    open_marks: list[tuple[str, int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)

    def emit(chunk: str) -> None:
        nonlocal length
        out.append(chunk)
        length += utf16_len(chunk)

    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n and ord(text[i + 1]) <= 126:
                emit(text[i + 1])
                i += 2
                continue
            raise ParseError("Character '\\' is reserved and must be escaped")
        if ch == "`":
            fence = text.startswith("```", i)
            closing = "```" if fence else "`"
            end = text.find(closing, i + len(closing))
            if end < 0:
                raise ParseError(
                    "Can't find end of Pre entity" if fence else "Can't find end of Code entity"
                )
            body = text[i + len(closing) : end]
            kind = "code"
            extra: dict[str, Any] = {}
            if fence:
                kind = "pre"
                first, _, rest = body.partition("\n")
                if rest and first and " " not in first:
                    extra["language"] = first
                    body = rest
            body = re.sub(r"\\(.)", r"\1", body)
            start = length
            emit(body)
            entities.append({"type": kind, "offset": start, "length": length - start, **extra})
            i = end + len(closing)
            continue
        if ch == "[":
            close = text.find("](", i)
            end = text.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                raise ParseError(
                    "Character '[' is reserved and must be escaped with the preceding '\\'"
                )
            inner, _ = parse_markdown_v2(text[i + 1 : close])
            start = length
            emit(inner)
            entities.append(
                {
                    "type": "text_link",
                    "offset": start,
                    "length": length - start,
                    "url": text[close + 2 : end],
                }
            )
            i = end + 1
            continue
        mark = text[i : i + 2] if text[i : i + 2] in ("__", "||") else ch
        if mark in _MD2_MARKS:
            if open_marks and open_marks[-1][0] == mark:
                _, start = open_marks.pop()
                if length > start:
                    entities.append(
                        {"type": _MD2_MARKS[mark], "offset": start, "length": length - start}
                    )
            else:
                open_marks.append((mark, length))
            i += len(mark)
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a blockquote line (entity not emulated)
            continue
        if ch in _MD2_RESERVED:
            raise ParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if open_marks:
        raise ParseError(f"Can't find end of {_MD2_MARKS[open_marks[-1][0]].capitalize()} entity")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy Markdown: *bold*, _italic_, `code`, [text](url); loosely."""
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    plain = re.sub(r"[*_`]", "", plain)
    return plain, []


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities for ``text`` under ``parse_mode`` (None: as is)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise ParseError(f"unsupported parse_mode {parse_mode}")
    return text, []


def escape_html(text: str) -> str:
    """HTML-escape as a bot should before embedding user text."""
    return html.escape(text, quote=False)
