"""The WhatsApp channel of one process: inputs in through the webhook, replies out through the outbox.

``WhatsAppChannel.handle(incoming)`` runs one citizen message: in its chat's turn
(one chat's messages strictly in arrival order, different chats side by side), one
write transaction (``Database.write``, tried again on a passing database fault) that
remembers the chat (its sealed number, the time that opens the 24-hour window,
written at most every ``SEEN_EVERY`` per chat and process),
turns a typed answer into the choice it names, and runs the conversation step, which
stores the replies in the outbox. After the commit the replies go out through the
outbox sender with ``WhatsAppTransport``; what cannot go out is tried again.
A message id already handled is not handled again (its replies are sent again only
when they were not delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from pmd_domain.aio import raise_if_cancelled
from pmd_domain.clock import utcnow
from pmd_domain.conversation import Conversation
from pmd_domain.conversation.types import Inbound, Outcome, Outgoing
from pmd_domain.db import Database
from pmd_domain.digits import is_digits
from pmd_domain.hashing import keyed_hash
from pmd_domain.i18n import Catalogs
from pmd_domain.logs import RepeatedLog
from pmd_domain.metrics import Metrics
from pmd_domain.outbox_sender import OutboxSender, Refused, TryLater, Unreachable
from pmd_domain.sealing import Sealer
from pmd_domain.services import outbox, participants, whatsapp_contacts
from pmd_domain.settings import Settings
from whatsapp import render
from whatsapp.client import UNDELIVERABLE, GraphClient, GraphError
from whatsapp.updates import CHANNEL, WA_ID_DIGITS, Incoming, Status, chosen

log = logging.getLogger("pmd.whatsapp")

HASH_PURPOSE = "whatsapp"
NUMBERS_KEPT = 50_000
STEP_PATIENCE_SECONDS = 60.0
# The inbound time is stored at most this often per chat and process: the window it
# opens is then believed to close up to this much earlier than it does, never later.
SEEN_EVERY = timedelta(minutes=10)


class ChatTurns:
    """One FIFO lock per chat, dropped as soon as nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[None]:
        """Wait for the chat's earlier messages, then hold its turn."""
        lock, users = self._locks.get(chat, (asyncio.Lock(), 0))
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat]
            if users <= 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)


@dataclass(frozen=True)
class Reach:
    """How to reach a chat outside a conversation step: its number, and whether the
    24-hour window is open (free-form messages) or closed (templates only)."""

    number: str
    window_open: bool


class WhatsAppChannel:
    """The conversation on WhatsApp in one process (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        database: Database,
        conversation: Conversation,
        catalogs: Catalogs,
        metrics: Metrics | None = None,
        client: GraphClient | None = None,
    ):
        assert settings.whatsapp_phone_number_id
        self.settings = settings
        self.phone_number_id = settings.whatsapp_phone_number_id
        self.database = database
        self.conversation = conversation
        self.catalogs = catalogs
        self.client = client or GraphClient(settings)
        self.sealer = Sealer(settings.secret_key, HASH_PURPOSE)
        self.chrome = render.Chrome.of(
            catalogs, conversation.consultation.exercise.default_language
        )
        # The channel's own words in each language (the list button, the numbered hint).
        self._chromes = {
            language: render.Chrome.of(catalogs, language) for language in catalogs.messages
        }
        self._languages: OrderedDict[str, str] = OrderedDict()  # external id -> language
        self.metrics = metrics or Metrics()
        self.sender = OutboxSender(database, WhatsAppTransport(self), metrics=self.metrics)
        self.turns = ChatTurns()
        self._numbers: OrderedDict[str, str] = OrderedDict()  # external id -> WhatsApp id
        self._chats: OrderedDict[str, str] = OrderedDict()  # WhatsApp id -> external id
        # When this process last stored each chat's inbound time (the window's start).
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._noting: dict[str, datetime] = {}  # written by a step not yet committed
        self.failures = RepeatedLog()

    def external_id(self, wa_id: str) -> str:
        """What the database knows the chat by: a keyed hash of its WhatsApp id."""
        chat = self._chats.get(wa_id)
        if chat is None:
            chat = keyed_hash(self.settings.secret_key, HASH_PURPOSE, wa_id)
            self._keep(self._chats, wa_id, chat)
        return chat

    async def start(self) -> None:
        """Start the outbox sender (replies left behind by a process that died, batches)."""
        self.sender.start()

    async def stop(self) -> None:
        """Stop the sender (what is delivered is marked) and close the HTTP client."""
        await self.sender.stop()
        await self.client.close()

    # ------------------------------------------------------------------ inbound
    async def handle(self, incoming: Incoming) -> Outcome:
        """Run one citizen message in its chat's turn; its replies are sent after the commit.

        Counted for ``/metrics`` as the other channels' steps: ``ok`` (timed, message in
        to replies out), ``reply_failed`` (stored, the replies not out yet) or ``error``.
        """
        started = time.perf_counter()
        chat = self.external_id(incoming.wa_id)
        self._remember(chat, incoming.wa_id)
        noted = self._seen.get(chat)

        async def step(session: AsyncSession) -> Outcome:
            now = utcnow()
            if noted is None or now - noted >= SEEN_EVERY:
                sealed = self.sealer.seal(incoming.wa_id)
                await whatsapp_contacts.seen(
                    session, external_id=chat, sealed_wa_id=sealed, now=now
                )
                self._noting[chat] = now
            inbound = await self._understood(session, chat, incoming.inbound)
            return await self.conversation.handle(
                session, channel=CHANNEL, external_id=chat, inbound=inbound, now=now
            )

        async with self.turns.turn(chat):
            try:
                outcome = await self.database.write(step, patience=STEP_PATIENCE_SECONDS)
            except Exception as error:
                self._noting.pop(chat, None)
                raise_if_cancelled()
                # The database kept failing for the whole patience, or a fault in the
                # code: logged without a word of the message, the citizen told kindly.
                self.failures.failure(log, "whatsapp step failed", error)
                self.metrics.observe_step(CHANNEL, 0.0, "error")
                await self._apologise(incoming.wa_id)
                return Outcome(replies=())
            when = self._noting.pop(chat, None)
            if when is not None:
                self._seen[chat] = when
                while len(self._seen) > NUMBERS_KEPT:
                    self._seen.popitem(last=False)
            if outcome.language is not None:
                self._keep(self._languages, chat, outcome.language)
            delivered = outcome.outgoing is None or await self.sender.deliver(outcome.outgoing)
        self.metrics.observe_step(
            CHANNEL, time.perf_counter() - started, "ok" if delivered else "reply_failed"
        )
        return outcome

    async def _apologise(self, wa_id: str) -> None:
        language = self.conversation.consultation.exercise.default_language
        text = self.catalogs.text(language, "whatsapp.error")
        with contextlib.suppress(GraphError):
            await self.client.send(wa_id, render.text_message(text))

    async def _understood(self, session: AsyncSession, chat: str, inbound: Inbound) -> Inbound:
        """A typed answer that names one of the choices just offered becomes that choice."""
        if inbound.kind != "text":
            return inbound
        choices = await whatsapp_contacts.latest_choices(session, external_id=chat)
        if not choices:
            return inbound
        found = chosen(inbound.text, choices, numbered=render.style(choices) == "numbered")
        if found is None:
            return inbound
        return replace(inbound, kind="button", data=found.data, text="")

    async def status(self, status: Status) -> None:
        """WhatsApp could not deliver to a number that takes no messages: unreachable."""
        if status.status != "failed" or not is_digits(status.wa_id, most=WA_ID_DIGITS):
            return
        if UNDELIVERABLE not in status.codes:
            return
        chat = self.external_id(status.wa_id)

        async def write(session: AsyncSession) -> None:
            await outbox.unreachable(session, channel=CHANNEL, external_id=chat)

        await self.database.write(write)

    # ------------------------------------------------------------------ numbers
    def _remember(self, chat: str, wa_id: str) -> None:
        self._keep(self._numbers, chat, wa_id)

    @staticmethod
    def _keep(kept: OrderedDict[str, str], chat: str, value: str) -> None:
        kept[chat] = value
        kept.move_to_end(chat)
        while len(kept) > NUMBERS_KEPT:
            kept.popitem(last=False)

    async def chrome_for(self, chat: str) -> render.Chrome:
        """The channel's words in the chat's language (the default one if it has none).

        The language of the chat's last step in this process, else its participant's:
        a reply that another process left behind comes in the citizen's language too.
        """
        language = self._languages.get(chat)
        if language is None:
            async with self.database.glance() as session:
                participant = await participants.find(session, channel=CHANNEL, external_id=chat)
                language = participant.language if participant is not None else ""
            self._keep(self._languages, chat, language)
        return self._chromes.get(language, self.chrome)

    async def reach(self, chat: str) -> Reach | None:
        """The chat's number and window, from its contact row (``None``: it never wrote)."""
        async with self.database.reading() as session:
            contact = await whatsapp_contacts.lookup(session, external_id=chat)
        number = self.sealer.open(contact.sealed_wa_id) if contact is not None else None
        if contact is None or number is None:
            return None
        return Reach(number, whatsapp_contacts.within_window(contact.last_inbound_at, utcnow()))

    async def number_of(self, chat: str) -> str | None:
        """The WhatsApp id of a chat (kept in memory, else opened from its contact row)."""
        known = self._numbers.get(chat)
        if known is not None:
            return known
        async with self.database.reading() as session:
            contact = await whatsapp_contacts.lookup(session, external_id=chat)
        number = self.sealer.open(contact.sealed_wa_id) if contact is not None else None
        if number is not None:
            self._remember(chat, number)
        return number


class WhatsAppTransport:
    """Delivers one reply of a step through the Cloud API (``pmd_domain.outbox_sender``).

    Rate limits, 5xx and network failures are tried again later; a number that takes
    no messages (131026) gives the chat up; a reply outside the 24-hour window
    (131047) and other refusals skip the reply, the reason recorded.
    """

    channel = CHANNEL

    def __init__(self, whatsapp: WhatsAppChannel):
        self.whatsapp = whatsapp

    async def deliver(self, outgoing: Outgoing, index: int) -> None:
        """Deliver ``outgoing.replies[index]`` (no edits on WhatsApp: always new messages)."""
        try:
            to = await self.whatsapp.number_of(outgoing.external_id)
            chrome = await self.whatsapp.chrome_for(outgoing.external_id)
        except Exception as error:  # the database falters: the reply waits
            raise_if_cancelled()
            raise TryLater(type(error).__name__) from None
        if to is None:
            raise Unreachable("no number")
        client = self.whatsapp.client
        try:
            for piece in render.pieces(outgoing.replies[index], chrome):
                if isinstance(piece, render.Upload):
                    document = piece.document
                    media = await client.upload(
                        document.content, mime=document.mime, filename=document.filename
                    )
                    await client.send(to, render.document_message(media, document))
                else:
                    await client.send(to, piece)
        except GraphError as error:
            if error.retry:
                raise TryLater(error.reason) from None
            if error.undeliverable:
                raise Unreachable(error.reason) from None
            raise Refused(error.reason) from None  # 131047 (window closed), 400s
