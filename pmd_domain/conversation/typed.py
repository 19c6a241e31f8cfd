"""What a typed message is: a ``/command``, ``/start`` with its payload, or a text.

Every channel reads a typed message through ``inbound_of_text`` (Telegram, the browser
chat, WhatsApp), so ``/Ayuda@bot algo`` and ``/ayuda algo`` mean the same everywhere.
A text that starts with a slash but names no command (``/¿qué?``) stays a text; the
engine answers it as an unknown command.
"""

from __future__ import annotations

from pmd_domain.conversation.types import Inbound

MAX_NAME_CHARS = 32  # Telegram's limit for a command's name
MAX_START_CHARS = 64  # Telegram's limit for a deep link's payload


def command_in(text: str) -> tuple[str, str] | None:
    """``(name, arguments)`` of a typed command, else ``None``.

    The name is what follows the slash up to the first space, without a ``@bot``
    suffix, in lower case; letters, digits and ``_`` only, at most 32 characters.
    """
    stripped = text.strip()
    if len(stripped) < 2 or not stripped.startswith("/") or stripped[1].isspace():
        return None
    head, *rest = stripped[1:].split(maxsplit=1)
    name = head.split("@", 1)[0].lower()
    if not name or len(name) > MAX_NAME_CHARS or not name.replace("_", "").isalnum():
        return None
    return name, rest[0].strip() if rest else ""


def inbound_of_text(text: str, *, update_id: str | None = None) -> Inbound:
    """A typed message as the engine takes it: ``start``, ``command`` or ``text``."""
    found = command_in(text)
    if found is None:
        return Inbound(kind="text", text=text, update_id=update_id)
    name, arguments = found
    if name == "start":
        return Inbound(kind="start", text=arguments[:MAX_START_CHARS], update_id=update_id)
    return Inbound(kind="command", command=name, text=arguments, update_id=update_id)
