"""A transcript-style driver of the conversation engine against a real database."""

from __future__ import annotations

import itertools
from datetime import datetime

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.conversation import Conversation, Inbound, Outcome, Reply
from pmd_domain.conversation.types import MAX_BUTTON_DATA_BYTES, MAX_TEXT_CHARS, Button
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs

_updates = itertools.count(1)


class FixedLinks:
    """Public links of a test installation."""

    def certificate(self, token: str) -> str:
        """The verification page."""
        return f"https://participa.example/constancias/{token}"

    def privacy(self) -> str:
        """The full notice."""
        return "https://participa.example/privacidad"

    def dashboard(self) -> str:
        """The dashboard."""
        return "https://participa.example/"

    def panel_login(self, token: str) -> str:
        """A one-time login link into the staff area."""
        return f"https://participa.example/panel/entrar/{token}"

    def proposal(self, folio: str) -> str:
        """A proposal's public page."""
        return f"https://participa.example/propuestas/{folio}"


def new_conversation(consultation: Consultation) -> Conversation:
    """A conversation as a freshly started process builds it."""
    return Conversation(consultation=consultation, catalogs=Catalogs.load(), links=FixedLinks())


class Chat:
    """One citizen's chat: say things, press buttons, read the replies."""

    def __init__(
        self,
        database: Database,
        conversation: Conversation,
        *,
        external_id: str = "555",
        channel: str = "telegram",
        language_hint: str | None = "es",
        now: datetime | None = None,
    ):
        self.database = database
        self.conversation = conversation
        self.external_id = external_id
        self.channel = channel
        self.language_hint = language_hint
        self.now = now
        self.last: tuple[Reply, ...] = ()
        self.history: list[tuple[Reply, ...]] = []

    async def send(self, inbound: Inbound) -> Outcome:
        """Hand one input to the engine inside a write transaction, as a channel does."""
        async with self.database.transaction() as session:
            outcome = await self.conversation.handle(
                session,
                channel=self.channel,
                external_id=self.external_id,
                inbound=inbound,
                now=self.now or utcnow(),
            )
        for reply in outcome.replies:
            assert len(reply.text) <= MAX_TEXT_CHARS
            for row in reply.buttons:
                for button in row:
                    assert button.url or len(button.data.encode()) <= MAX_BUTTON_DATA_BYTES
        if not outcome.duplicate:
            self.history.append(self.last)
            self.last = outcome.replies
        return outcome

    def _inbound(self, kind: str, **fields: str) -> Inbound:
        return Inbound(
            kind=kind,  # type: ignore[arg-type]
            update_id=str(next(_updates)),
            language_hint=self.language_hint,
            **fields,
        )

    async def start(self, payload: str = "") -> list[str]:
        """``/start payload``."""
        return texts(await self.send(self._inbound("start", text=payload)))

    async def say(self, text: str) -> list[str]:
        """Type a message."""
        return texts(await self.send(self._inbound("text", text=text)))

    async def command(self, name: str, args: str = "") -> list[str]:
        """Send ``/name args``."""
        return texts(await self.send(self._inbound("command", command=name, text=args)))

    async def other(self, kind: str, media: str = "") -> list[str]:
        """A sticker, photo, ... (``media``), an edited or a forwarded message."""
        return texts(await self.send(self._inbound(kind, media=media, text="hola")))

    def button(self, label: str, replies: tuple[Reply, ...] | None = None) -> Button:
        """The button labelled ``label`` (exact, else the only one containing it)."""
        found = [b for r in (replies or self.last) for row in r.buttons for b in row]
        exact = [b for b in found if b.label == label]
        if exact:
            return exact[0]
        partial = [b for b in found if label.lower() in b.label.lower()]
        assert len(partial) == 1, f"no single button {label!r} in {[b.label for b in found]}"
        return partial[0]

    def labels(self) -> list[str]:
        """The labels of the buttons in the last replies."""
        return [b.label for r in self.last for row in r.buttons for b in row]

    async def press(self, label: str, replies: tuple[Reply, ...] | None = None) -> list[str]:
        """Press a button of the last replies (or of ``replies``, an older message)."""
        return await self.tap(self.button(label, replies))

    async def tap(self, button: Button) -> list[str]:
        """Press this exact button (possibly from an old message)."""
        assert button.url is None
        return texts(await self.send(self._inbound("button", data=button.data)))

    @property
    def text(self) -> str:
        """All the text of the last replies."""
        return "\n".join(r.text for r in self.last)


def texts(outcome: Outcome) -> list[str]:
    """The texts of an outcome's replies."""
    return [r.text for r in outcome.replies]
