"""An in-memory Telegram Bot API server (aiohttp) for tests and benchmarks.

The real python-telegram-bot talks to it over HTTP; the test drives the users' side
(``user_sends``, ``user_presses`` ...) and observes what the bot did (``messages_to``,
``wait_for_message``, ``calls`` ...).  See docs/testing.md, "The local Bot API server".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import itertools
import json
import math
import mimetypes
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from multidict import MultiDictProxy

from tests.botapi.entities import ParseError, parse, utf16_len

TOKEN_RE = re.compile(r"^(\d+):[A-Za-z0-9_-]{10,}$")
DEFAULT_TOKEN = "123456789:TEST-token-for-local-bot-api"
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendaudio",
        "sendvoice",
        "sendvideo",
        "sendanimation",
        "sendsticker",
        "sendlocation",
        "sendcontact",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
        "sendpoll",
        "senddice",
    }
)
EDIT_METHODS = frozenset(
    {"editmessagetext", "editmessagereplymarkup", "editmessagecaption", "editmessagemedia"}
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "allowed_updates",
        "commands",
        "scope",
        "media",
    }
)


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(description: str) -> ApiError:
    """A 400 Bad Request with Telegram's wording."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Call:
    """One Bot API request as the server saw it."""

    t: float
    method: str
    chat_id: int | None
    params: dict[str, Any]
    status: int = 200
    result: Any = None  # what the server answered (getUpdates: the updates)


@dataclass
class Violation:
    """A call to (method, chat) made before a retry_after given earlier had elapsed."""

    t: float
    method: str
    chat_id: int | None
    retry_after: int
    early_by: float


@dataclass
class StoredFile:
    """A file the bot uploaded (or a user sent), readable back by file_id."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class BotMessage:
    """A message the bot sent, in its current state (edits applied)."""

    chat_id: int
    message_id: int
    data: dict[str, Any]
    raw_text: str | None = None
    parse_mode: str | None = None
    file: StoredFile | None = None
    deleted: bool = False
    edits: int = 0
    sent_markup: dict[str, Any] | None = None
    sent_at: float = 0.0
    edited_at: float | None = None

    @property
    def text(self) -> str | None:
        """The plain text (entities parsed away), or the caption for media."""
        return self.data.get("text", self.data.get("caption"))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The current reply markup, as Telegram echoes it."""
        return self.data.get("reply_markup")

    @property
    def file_bytes(self) -> bytes | None:
        """The bytes of the document/photo, if any."""
        return self.file.data if self.file else None

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, flattened row by row."""
        markup = self.data.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def keyboard_buttons(self) -> list[dict[str, Any]]:
        """Reply keyboard buttons sent with this message (as dicts with "text"), flattened."""
        return _keyboard_buttons(self.sent_markup)

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline keyboard, else of the reply keyboard sent with it."""
        return [b["text"] for b in self.inline_buttons or self.keyboard_buttons]

    def public(self) -> dict[str, Any]:
        """The Telegram Message object (without the server's private keys)."""
        return {k: v for k, v in self.data.items() if not k.startswith("_")}


@dataclass
class ChatState:
    """Everything the server knows about one private chat."""

    chat_id: int
    first_name: str
    language_code: str | None
    username: str | None = None
    last_name: str | None = None
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    bot_messages: list[BotMessage] = field(default_factory=list)
    by_id: dict[int, BotMessage] = field(default_factory=dict)
    changes: list[int] = field(default_factory=list)  # message_id per change (send/edit)
    reply_keyboard: dict[str, Any] | None = None  # the ReplyKeyboardMarkup in force
    condition: asyncio.Condition | None = None

    def user(self) -> dict[str, Any]:
        """The Telegram User object of this chat's person."""
        user: dict[str, Any] = {"id": self.chat_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        """The Telegram Chat object (private)."""
        chat: dict[str, Any] = {
            "id": self.chat_id,
            "type": "private",
            "first_name": self.first_name,
        }
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class _Rule429:
    method: str | None
    chat_id: int | None
    count: int
    retry_after: int


@dataclass
class _Outage:
    """Matching calls fail with ``status`` until ``until`` (monotonic) or for ``count`` calls."""

    method: str | None
    chat_id: int | None
    status: int
    until: float | None
    count: int | None
    retry_after: int = 1
    wait: float = 0.0  # a delay: how long the call is held before it is handled

    def matches(self, method: str, chat_id: int | None, now: float) -> bool:
        if self.method is None and method == "getupdates":
            return False  # "any method" means the bot's own calls, not its polling
        if self.method not in (None, method) or self.chat_id not in (None, chat_id):
            return False
        if self.until is not None and now >= self.until:
            return False
        return self.count is None or self.count > 0


DROP = object()  # returned by an ``intercept`` hook: the call never reaches "Telegram"
LOSE_ANSWER = object()  # ... the call is carried out, but its answer never reaches the bot
Hook = Callable[[Call], Awaitable[object]]


class BotApiServer:
    """The local Bot API server; one bot, any number of private chats, all in memory."""

    def __init__(
        self,
        *,
        bot_username: str = "participa_pmd_bot",
        bot_first_name: str = "Participa PMD",
        create_unknown_chats: bool = False,
        webhook_retries: int = 3,
        webhook_retry_for: float | None = None,
        webhook_timeout: float = 30.0,
    ) -> None:
        """Configure; ``create_unknown_chats`` makes any positive chat_id a known chat.

        A webhook delivery that fails is tried again ``webhook_retries`` times, or, with
        ``webhook_retry_for``, until that many seconds have passed since its first try
        (as Telegram keeps an update for a while), waiting longer each time.
        """
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.create_unknown_chats = create_unknown_chats
        self.webhook_retries = webhook_retries
        self.webhook_retry_for = webhook_retry_for
        self.webhook_timeout = webhook_timeout
        self.bot_id = int(DEFAULT_TOKEN.split(":")[0])
        self.host = "127.0.0.1"
        self.port = 0
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self.updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 100_000_001
        self._updates_cond: asyncio.Condition | None = None
        self._poll_generation = 0
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] | None = None
        self.webhook_deliveries: list[dict[str, Any]] = []
        self._webhook_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_turns: dict[int | None, asyncio.Lock] = {}
        self._webhook_sends: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._slots_limit = 0
        self._client: ClientSession | None = None
        self._calls: list[Call] = []
        self._calls_by_method: dict[str, list[Call]] = defaultdict(list)
        self.violations: list[Violation] = []
        self.global_violations: list[Violation] = []
        self._global_retry_until: tuple[float, int] | None = None
        self._rules_429: list[_Rule429] = []
        self._outages: list[_Outage] = []
        self._delays: list[_Outage] = []
        self._hooks: list[tuple[str, Hook]] = []
        self._retry_until: dict[tuple[str, int | None], tuple[float, int]] = {}
        self._limits: tuple[float, float] | None = None
        self._global_window: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self.blocked: set[int] = set()
        self.callback_answers: list[dict[str, Any]] = []
        self._answers_event = asyncio.Event()
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants: ``{url}/bot``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url`` wants: ``{url}/file/bot``."""
        return f"{self.url}/file/bot"

    def application_builder(self, token: str = DEFAULT_TOKEN) -> Any:
        """A PTB ``ApplicationBuilder`` pointed at this server."""
        from telegram.ext import Application

        return (
            Application.builder()
            .token(token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    def bot(self, token: str = DEFAULT_TOKEN) -> Any:
        """A PTB ``Bot`` pointed at this server (use ``async with``)."""
        from telegram import Bot

        return Bot(token, base_url=self.base_url, base_file_url=self.base_file_url)

    @contextlib.asynccontextmanager
    async def polling(self, application: Any, *, timeout: int = 5) -> AsyncIterator[Any]:
        """Run a PTB ``Application`` in polling mode against this server for the block.

        ``async with botapi.polling(app):`` initializes, starts, polls (poll_interval 0),
        then stops the updater, the application and shuts it down, as PTB wants.
        """
        await application.initialize()
        try:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=timeout)
            try:
                yield application
            finally:
                if application.updater.running:
                    await application.updater.stop()
                if application.running:
                    await application.stop()
        finally:
            await application.shutdown()

    def make_app(self) -> web.Application:
        """The aiohttp application (routes only; state lives in this object)."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self, port: int = 0) -> str:
        """Start listening on 127.0.0.1 (``port`` 0: a free one) in the running loop."""
        self.loop = asyncio.get_running_loop()
        self._closing = False
        self._updates_cond = asyncio.Condition()
        for chat in self.chats.values():
            chat.condition = asyncio.Condition()
        self._client = ClientSession(timeout=ClientTimeout(total=10))
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        if port == 0:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            self.port = sock.getsockname()[1]
            site: web.BaseSite = web.SockSite(self._runner, sock)
        else:
            self.port = port
            site = web.TCPSite(self._runner, self.host, port)
        await site.start()
        return self.url

    async def stop(self) -> None:
        """Stop serving; wakes long polls so they answer at once."""
        self._closing = True
        if self._updates_cond is not None:
            async with self._updates_cond:
                self._updates_cond.notify_all()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        for send in list(self._webhook_sends):
            send.cancel()
        if self._webhook_sends:
            await asyncio.gather(*self._webhook_sends, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> BotApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, port: int = 0) -> str:
        """Run the server in its own thread and event loop; returns the base URL."""
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                ready.set_result(loop.run_until_complete(self.start(port)))
            except BaseException as exc:  # pragma: no cover - reported to the caller
                ready.set_exception(exc)
                return
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=main, name="botapi", daemon=True)
        self._thread.start()
        return ready.result(timeout=10)

    def stop_thread(self) -> None:
        """Stop a server started with ``start_in_thread``."""
        if self._thread is None or self.loop is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def run_sync(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func`` (sync or async) in the server's loop from another thread; its result."""
        assert self.loop is not None, "server not started"
        if asyncio.iscoroutinefunction(func):
            return asyncio.run_coroutine_threadsafe(func(*args, **kwargs), self.loop).result(60)
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            try:
                fut.set_result(func(*args, **kwargs))
            except BaseException as exc:
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(call)
        return fut.result(60)

    @property
    def sync(self) -> _SyncProxy:
        """Thread-safe proxy: ``server.sync.user_sends(1, "hola")`` from any thread."""
        return _SyncProxy(self)

    # ------------------------------------------------------------------ users & chats
    def add_user(
        self,
        chat_id: int,
        *,
        first_name: str = "Ana",
        language_code: str | None = "es",
        username: str | None = None,
        last_name: str | None = None,
    ) -> ChatState:
        """Register a private chat (a person who has opened the bot); idempotent."""
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = ChatState(chat_id, first_name, language_code, username, last_name)
            if self.loop is not None:
                chat.condition = asyncio.Condition()
            self.chats[chat_id] = chat
        return chat

    def add_users(self, chat_ids: Iterable[int], **kwargs: Any) -> None:
        """Register many private chats at once."""
        for chat_id in chat_ids:
            self.add_user(chat_id, **kwargs)

    def chat(self, chat_id: int, **user: Any) -> ChatSession:
        """A transcript helper for one user: ``await chat.say("/start")``, ``chat.press``."""
        self.add_user(chat_id, **user)
        return ChatSession(self, chat_id)

    def sync_chat(self, chat_id: int, **user: Any) -> SyncChatSession:
        """``chat`` for synchronous code, when the server runs via ``start_in_thread``."""
        self.run_sync(self.add_user, chat_id, **user)
        return SyncChatSession(self, chat_id)

    def _user_chat(
        self, chat_id: int, first_name: str | None, language_code: str | None
    ) -> ChatState:
        chat = self.add_user(chat_id)
        if first_name is not None:
            chat.first_name = first_name
        if language_code is not None:
            chat.language_code = language_code
        return chat

    def _new_user_message(self, chat: ChatState, **content: Any) -> dict[str, Any]:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message = {
            "message_id": message_id,
            "from": chat.user(),
            "chat": chat.chat(),
            "date": int(time.time()),
            **content,
        }
        chat.messages[message_id] = message
        return message

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (``update_id`` is assigned if missing) for polling or webhook."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        if self.webhook is not None:
            allowed = self.webhook.get("allowed_updates")
            if allowed and not any(k in update for k in allowed):
                return update
            assert self._webhook_queue is not None
            self._webhook_queue.put_nowait(update)
            return update
        self.updates.append(update)
        if self._updates_cond is not None:
            async with self._updates_cond:
                self._updates_cond.notify_all()
        return update

    async def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """The user types ``text``; /commands get a ``bot_command`` entity. Returns the Message."""
        chat = self._user_chat(chat_id, first_name, language_code)
        content: dict[str, Any] = {"text": text}
        match = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if match:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}
            ]
        if reply_to_message_id is not None:
            content["reply_to_message"] = self._message_dict(chat, reply_to_message_id)
        message = self._new_user_message(chat, **content)
        await self.push_update({"message": message})
        return message

    async def user_presses(
        self, chat_id: int, message: BotMessage | int, callback_data: str
    ) -> dict[str, Any]:
        """The user presses the inline button carrying ``callback_data``; returns the query."""
        chat = self._chat_or_error(chat_id)
        msg = message if isinstance(message, BotMessage) else chat.by_id[message]
        if callback_data not in [b.get("callback_data") for b in msg.inline_buttons]:
            raise ValueError(f"message {msg.message_id} has no button with data {callback_data!r}")
        return await self.user_presses_shown_before(chat_id, msg, callback_data)

    async def user_presses_shown_before(
        self, chat_id: int, message: BotMessage | int, callback_data: str
    ) -> dict[str, Any]:
        """A press of a button ``message`` showed before an edit (one that raced the edit)."""
        chat = self._chat_or_error(chat_id)
        msg = message if isinstance(message, BotMessage) else chat.by_id[message]
        query = {
            "id": str(4_000_000_000_000 + next(self._callback_ids)),
            "from": chat.user(),
            "chat_instance": str(int(hashlib.sha1(str(chat_id).encode()).hexdigest()[:12], 16)),
            "message": msg.public(),
            "data": callback_data,
        }
        self._callback_queries[query["id"]] = query
        await self.push_update({"callback_query": query})
        return query

    async def user_presses_label(self, chat_id: int, label: str) -> dict[str, Any]:
        """Press the button labelled ``label`` in the latest bot message that has it."""
        chat = self._chat_or_error(chat_id)
        for msg in reversed(chat.bot_messages):
            if msg.deleted:
                continue
            for button in msg.inline_buttons:
                if button.get("text") == label and "callback_data" in button:
                    return await self.user_presses(chat_id, msg, button["callback_data"])
        if label in self.reply_keyboard(chat_id):
            return await self.user_sends(chat_id, label)
        raise ValueError(
            f"no button labelled {label!r} in chat {chat_id}; "
            f"inline: {self.inline_buttons(chat_id)!r}, keyboard: {self.reply_keyboard(chat_id)!r}"
        )

    def reply_keyboard(self, chat_id: int) -> list[str]:
        """Labels of the reply keyboard in force in this chat (until a remove_keyboard)."""
        chat = self.chats.get(chat_id)
        return [b["text"] for b in _keyboard_buttons(chat.reply_keyboard if chat else None)]

    def inline_buttons(self, chat_id: int) -> list[str]:
        """Labels of the inline keyboard of the latest bot message that has one."""
        for msg in reversed(self.messages_to(chat_id)):
            if msg.inline_buttons:
                return [b["text"] for b in msg.inline_buttons]
        return []

    async def user_edits(self, chat_id: int, message_id: int, new_text: str) -> dict[str, Any]:
        """The user edits one of their messages (an ``edited_message`` update)."""
        chat = self._chat_or_error(chat_id)
        message = dict(chat.messages[message_id], text=new_text, edit_date=int(time.time()))
        chat.messages[message_id] = message
        await self.push_update({"edited_message": message})
        return message

    async def user_forwards(
        self, chat_id: int, text: str, *, sender_name: str = "Otra persona"
    ) -> dict[str, Any]:
        """The user forwards someone else's text message (``forward_origin`` hidden_user)."""
        chat = self._user_chat(chat_id, None, None)
        origin = {
            "type": "hidden_user",
            "sender_user_name": sender_name,
            "date": int(time.time()) - 60,
        }
        message = self._new_user_message(chat, text=text, forward_origin=origin)
        await self.push_update({"message": message})
        return message

    async def _user_media(self, chat_id: int, **content: Any) -> dict[str, Any]:
        chat = self._user_chat(chat_id, None, None)
        message = self._new_user_message(chat, **content)
        await self.push_update({"message": message})
        return message

    def _user_file(self, data: bytes, kind: str, name: str | None, mime: str | None) -> StoredFile:
        return self._store_file(data, kind, name, mime)

    async def user_sends_sticker(self, chat_id: int, emoji: str = "👍") -> dict[str, Any]:
        """The user sends a sticker."""
        f = self._user_file(b"RIFF0000WEBP", "stickers", "sticker.webp", "image/webp")
        sticker = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(f.data),
        }
        return await self._user_media(chat_id, sticker=sticker)

    async def user_sends_photo(
        self, chat_id: int, data: bytes | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        """The user sends a photo (default: a real 90×90 JPEG), optionally with a caption."""
        data = _tiny_jpeg() if data is None else data
        f = self._user_file(data, "photos", None, "image/jpeg")
        sizes = [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "width": 90,
                "height": 90,
                "file_size": len(data),
            }
        ]
        extra = {"caption": caption} if caption else {}
        return await self._user_media(chat_id, photo=sizes, **extra)

    async def user_sends_voice(self, chat_id: int, duration: int = 3) -> dict[str, Any]:
        """The user sends a voice note."""
        f = self._user_file(b"OggS voice", "voice", None, "audio/ogg")
        voice = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(f.data),
        }
        return await self._user_media(chat_id, voice=voice)

    async def user_sends_location(
        self, chat_id: int, latitude: float = 20.1011, longitude: float = -98.7591
    ) -> dict[str, Any]:
        """The user shares a location (default: Pachuca)."""
        return await self._user_media(
            chat_id, location={"latitude": latitude, "longitude": longitude}
        )

    async def user_sends_document(
        self,
        chat_id: int,
        data: bytes = b"%PDF-1.4 test",
        file_name: str = "documento.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> dict[str, Any]:
        """The user sends a document."""
        f = self._user_file(data, "documents", file_name, mime_type)
        extra = {"caption": caption} if caption else {}
        return await self._user_media(chat_id, document=self._document_obj(f), **extra)

    async def user_sends_contact(
        self, chat_id: int, phone_number: str = "+527711234567", first_name: str = "Ana"
    ) -> dict[str, Any]:
        """The user shares a contact (their own by default)."""
        contact = {"phone_number": phone_number, "first_name": first_name, "user_id": chat_id}
        return await self._user_media(chat_id, contact=contact)

    # ------------------------------------------------------------------ failures
    def inject_429(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        count: int = 1,
        retry_after: int = 1,
    ) -> None:
        """The next ``count`` calls of ``method`` (to ``chat_id``; None: any) answer 429."""
        self._rules_429.append(
            _Rule429(method.lower() if method else None, chat_id, count, retry_after)
        )

    def fail(
        self,
        method: str | None = None,
        *,
        status: int = 502,
        seconds: float | None = None,
        count: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Matching calls answer ``status`` (a 5xx, with Telegram's JSON error body).

        For ``seconds`` from now, or for the next ``count`` calls (one of them); ``method``
        None means every call of the bot but getUpdates.
        """
        self._outages.append(_Outage(_lower(method), chat_id, status, _until(seconds), count))

    def flood(
        self,
        method: str | None = None,
        *,
        seconds: float,
        retry_after: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """For ``seconds`` from now every matching call answers 429 with ``retry_after``.

        A call made before a given ``retry_after`` elapsed lands in ``violations``.
        """
        self._outages.append(
            _Outage(_lower(method), chat_id, 429, _until(seconds), None, retry_after)
        )

    def delay(
        self,
        method: str | None = None,
        *,
        by: float,
        seconds: float | None = None,
        count: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Matching calls are handled only ``by`` seconds after they arrive.

        The call still takes effect (a message is delivered) even when the bot gave up
        waiting for the answer, as with Telegram.
        """
        self._delays.append(_Outage(_lower(method), chat_id, 0, _until(seconds), count, wait=by))

    def intercept(self, method: str, hook: Hook) -> None:
        """Await ``hook(call)`` before every call of ``method``; it may lose the call.

        ``DROP``: the call is not carried out and its connection is closed without an
        answer, as when the request never reached Telegram. ``LOSE_ANSWER``: the call
        is carried out (a message is delivered) but the connection is closed before
        the answer, as when the answer was lost on its way back. Hooks run in the
        order given; ``clear_intercepts`` removes them.
        """
        self._hooks.append((method.lower(), hook))

    def clear_intercepts(self) -> None:
        """Forget every ``intercept`` hook."""
        self._hooks.clear()

    def heal(self) -> None:
        """End every failure, 429 window and delay set with ``fail``, ``flood`` or ``delay``."""
        self._outages.clear()
        self._delays.clear()

    def _outage(self, method: str, chat_id: int | None, now: float) -> None:
        for outage in self._outages:
            if outage.matches(method, chat_id, now):
                if outage.count is not None:
                    outage.count -= 1
                if outage.status == 429:
                    raise self._too_many((method, chat_id), now, outage.retry_after)
                raise ApiError(outage.status, _PHRASES.get(outage.status, "Server Error"))

    def _delay_of(self, method: str, chat_id: int | None, now: float) -> float:
        for delay in self._delays:
            if delay.matches(method, chat_id, now):
                if delay.count is not None:
                    delay.count -= 1
                return delay.wait
        return 0.0

    def enforce_limits(self, global_per_second: float = 30, per_chat_per_second: float = 1) -> None:
        """Answer 429 to sends/edits beyond Telegram's limits (global and per chat).

        A send to (method, chat) before an earlier retry_after elapsed lands in
        ``violations``; any send or edit while a *global* 429's retry_after runs lands in
        ``global_violations`` (Telegram's flood wait applies to the whole bot).
        """
        self._limits = (global_per_second, per_chat_per_second)

    def relax_limits(self) -> None:
        """Stop enforcing rate limits."""
        self._limits = None

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends to the chat answer 403."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The user unblocked the bot."""
        self.blocked.discard(chat_id)

    def _check_failures(self, method: str, chat_id: int | None, now: float) -> None:
        key = (method, chat_id)
        until = self._retry_until.get(key)
        if until is not None:
            if now < until[0]:
                self.violations.append(Violation(now, method, chat_id, until[1], until[0] - now))
                if self._limits is not None:
                    raise self._too_many(key, now, max(1, math.ceil(until[0] - now)), record=False)
            else:
                del self._retry_until[key]
        if self._outages:
            self._outage(method, chat_id, time.monotonic())
        for rule in self._rules_429:
            if rule.method is None and method == "getupdates":
                continue  # "any method" means the bot's own calls, not its polling
            if rule.count > 0 and rule.method in (None, method) and rule.chat_id in (None, chat_id):
                rule.count -= 1
                if rule.count == 0:
                    self._rules_429.remove(rule)
                raise self._too_many(key, now, rule.retry_after)
        if (
            chat_id is not None
            and chat_id in self.blocked
            and (method in SEND_METHODS or method == "sendchataction")
        ):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        limited = method in SEND_METHODS or method in EDIT_METHODS
        if limited and self._global_retry_until is not None:
            if now < self._global_retry_until[0]:
                self.global_violations.append(
                    Violation(
                        now,
                        method,
                        chat_id,
                        self._global_retry_until[1],
                        self._global_retry_until[0] - now,
                    )
                )
            else:
                self._global_retry_until = None
        if self._limits is not None and limited:
            global_limit, chat_limit = self._limits
            window = self._global_window
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= global_limit:
                retry_after = max(1, math.ceil(1.0 - (now - window[0])))
                if self._global_retry_until is None:
                    self._global_retry_until = (now + retry_after, retry_after)
                raise self._too_many(key, now, retry_after)
            if chat_id is not None:
                last = self._chat_last.get(chat_id)
                gap = 1.0 / chat_limit
                if last is not None and now - last < gap:
                    raise self._too_many(key, now, max(1, math.ceil(gap - (now - last))))
                self._chat_last[chat_id] = now
            window.append(now)

    def _too_many(
        self, key: tuple[str, int | None], now: float, retry_after: int, *, record: bool = True
    ) -> ApiError:
        if record:
            self._retry_until[key] = (now + retry_after, retry_after)
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    # ------------------------------------------------------------------ observing
    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls (all, or of one method, case-insensitive)."""
        if method is None:
            return list(self._calls)
        return list(self._calls_by_method.get(method.lower(), []))

    def clear_calls(self) -> None:
        """Forget the recorded calls (e.g. between benchmark phases)."""
        self._calls.clear()
        self._calls_by_method.clear()

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """The bot's messages in this chat, in order, in their current state."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.bot_messages if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> BotMessage | None:
        """The bot's latest (not deleted) message in this chat."""
        messages = self.messages_to(chat_id)
        return messages[-1] if messages else None

    def texts_to(self, chat_id: int) -> list[str | None]:
        """The texts (or captions) of the bot's messages in this chat."""
        return [m.text for m in self.messages_to(chat_id)]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The bot's command list for a scope (default scope) and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    def change_count(self, chat_id: int) -> int:
        """A cursor: how many sends/edits/deletes the bot has made in this chat."""
        chat = self.chats.get(chat_id)
        return len(chat.changes) if chat else 0

    def changed_since(self, chat_id: int, cursor: int) -> list[BotMessage]:
        """Bot messages sent or edited after ``cursor`` (see ``change_count``), by message order."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        ids = sorted(set(chat.changes[cursor:]))
        return [chat.by_id[i] for i in ids if not chat.by_id[i].deleted]

    def _condition(self, chat_id: int) -> asyncio.Condition:
        chat = self.add_user(chat_id)
        if chat.condition is None:
            chat.condition = asyncio.Condition()
        return chat.condition

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> BotMessage:
        """The first bot message (index >= ``since``) matching ``predicate``; waits for it."""

        def found() -> BotMessage | None:
            for m in self.messages_to(chat_id, include_deleted=True)[since:]:
                if not m.deleted and (predicate is None or predicate(m)):
                    return m
            return None

        cond = self._condition(chat_id)
        result: BotMessage | None = None

        def ready() -> bool:
            nonlocal result
            result = found()
            return result is not None

        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(ready), timeout)
            except TimeoutError:
                raise TimeoutError(self._timeout_text(chat_id, "a matching message")) from None
        assert result is not None
        return result

    async def wait_for_new_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0, *, since: int | None = None
    ) -> list[BotMessage]:
        """Wait until the chat has ``count`` more bot messages than ``since`` (default: now)."""
        start = len(self.messages_to(chat_id, include_deleted=True)) if since is None else since
        cond = self._condition(chat_id)
        async with cond:
            try:
                await asyncio.wait_for(
                    cond.wait_for(lambda: len(self.chats[chat_id].bot_messages) >= start + count),
                    timeout,
                )
            except TimeoutError:
                raise TimeoutError(self._timeout_text(chat_id, f"{count} new message(s)")) from None
        return [m for m in self.chats[chat_id].bot_messages[start:] if not m.deleted]

    async def wait_for_changes(
        self,
        chat_id: int,
        cursor: int,
        *,
        count: int | None = None,
        quiet: float = 0.15,
        timeout: float = 5.0,
        require: bool = True,
    ) -> list[BotMessage]:
        """Messages sent/edited after ``cursor``: ``count`` of them, or once quiet for ``quiet`` s.

        With ``require=False`` no reply is fine: it returns ``[]`` after ``quiet`` s of silence.
        """
        cond = self._condition(chat_id)
        chat = self.chats[chat_id]
        deadline = asyncio.get_running_loop().time() + timeout
        async with cond:
            try:
                if not require and count is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            cond.wait_for(lambda: len(chat.changes) > cursor), quiet
                        )
                    if len(chat.changes) == cursor:
                        return []
                if count is not None:
                    await asyncio.wait_for(
                        cond.wait_for(lambda: len(self.changed_since(chat_id, cursor)) >= count),
                        timeout,
                    )
                else:
                    await asyncio.wait_for(
                        cond.wait_for(lambda: len(chat.changes) > cursor), timeout
                    )
                    while True:
                        seen = len(chat.changes)
                        left = deadline - asyncio.get_running_loop().time()
                        if left <= 0:
                            break
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(
                                cond.wait_for(lambda s=seen: len(chat.changes) > s),
                                min(quiet, left),
                            )
                        if len(chat.changes) == seen:
                            break
            except TimeoutError:
                raise TimeoutError(self._timeout_text(chat_id, "the bot's reply")) from None
        return self.changed_since(chat_id, cursor)

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the bot answered the callback query ``query_id``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for answer in self.callback_answers:
                if answer["callback_query_id"] == query_id:
                    return answer
            if loop.time() > deadline:
                raise TimeoutError(f"callback query {query_id} was not answered")
            event = self._answers_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), max(0.0, deadline - loop.time()))

    def _timeout_text(self, chat_id: int, what: str) -> str:
        texts = [m.text for m in self.messages_to(chat_id)][-5:]
        return f"timed out waiting for {what} in chat {chat_id}; last bot texts: {texts!r}"

    async def _notify(self, chat: ChatState, message_id: int) -> None:
        chat.changes.append(message_id)
        if chat.condition is None:
            chat.condition = asyncio.Condition()
        async with chat.condition:
            chat.condition.notify_all()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"].lower()
        now = time.monotonic()
        match = TOKEN_RE.match(token)
        if not match:
            return _error(ApiError(401, "Unauthorized"))
        self.bot_id = int(match.group(1))
        try:
            params = await self._params(request)
        except ApiError as exc:
            return _error(exc)
        chat_id = _int_or_none(params.get("chat_id"))
        call = Call(now, method, chat_id, params)
        self._calls.append(call)
        self._calls_by_method[method].append(call)
        handler = _METHODS.get(method)
        if handler is None:
            call.status = 404
            return _error(ApiError(404, "Not Found"))
        wait = self._delay_of(method, chat_id, now) if self._delays else 0.0
        if wait:
            await asyncio.sleep(wait)
        lose = False
        for name, hook in list(self._hooks):
            if name != method:
                continue
            verdict = await hook(call)
            if verdict is DROP:
                call.status = 0
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
            lose = lose or verdict is LOSE_ANSWER
        try:
            self._check_failures(method, chat_id, now)
            result = await handler(self, params)
            if method == "getupdates":
                call.result = result
            if lose and request.transport is not None:
                request.transport.close()
        except ApiError as exc:
            call.status = exc.code
            return _error(exc)
        finally:
            if request.content_type == "multipart/form-data":
                for key, value in params.items():
                    if isinstance(value, web.FileField):
                        params[key] = f"<upload {value.filename}>"
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, web.FileField] = {}
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad("can't parse JSON") from None
                if not isinstance(body, dict):
                    raise bad("can't parse JSON")
                params.update(body)
                return params
            form: MultiDictProxy[Any] = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = value
                else:
                    params[key] = value
        for key in JSON_FIELDS:
            value = params.get(key)
            if isinstance(value, str) and value[:1] in ("[", "{"):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    raise bad(f"can't parse {key} JSON object") from None
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                if name in uploads:
                    params[key] = uploads.pop(name)
        params.update(uploads)
        return params

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not TOKEN_RE.match(request.match_info["token"]):
            return _error(ApiError(401, "Unauthorized"))
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return _error(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------ helpers
    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _chat_or_error(self, chat_id: Any) -> ChatState:
        cid = _int_or_none(chat_id)
        if cid is None:
            raise bad("chat_id is empty" if chat_id in (None, "") else "chat not found")
        chat = self.chats.get(cid)
        if chat is None:
            if self.create_unknown_chats and cid > 0:
                return self.add_user(cid)
            raise bad("chat not found")
        return chat

    def _message_dict(self, chat: ChatState, message_id: int) -> dict[str, Any]:
        bot_message = chat.by_id.get(message_id)
        if bot_message is not None:
            return bot_message.public()
        return chat.messages[message_id]

    def _store_file(self, data: bytes, kind: str, name: str | None, mime: str | None) -> StoredFile:
        n = next(self._file_ids)
        unique = "AgAD" + hashlib.sha256(data).hexdigest()[:12]
        file_id = f"BQACAgEAAx{n:08d}{unique}"
        ext = ""
        if name and "." in name:
            ext = name[name.rfind(".") :]
        elif mime:
            ext = mimetypes.guess_extension(mime) or ""
        stored = StoredFile(file_id, unique, data, f"{kind}/file_{n}{ext}", name, mime)
        self.files[file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_obj(f: StoredFile) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
        }
        if f.file_name:
            doc["file_name"] = f.file_name
        if f.mime_type:
            doc["mime_type"] = f.mime_type
        return doc

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        if markup in (None, ""):
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list):
                raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
            for row in rows:
                for button in row:
                    if not button.get("text"):
                        raise bad(
                            "BUTTON_TEXT_INVALID"
                            if "text" in button
                            else "text buttons are unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise bad("BUTTON_DATA_INVALID")
                    url = button.get("url")
                    if url is not None and not re.match(r"^(https?|tg)://[^\s/]+", str(url)):
                        raise bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
                    kinds = {
                        "callback_data",
                        "url",
                        "web_app",
                        "login_url",
                        "switch_inline_query",
                        "switch_inline_query_current_chat",
                        "copy_text",
                        "pay",
                        "callback_game",
                        "switch_inline_query_chosen_chat",
                    }
                    if not kinds & set(button):
                        raise bad("text buttons are unallowed in the inline keyboard")
        return markup

    def _text_and_entities(
        self, params: dict[str, Any], key: str, limit: int
    ) -> tuple[str, list[dict[str, Any]]]:
        raw = params.get(key)
        raw = "" if raw is None else str(raw)
        try:
            text, entities = parse(raw, params.get("parse_mode"))
        except ParseError as exc:
            raise bad(f"can't parse entities: {exc}") from None
        explicit = params.get(f"{'caption_' if key == 'caption' else ''}entities")
        if isinstance(explicit, list):
            entities = explicit
        if key == "text" and not text.strip():
            raise bad("message text is empty")
        if len(text) > limit:
            raise bad("message is too long" if key == "text" else "message caption is too long")
        return text, entities

    async def _bot_message(
        self,
        chat: ChatState,
        params: dict[str, Any],
        content: dict[str, Any],
        file: StoredFile | None = None,
    ) -> dict[str, Any]:
        markup = self._check_markup(params.get("reply_markup"))
        message_id = chat.next_message_id
        chat.next_message_id += 1
        data: dict[str, Any] = {
            "message_id": message_id,
            "from": self._me(),
            "chat": chat.chat(),
            "date": int(time.time()),
            **content,
        }
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            target = int(reply["message_id"])
            if target in chat.messages or target in chat.by_id:
                data["reply_to_message"] = self._message_dict(chat, target)
            elif not reply.get("allow_sending_without_reply"):
                raise bad("message to be replied not found")
        lpo = params.get("link_preview_options")
        if isinstance(lpo, dict) and "text" in content:
            data["link_preview_options"] = lpo
        if markup is not None:
            if "inline_keyboard" in markup:
                data["reply_markup"] = markup
            elif "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        msg = BotMessage(
            chat.chat_id,
            message_id,
            data,
            params.get("text") or params.get("caption"),
            params.get("parse_mode"),
            file,
            sent_markup=markup,
            sent_at=time.monotonic(),
        )
        chat.bot_messages.append(msg)
        chat.by_id[message_id] = msg
        await self._notify(chat, message_id)
        return msg.public()

    def _editable(self, params: dict[str, Any]) -> tuple[ChatState, BotMessage]:
        if params.get("inline_message_id"):
            raise bad("inline messages are not emulated by the local server")
        chat = self._chat_or_error(params.get("chat_id"))
        message_id = _int_or_none(params.get("message_id"))
        if message_id is None:
            raise bad("message identifier is not specified")
        msg = chat.by_id.get(message_id)
        if msg is None or msg.deleted:
            if message_id in chat.messages:
                raise bad("message can't be edited")
            raise bad("message to edit not found")
        return chat, msg

    async def _apply_edit(
        self,
        chat: ChatState,
        msg: BotMessage,
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        new = dict(msg.data)
        new.update(changes)
        for key in ("entities", "caption_entities"):
            if key in new and not new[key]:
                del new[key]
        new.pop("reply_markup", None)
        if markup is not None and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        if _visible(new) == _visible(msg.data):
            raise bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        new["edit_date"] = int(time.time())
        msg.data = new
        msg.edited_at = time.monotonic()
        msg.edits += 1
        await self._notify(chat, msg.message_id)
        return msg.public()

    # ------------------------------------------------------------------ methods
    async def m_getme(self, params: dict[str, Any]) -> Any:
        """getMe."""
        return {
            **self._me(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def m_getupdates(self, params: dict[str, Any]) -> Any:
        """getUpdates with offset/limit/timeout (long polling)/allowed_updates."""
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = _int_or_none(params.get("offset")) or 0
        limit = min(max(_int_or_none(params.get("limit")) or 100, 1), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = allowed or None
        self._poll_generation += 1
        generation = self._poll_generation
        assert self._updates_cond is not None
        async with self._updates_cond:
            self._updates_cond.notify_all()  # an older long poll ends with 409

        def confirm() -> None:
            if offset > 0:
                while self.updates and self.updates[0]["update_id"] < offset:
                    self.updates.popleft()
            elif offset < 0:
                while len(self.updates) > -offset:
                    self.updates.popleft()
            if self.allowed_updates:
                keep = [u for u in self.updates if any(k in u for k in self.allowed_updates)]
                if len(keep) != len(self.updates):
                    self.updates = deque(keep)

        confirm()
        if not self.updates and timeout > 0 and not self._closing:
            async with self._updates_cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._updates_cond.wait_for(
                            lambda: (
                                bool(self.updates)
                                or self._closing
                                or self._poll_generation != generation
                                or self.webhook is not None
                            )
                        ),
                        timeout,
                    )
            if self._poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            confirm()
        return list(itertools.islice(self.updates, limit))

    async def m_setwebhook(self, params: dict[str, Any]) -> Any:
        """setWebhook: updates are POSTed to ``url`` with the secret token header."""
        url = str(params.get("url") or "")
        if not url:
            return await self.m_deletewebhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": allowed if isinstance(allowed, list) and allowed else None,
            "max_connections": _int_or_none(params.get("max_connections")) or 40,
        }
        self._webhook_error = None
        if _truthy(params.get("drop_pending_updates")):
            self.updates.clear()
        if self._webhook_queue is None:
            self._webhook_queue = asyncio.Queue()
        while self.updates:
            self._webhook_queue.put_nowait(self.updates.popleft())
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks())
        assert self._updates_cond is not None
        async with self._updates_cond:
            self._updates_cond.notify_all()
        return True

    async def m_deletewebhook(self, params: dict[str, Any]) -> Any:
        """deleteWebhook (optionally dropping pending updates)."""
        if self.webhook is not None:
            self.webhook = None
            if self._webhook_queue is not None:
                while not self._webhook_queue.empty():
                    self.updates.append(self._webhook_queue.get_nowait())
        if _truthy(params.get("drop_pending_updates")):
            self.updates.clear()
        return True

    async def m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        """getWebhookInfo."""
        if self.webhook is None:
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
            }
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": self._webhook_queue.qsize() if self._webhook_queue else 0,
            "max_connections": self.webhook["max_connections"],
            "ip_address": "127.0.0.1",
        }
        if self.webhook["allowed_updates"]:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _deliver_webhooks(self) -> None:
        """Take updates in order; each chat's go out one after another, chats side by side."""
        assert self._webhook_queue is not None
        while True:
            update = await self._webhook_queue.get()
            if self.webhook is None:
                self.updates.append(update)
                continue
            turn = self._webhook_turns.setdefault(_update_chat(update), asyncio.Lock())
            # Created in arrival order, each task queues for its chat's turn at once
            # (asyncio locks are fair): a chat's updates keep their order.
            send = asyncio.create_task(self._deliver_webhook(update, turn))
            self._webhook_sends.add(send)
            send.add_done_callback(self._webhook_sends.discard)

    def _webhook_slots(self, webhook: dict[str, Any]) -> asyncio.Semaphore:
        limit = int(webhook.get("max_connections") or 40)
        if self._slots is None or self._slots_limit != limit:
            self._slots, self._slots_limit = asyncio.Semaphore(limit), limit
        return self._slots

    async def _deliver_webhook(self, update: dict[str, Any], turn: asyncio.Lock) -> None:
        assert self._client is not None
        async with turn:
            loop = asyncio.get_running_loop()
            first = loop.time()
            attempt = 0
            while True:
                webhook = self.webhook
                if webhook is None:
                    self.updates.append(update)
                    return
                # At most the webhook's max_connections deliveries at once, as Telegram.
                async with self._webhook_slots(webhook):
                    status = await self._post_update(webhook, update, attempt)
                if status is not None and 200 <= status < 300:
                    return
                if self.webhook_retry_for is None:
                    if attempt >= self.webhook_retries:
                        return  # dropped, as Telegram does in the end
                    pause = 0.05 * (attempt + 1)
                else:
                    if loop.time() - first >= self.webhook_retry_for:
                        return
                    pause = min(0.1 * 2**attempt, 1.0)
                attempt += 1
                await asyncio.sleep(pause)

    async def _post_update(
        self, webhook: dict[str, Any], update: dict[str, Any], attempt: int
    ) -> int | None:
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        status: int | None = None
        try:
            async with self._client.post(
                webhook["url"], data=_dumps(update), headers=headers
            ) as resp:
                status = resp.status
                await resp.read()
        except (OSError, TimeoutError) as exc:
            self._webhook_error = (int(time.time()), f"Connection failed: {type(exc).__name__}")
        self.webhook_deliveries.append(
            {"update_id": update["update_id"], "status": status, "attempt": attempt}
        )
        if status is not None and not 200 <= status < 300:
            self._webhook_error = (int(time.time()), f"Wrong response from the webhook: {status}")
        return status

    async def m_sendmessage(self, params: dict[str, Any]) -> Any:
        """sendMessage."""
        chat = self._chat_or_error(params.get("chat_id"))
        text, entities = self._text_and_entities(params, "text", 4096)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return await self._bot_message(chat, params, content)

    async def _resolve_file(
        self, value: Any, kind: str, default_name: str | None, default_mime: str | None
    ) -> StoredFile:
        if isinstance(value, web.FileField):
            data = value.file.read()
            name = value.filename or default_name
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name or "")[0] or default_mime or mime
            return self._store_file(data, kind, name, mime)
        if not value:
            raise bad(f"there is no {kind.rstrip('s')} in the request")
        text = str(value)
        if text in self.files:
            return self.files[text]
        if text.startswith(("http://", "https://")):
            assert self._client is not None
            try:
                async with self._client.get(text) as resp:
                    if resp.status != 200:
                        raise bad("wrong file identifier/HTTP URL specified")
                    data = await resp.read()
                    mime = resp.content_type
            except OSError:
                raise bad("failed to get HTTP URL content") from None
            return self._store_file(data, kind, text.rsplit("/", 1)[-1] or default_name, mime)
        raise bad("wrong file identifier/HTTP URL specified")

    async def m_senddocument(self, params: dict[str, Any]) -> Any:
        """sendDocument (multipart upload, known file_id or URL)."""
        chat = self._chat_or_error(params.get("chat_id"))
        caption, entities = self._text_and_entities(params, "caption", 1024)
        stored = await self._resolve_file(params.get("document"), "documents", "document", None)
        if not stored.data:
            raise bad("file must be non-empty")
        content: dict[str, Any] = {"document": self._document_obj(stored)}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return await self._bot_message(chat, params, content, stored)

    async def m_sendphoto(self, params: dict[str, Any]) -> Any:
        """sendPhoto (multipart upload, known file_id or URL)."""
        chat = self._chat_or_error(params.get("chat_id"))
        caption, entities = self._text_and_entities(params, "caption", 1024)
        stored = await self._resolve_file(params.get("photo"), "photos", "photo.jpg", "image/jpeg")
        width, height = _image_size(stored.data)
        if not width:
            raise bad("IMAGE_PROCESS_FAILED")
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": width,
                    "height": height,
                }
            ]
        }
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return await self._bot_message(chat, params, content, stored)

    async def m_getfile(self, params: dict[str, Any]) -> Any:
        """getFile: file_path for downloading via /file/bot<token>/<file_path>."""
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def m_editmessagetext(self, params: dict[str, Any]) -> Any:
        """editMessageText."""
        chat, msg = self._editable(params)
        if "text" not in msg.data:
            raise bad("there is no text in the message to edit")
        text, entities = self._text_and_entities(params, "text", 4096)
        markup = self._check_markup(params.get("reply_markup"))
        changes: dict[str, Any] = {"text": text, "entities": entities}
        lpo = params.get("link_preview_options")
        if isinstance(lpo, dict):
            changes["link_preview_options"] = lpo
        result = await self._apply_edit(chat, msg, changes, markup)
        msg.raw_text, msg.parse_mode = params.get("text"), params.get("parse_mode")
        return result

    async def m_editmessagecaption(self, params: dict[str, Any]) -> Any:
        """editMessageCaption."""
        chat, msg = self._editable(params)
        if "text" in msg.data:
            raise bad("there is no caption in the message to edit")
        caption, entities = self._text_and_entities(params, "caption", 1024)
        markup = self._check_markup(params.get("reply_markup"))
        changes: dict[str, Any] = {"caption": caption, "caption_entities": entities}
        if not caption:
            msg.data.pop("caption", None)
            changes.pop("caption")
        return await self._apply_edit(chat, msg, changes, markup)

    async def m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        """editMessageReplyMarkup."""
        chat, msg = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        return await self._apply_edit(chat, msg, {}, markup)

    async def m_deletemessage(self, params: dict[str, Any]) -> Any:
        """deleteMessage."""
        chat = self._chat_or_error(params.get("chat_id"))
        message_id = _int_or_none(params.get("message_id"))
        msg = chat.by_id.get(message_id or 0)
        if msg is not None and not msg.deleted:
            msg.deleted = True
            await self._notify(chat, msg.message_id)
            return True
        if message_id in chat.messages:
            del chat.messages[message_id]
            return True
        raise bad("message to delete not found")

    async def m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        """answerCallbackQuery."""
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query.get("_answered"):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad("MESSAGE_TOO_LONG")
        query["_answered"] = True
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "chat_id": query["from"]["id"],
                "data": query["data"],
                "text": text,
                "show_alert": _truthy(params.get("show_alert")),
                "url": params.get("url"),
                "cache_time": _int_or_none(params.get("cache_time")),
            }
        )
        self._answers_event.set()
        self._answers_event = asyncio.Event()
        return True

    async def m_sendchataction(self, params: dict[str, Any]) -> Any:
        """sendChatAction."""
        chat = self._chat_or_error(params.get("chat_id"))
        action = str(params.get("action") or "")
        valid = {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }
        if action not in valid:
            raise bad("wrong parameter action in request")
        self.chat_actions.append((chat.chat_id, action))
        return True

    async def m_setmycommands(self, params: dict[str, Any]) -> Any:
        """setMyCommands (per scope and language_code)."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad(
                    "BOT_COMMAND_DESCRIPTION_INVALID"
                    if command.get("description")
                    else "command description is empty"
                )
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def m_getmycommands(self, params: dict[str, Any]) -> Any:
        """getMyCommands."""
        return self.commands(params.get("scope"), str(params.get("language_code") or ""))

    async def m_deletemycommands(self, params: dict[str, Any]) -> Any:
        """deleteMyCommands."""
        self._commands.pop(
            (_scope_key(params.get("scope")), str(params.get("language_code") or "")), None
        )
        return True

    async def m_getchat(self, params: dict[str, Any]) -> Any:
        """getChat (ChatFullInfo of a private chat)."""
        chat = self._chat_or_error(params.get("chat_id"))
        return {
            **chat.chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def m_close(self, params: dict[str, Any]) -> Any:
        """close (accepted, no effect)."""
        return True

    async def m_logout(self, params: dict[str, Any]) -> Any:
        """logOut (accepted, no effect)."""
        return True

    async def m_setmydescription(self, params: dict[str, Any]) -> Any:
        """setMyDescription / setMyShortDescription (accepted)."""
        return True

    async def m_setchatmenubutton(self, params: dict[str, Any]) -> Any:
        """setChatMenuButton (accepted)."""
        return True


_PHRASES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _lower(method: str | None) -> str | None:
    return method.lower() if method else None


def _until(seconds: float | None) -> float | None:
    return None if seconds is None else time.monotonic() + seconds


def _update_chat(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its webhook deliveries keep their order)."""
    for kind in ("message", "edited_message", "callback_query"):
        item = update.get(kind)
        if isinstance(item, dict):
            chat = (item.get("message") or item).get("chat") or item.get("from") or {}
            return _int_or_none(chat.get("id"))
    return None


def _keyboard_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = (markup or {}).get("keyboard", [])
    return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


def _scope_key(scope: Any) -> str:
    if not scope:
        return "default"
    if isinstance(scope, str):
        scope = json.loads(scope)
    parts = [str(scope.get("type", "default"))]
    if "chat_id" in scope:
        parts.append(str(scope["chat_id"]))
    if "user_id" in scope:
        parts.append(str(scope["user_id"]))
    return ":".join(parts)


def _visible(data: dict[str, Any]) -> tuple[Any, ...]:
    return (
        data.get("text"),
        data.get("caption"),
        _dumps(data.get("entities") or data.get("caption_entities") or []),
        _dumps(data.get("reply_markup")),
    )


@functools.cache
def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (90, 90), (40, 120, 80)).save(out, "JPEG")
    return out.getvalue()


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return (0, 0)


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code, dumps=_dumps)


_METHODS: dict[str, Callable[[BotApiServer, dict[str, Any]], Awaitable[Any]]] = {
    name[2:]: getattr(BotApiServer, name) for name in dir(BotApiServer) if name.startswith("m_")
}
_METHODS["setmyshortdescription"] = BotApiServer.m_setmydescription
_METHODS["setmyname"] = BotApiServer.m_setmydescription


class _SyncProxy:
    """Calls server methods in the server's own loop (for servers run in a thread)."""

    def __init__(self, server: BotApiServer) -> None:
        self._server = server

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._server, name)
        if not callable(target):
            return self._server.run_sync(lambda: getattr(self._server, name))

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._server.run_sync(target, *args, **kwargs)

        return call


@dataclass
class Press:
    """A step of a scripted conversation: press the button with this label."""

    label: str


def press(label: str) -> Press:
    """Script step: ``(press("Acepto"), "expected text")``."""
    return Press(label)


class ChatSession:
    """One user's conversation, transcript-style: ``await chat.say(...)``, ``chat.press``."""

    def __init__(self, server: BotApiServer, chat_id: int) -> None:
        self.server = server
        self.chat_id = chat_id

    async def do(self, action: Awaitable[Any], **wait: Any) -> list[BotMessage]:
        """Await a user action (e.g. ``server.user_sends_photo(id)``); return the bot's replies.

        ``wait``: ``count=N`` (exactly wait for N sent/edited messages), ``quiet=0.15``
        (else: done once no change for that long), ``timeout=5.0``, ``require=True``
        (``False``: silence is an acceptable answer, returns ``[]``).
        """
        cursor = self.server.change_count(self.chat_id)
        await action
        return await self.server.wait_for_changes(self.chat_id, cursor, **wait)

    async def say(self, text: str, **wait: Any) -> list[BotMessage]:
        """Send ``text``; return the bot messages sent or edited in reply (see ``do``)."""
        return await self.do(self.server.user_sends(self.chat_id, text), **wait)

    async def press(self, label: str, **wait: Any) -> list[BotMessage]:
        """Press the button labelled ``label`` (inline: callback; reply keyboard: its text)."""
        return await self.do(self.server.user_presses_label(self.chat_id, label), **wait)

    def buttons(self) -> list[str]:
        """Inline labels of the latest message with an inline keyboard, then the reply keyboard."""
        return self.server.inline_buttons(self.chat_id) + self.server.reply_keyboard(self.chat_id)

    def keyboard(self) -> list[str]:
        """Labels of the reply keyboard in force."""
        return self.server.reply_keyboard(self.chat_id)

    def texts(self) -> list[str | None]:
        """Texts (or captions) of all the bot's messages in this chat."""
        return self.server.texts_to(self.chat_id)

    def messages(self) -> list[BotMessage]:
        """All the bot's messages in this chat."""
        return self.server.messages_to(self.chat_id)

    def last(self) -> BotMessage | None:
        """The bot's latest message in this chat."""
        return self.server.last_message(self.chat_id)

    async def run(
        self, script: list[tuple[str | Press, str | None]], **wait: Any
    ) -> list[list[BotMessage]]:
        """Play ``[(text_or_press, expected_substring), ...]``; asserts each reply contains it."""
        replies: list[list[BotMessage]] = []
        for step, expected in script:
            got = await (
                self.press(step.label, **wait)
                if isinstance(step, Press)
                else self.say(step, **wait)
            )
            replies.append(got)
            if expected is not None:
                texts = [m.text or "" for m in got]
                assert any(expected in t for t in texts), (
                    f"after {step!r} expected {expected!r} in {texts!r}"
                )
        return replies


class SyncChatSession:
    """``ChatSession`` for synchronous code when the server runs in its own thread."""

    def __init__(self, server: BotApiServer, chat_id: int) -> None:
        self.server = server
        self.chat_id = chat_id
        self._async = ChatSession(server, chat_id)

    def say(self, text: str, **wait: Any) -> list[BotMessage]:
        """Send ``text``; the bot's replies (see ``ChatSession.do``)."""
        return self.server.run_sync(self._async.say, text, **wait)  # type: ignore[no-any-return]

    def press(self, label: str, **wait: Any) -> list[BotMessage]:
        """Press the button labelled ``label``; the bot's replies."""
        return self.server.run_sync(self._async.press, label, **wait)  # type: ignore[no-any-return]

    def do(self, make_action: Callable[[], Awaitable[Any]], **wait: Any) -> list[BotMessage]:
        """Run ``make_action()`` (e.g. ``lambda: server.user_sends_photo(1)``) in the loop."""

        async def run() -> list[BotMessage]:
            return await self._async.do(make_action(), **wait)

        return self.server.run_sync(run)  # type: ignore[no-any-return]

    def buttons(self) -> list[str]:
        """Inline labels of the latest message with an inline keyboard, then the reply keyboard."""
        return self.server.run_sync(self._async.buttons)  # type: ignore[no-any-return]

    def texts(self) -> list[str | None]:
        """Texts (or captions) of all the bot's messages in this chat."""
        return self.server.run_sync(self._async.texts)  # type: ignore[no-any-return]

    def last(self) -> BotMessage | None:
        """The bot's latest message in this chat."""
        return self.server.run_sync(self._async.last)  # type: ignore[no-any-return]
