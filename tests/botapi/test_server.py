"""The local Bot API server, driven by the real python-telegram-bot 22."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession, web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.botapi import DEFAULT_TOKEN, BotApiServer, press
from tests.botapi.server import DROP, LOSE_ANSWER, Call

pytestmark = pytest.mark.timeout(60)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    payload = context.args[0] if context.args else "-"
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Acepto", callback_data="accept")],
            [InlineKeyboardButton("No", callback_data="reject")],
        ]
    )
    await update.effective_message.reply_text(f"¡Hola! origen={payload}", reply_markup=keyboard)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(f"eco: {update.effective_message.text}")


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer("Listo")
    await query.edit_message_text(f"Elegiste {query.data} ({query.from_user.first_name})")
    await context.bot.send_message(query.message.chat.id, "¿Con qué género te identificas?")


@pytest.fixture
async def echo_app(botapi: BotApiServer) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """A PTB application polling the local server."""
    app = botapi.application_builder().build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=5)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_echo_bot_and_start_payload(botapi: BotApiServer, echo_app: Application) -> None:  # type: ignore[type-arg]
    """Text gets an echo; /start payload arrives as a command with its argument."""
    me = await echo_app.bot.get_me()
    assert me.is_bot and me.username == "participa_pmd_bot" and me.id == 123456789
    await botapi.user_sends(42, "hola", first_name="Lucía")
    reply = await botapi.wait_for_message(42)
    assert reply.text == "eco: hola"
    assert isinstance(reply.data["date"], int) and abs(reply.data["date"] - time.time()) < 5
    assert reply.data["from"]["is_bot"] is True
    assert reply.data["chat"] == {"id": 42, "type": "private", "first_name": "Lucía"}

    since = len(botapi.messages_to(42))
    await botapi.user_sends(42, "otra")
    assert [m.text for m in await botapi.wait_for_new_messages(42, 1, since=since)] == ["eco: otra"]

    chat = botapi.chat(42)
    replies = await chat.say("/start fb_alcalde")
    assert [m.text for m in replies] == ["¡Hola! origen=fb_alcalde"]
    assert chat.buttons() == ["Acepto", "No"]
    assert [m.message_id for m in botapi.messages_to(42)] == sorted(
        m.message_id for m in botapi.messages_to(42)
    )


async def test_inline_keyboard_press_edit(botapi: BotApiServer, echo_app: Application) -> None:  # type: ignore[type-arg]
    """A press reaches the bot as a CallbackQuery; answer and edit are visible."""
    await botapi.user_sends(7, "/start")
    menu = await botapi.wait_for_message(7)
    query = await botapi.user_presses(7, menu, "accept")
    answer = await botapi.wait_for_callback_answer(query["id"])
    assert answer["text"] == "Listo"
    follow = await botapi.wait_for_message(7, lambda m: "género" in (m.text or ""))
    assert follow.message_id > menu.message_id
    edited = botapi.messages_to(7)[0]
    assert edited.text == "Elegiste accept (Ana)"
    assert edited.reply_markup is None and "edit_date" in edited.data
    with pytest.raises(ValueError, match="no button"):
        await botapi.user_presses(7, menu, "nonexistent")


async def test_transcript_script(botapi: BotApiServer, echo_app: Application) -> None:  # type: ignore[type-arg]
    """The script helper plays a conversation and checks each reply."""
    chat = botapi.chat(99, first_name="Rosa")
    replies = await chat.run(
        [("/start fb_alcalde", "¡Hola!"), (press("Acepto"), "¿Con qué género"), ("ok", "eco: ok")]
    )
    assert [m.text for m in replies[1]] == [
        "Elegiste accept (Rosa)",
        "¿Con qué género te identificas?",
    ]


async def test_document_round_trip(botapi: BotApiServer) -> None:
    """Bytes uploaded with sendDocument come back through getFile and the observer."""
    botapi.add_user(5)
    payload = bytes(range(256)) * 40
    async with botapi.bot() as bot:
        sent = await bot.send_document(
            5, payload, filename="constancia.pdf", caption="Tu constancia"
        )
        assert sent.document is not None
        assert sent.document.file_name == "constancia.pdf"
        assert sent.document.mime_type == "application/pdf"
        assert sent.document.file_size == len(payload)
        downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
        assert bytes(downloaded) == payload
        again = await bot.send_document(5, sent.document.file_id)
        assert (
            again.document is not None
            and again.document.file_unique_id == sent.document.file_unique_id
        )
    message = botapi.last_message(5)
    assert message is not None and botapi.messages_to(5)[0].file_bytes == payload
    assert botapi.messages_to(5)[0].text == "Tu constancia"


async def test_errors_like_telegram(botapi: BotApiServer) -> None:
    """429 injection, blocked users, long texts, long callback data, unknown chats."""
    botapi.add_user(1)
    botapi.add_user(2)
    async with botapi.bot() as bot:
        botapi.inject_429("sendMessage", chat_id=1, count=1, retry_after=3)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(1, "hola")
        assert info.value.retry_after == timedelta(seconds=3)
        await bot.send_message(2, "a otro chat no le afecta")
        botapi.block(2)
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(2, "hola")
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await bot.send_message(1, "x" * 4097)
        await bot.send_message(1, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)empty"):
            await bot.send_message(1, " ")
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(1, "a <script> b", parse_mode="HTML")
        long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(1, "hola", reply_markup=long_data)
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(777, "hola")
        sent = await bot.send_message(1, "igual")
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await bot.edit_message_text("igual", chat_id=1, message_id=sent.message_id)
        edited = await bot.edit_message_text("distinto", chat_id=1, message_id=sent.message_id)
        assert not isinstance(edited, bool) and edited.text == "distinto" and edited.edit_date
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(1, b"abc", filename="a.txt", caption="c" * 1025)
    async with ClientSession() as http:
        async with http.post(f"{botapi.base_url}nonsense/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{botapi.base_url}{DEFAULT_TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
    assert [c.status for c in botapi.calls("sendMessage")][:3] == [429, 200, 403]


async def _sender(botapi: BotApiServer, chats: list[int], obey: bool) -> None:
    async with botapi.bot() as bot:
        for chat_id in chats:
            for _attempt in range(3):
                try:
                    await bot.send_message(chat_id, "aviso")
                    break
                except RetryAfter as exc:
                    if obey:
                        wait = exc.retry_after
                        await asyncio.sleep(wait if isinstance(wait, int) else wait.total_seconds())


async def test_enforced_limits_detect_violations(botapi: BotApiServer) -> None:
    """A sender that ignores retry_after is caught; one that obeys is not."""
    botapi.add_users(range(1, 10))
    botapi.enforce_limits(global_per_second=4, per_chat_per_second=1)
    await _sender(botapi, [1, 1], obey=False)
    assert botapi.violations and botapi.violations[0].chat_id == 1
    botapi.violations.clear()
    await _sender(botapi, [2, 2], obey=True)
    assert botapi.violations == []
    assert len(botapi.messages_to(2)) == 2


async def test_global_limit_flood_wait(botapi: BotApiServer) -> None:
    """Over the global limit every send must pause; a sender that keeps going is caught."""
    botapi.add_users(range(1, 20))
    botapi.enforce_limits(global_per_second=3, per_chat_per_second=100)
    await _sender(botapi, list(range(1, 6)), obey=False)
    assert botapi.global_violations
    assert {c.status for c in botapi.calls("sendMessage")} == {200, 429}
    await asyncio.sleep(1.0)  # let the window and the flood wait run out
    botapi.global_violations.clear()
    botapi.violations.clear()
    await _sender(botapi, list(range(10, 15)), obey=True)
    assert botapi.global_violations == [] and botapi.violations == []
    assert all(len(botapi.messages_to(c)) == 1 for c in range(10, 15))


async def test_webhook_mode(botapi: BotApiServer) -> None:
    """With a webhook set, updates are POSTed with the secret header; getUpdates is 409."""
    received: asyncio.Queue[tuple[str | None, dict[str, object]]] = asyncio.Queue()
    failures = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        await received.put(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    async def plan(request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-plan", content_type="application/pdf")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/plan.pdf", plan)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with botapi.bot() as bot:
            assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t")
            info = await bot.get_webhook_info()
            assert info.url.endswith("/hook")
            await botapi.user_sends(3, "hola")
            secret, update = await asyncio.wait_for(received.get(), 5)
            assert secret == "s3cr3t"
            assert update["message"]["text"] == "hola"  # type: ignore[index]
            with pytest.raises(Conflict):
                await bot.get_updates()
            assert await bot.delete_webhook()
            by_url = await bot.send_document(3, f"http://127.0.0.1:{port}/plan.pdf")
            assert by_url.document is not None and by_url.document.file_name == "plan.pdf"
            assert botapi.last_message(3).file_bytes == b"%PDF-plan"  # type: ignore[union-attr]
            await botapi.user_sends(3, "otra")
            updates = await bot.get_updates(timeout=1)
            assert [u.message.text for u in updates if u.message] == ["otra"]
    finally:
        await runner.cleanup()


async def test_webhooks_deliver_chats_at_once_and_each_chat_in_order() -> None:
    """Several deliveries in flight (up to max_connections), never two of one chat."""
    server = BotApiServer()
    await server.start()
    in_flight: dict[int, int] = {}
    most = {"all": 0, "chat": 0}
    seen: dict[int, list[str]] = {}

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        in_flight[chat] = in_flight.get(chat, 0) + 1
        most["all"] = max(most["all"], sum(in_flight.values()))
        most["chat"] = max(most["chat"], in_flight[chat])
        await asyncio.sleep(0.02)
        seen.setdefault(chat, []).append(update["message"]["text"])
        in_flight[chat] -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with server.bot() as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", max_connections=8)
            for n in range(5):
                for chat in range(1, 9):
                    await server.user_sends(chat, f"m{n}")
            for _ in range(200):
                if sum(map(len, seen.values())) == 40:
                    break
                await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
        await server.stop()
    assert all(texts == [f"m{n}" for n in range(5)] for texts in seen.values()), seen
    assert len(seen) == 8
    assert most["chat"] == 1 and 1 < most["all"] <= 8


async def test_long_polling_waits_and_offset_confirms(botapi: BotApiServer) -> None:
    """getUpdates waits for an update; offset confirms earlier ones."""
    async with botapi.bot() as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        assert not poll.done()
        await botapi.user_sends(8, "/start hola")
        updates = await poll
        assert len(updates) == 1 and updates[0].message is not None
        assert updates[0].message.text == "/start hola"
        assert updates[0].message.entities[0].type == "bot_command"
        await botapi.user_sends(8, "dos")
        again = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
        assert [u.message.text for u in again if u.message] == ["dos"]


async def test_commands_round_trip(botapi: BotApiServer) -> None:
    """setMyCommands/getMyCommands per language_code."""
    async with botapi.bot() as bot:
        await bot.set_my_commands([BotCommand("start", "Empezar")], language_code="es")
        await bot.set_my_commands([BotCommand("start", "Start")])
        es = await bot.get_my_commands(language_code="es")
        assert [(c.command, c.description) for c in es] == [("start", "Empezar")]
        assert [c.description for c in await bot.get_my_commands()] == ["Start"]
        await bot.delete_my_commands(language_code="es")
        assert await bot.get_my_commands(language_code="es") == ()
    assert botapi.commands() == [{"command": "start", "description": "Start"}]


def test_threaded_server_for_sync_code(botapi_thread: BotApiServer, bot_token: str) -> None:
    """A server in its own thread serves a bot running in another loop."""
    server = botapi_thread
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    server.sync.add_user(11)

    async def client() -> str | None:
        async with server.bot(bot_token) as bot:
            sent = await bot.send_message(11, "desde otro hilo")
            return sent.text

    assert asyncio.run(client()) == "desde otro hilo"
    assert [m.text for m in server.sync.messages_to(11)] == ["desde otro hilo"]
    server.sync.user_sends(11, "hola")
    assert len(server.updates) == 1


async def _describe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replies with what kind of message arrived (sticker, photo, ...)."""
    message = update.effective_message
    assert message is not None
    if update.edited_message is not None:
        await message.reply_text(f"editado: {message.text}")
        return
    kinds = ["sticker", "photo", "voice", "location", "document", "contact", "forward_origin"]
    kind = next((k for k in kinds if getattr(message, k)), "text")
    await message.reply_text(f"recibí {kind}")


async def test_user_media_edits_and_forwards_reach_ptb(botapi: BotApiServer) -> None:
    """Every simulated user action parses into the right PTB object."""
    app = botapi.application_builder().build()
    app.add_handler(MessageHandler(filters.ALL, _describe))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, _describe))
    async with botapi.polling(app):
        chat = botapi.chat(21)
        assert [m.text for m in await chat.do(botapi.user_sends_sticker(21), count=1)] == [
            "recibí sticker"
        ]
        assert [m.text for m in await chat.do(botapi.user_sends_photo(21), count=1)] == [
            "recibí photo"
        ]
        assert [m.text for m in await chat.do(botapi.user_sends_voice(21), count=1)] == [
            "recibí voice"
        ]
        assert [m.text for m in await chat.do(botapi.user_sends_location(21), count=1)] == [
            "recibí location"
        ]
        assert [m.text for m in await chat.do(botapi.user_sends_document(21), count=1)] == [
            "recibí document"
        ]
        assert [m.text for m in await chat.do(botapi.user_sends_contact(21), count=1)] == [
            "recibí contact"
        ]
        assert [m.text for m in await chat.do(botapi.user_forwards(21, "cadena"), count=1)] == [
            "recibí forward_origin"
        ]
        sent = await botapi.user_sends(21, "primera versión")
        await botapi.wait_for_message(21, lambda m: m.text == "recibí text")
        replies = await chat.do(
            botapi.user_edits(21, sent["message_id"], "segunda versión"), count=1
        )
        assert [m.text for m in replies] == ["editado: segunda versión"]


async def test_reply_keyboard_html_and_quiescence(botapi: BotApiServer) -> None:
    """Reply keyboards are pressed by label; HTML is parsed; silence can be expected."""
    from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove

    chat = botapi.chat(31)
    async with botapi.bot() as bot:
        sent = await bot.send_message(
            31,
            "<b>Elige</b> tu colonia &amp; edad",
            parse_mode="HTML",
            reply_markup=ReplyKeyboardMarkup([["18-29", "30-44"]], one_time_keyboard=True),
        )
        assert sent.text == "Elige tu colonia & edad"
        assert sent.entities[0].type == "bold" and sent.entities[0].length == 5
        assert sent.reply_markup is None  # Telegram does not echo reply keyboards
        assert chat.buttons() == ["18-29", "30-44"]
        assert botapi.last_message(31) is not None
        assert botapi.last_message(31).raw_text == "<b>Elige</b> tu colonia &amp; edad"  # type: ignore[union-attr]
        await bot.send_message(31, "Gracias", reply_markup=ReplyKeyboardRemove())
        assert chat.keyboard() == []
        # Nobody polls here: the press arrives as an update and nothing answers.
        assert await chat.say("hola", require=False, quiet=0.05) == []
        with pytest.raises(TimeoutError, match="Gracias"):
            await chat.say("¿hay alguien?", timeout=0.1)
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["hola", "¿hay alguien?"]


async def test_edits_deletes_photos_and_chat(botapi: BotApiServer) -> None:
    """editMessageReplyMarkup/Caption, deleteMessage, sendPhoto, getChat, sendChatAction."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    botapi.add_user(41, first_name="Luis")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sí", callback_data="yes")]])
    async with botapi.bot() as bot:
        photo = await bot.send_photo(41, png, caption="Gráfica", reply_markup=keyboard)
        assert photo.photo[-1].width == 2 and photo.photo[-1].height == 3
        assert photo.reply_markup == keyboard
        edited = await bot.edit_message_reply_markup(41, photo.message_id, reply_markup=None)
        assert not isinstance(edited, bool) and edited.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await bot.edit_message_reply_markup(41, photo.message_id, reply_markup=None)
        captioned = await bot.edit_message_caption(41, photo.message_id, caption="Nueva")
        assert not isinstance(captioned, bool) and captioned.caption == "Nueva"
        assert await bot.send_chat_action(41, "typing")
        chat = await bot.get_chat(41)
        assert chat.type == "private" and chat.first_name == "Luis"
        text = await bot.send_message(41, "borrar")
        assert await bot.delete_message(41, text.message_id)
        with pytest.raises(BadRequest, match=r"(?i)not found"):
            await bot.delete_message(41, text.message_id)
        with pytest.raises(BadRequest, match=r"(?i)reserved"):
            await bot.send_message(41, "Hola.", parse_mode="MarkdownV2")
    assert [m.text for m in botapi.messages_to(41)] == ["Nueva"]
    assert botapi.messages_to(41)[0].file_bytes == png
    assert botapi.chat_actions == [(41, "typing")]
    assert [c.method for c in botapi.calls()][:2] == ["getme", "sendphoto"]
    assert botapi.calls("sendPhoto")[0].params["photo"].startswith("<upload")


async def test_second_poller_conflicts_and_allowed_updates(botapi: BotApiServer) -> None:
    """A second getUpdates ends the first with 409; allowed_updates filters."""
    async with botapi.bot() as first, botapi.bot() as second:
        old = asyncio.create_task(first.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        new = asyncio.create_task(second.get_updates(timeout=5, allowed_updates=["message"]))
        with pytest.raises(Conflict):
            await old
        menu = await second.send_message(
            (await botapi.user_sends(51, "hola"))["chat"]["id"],
            "menú",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
        )
        got = await new
        assert [u.message.text for u in got if u.message] == ["hola"]
        await botapi.user_presses(51, menu.message_id, "a")
        await botapi.user_sends(51, "después")
        rest = await second.get_updates(offset=got[-1].update_id + 1, timeout=0)
        assert [u.message.text for u in rest if u.message] == ["después"]
        assert all(u.callback_query is None for u in rest)


def test_sync_chat_with_bot_in_another_thread(bot_token: str) -> None:
    """Sync code drives a conversation with a PTB bot that runs in its own thread and loop."""
    import threading

    server = BotApiServer()
    server.start_in_thread()
    stop = threading.Event()

    def bot_thread() -> None:
        async def run() -> None:
            app = server.application_builder(bot_token).build()
            app.add_handler(CommandHandler("start", _start))
            app.add_handler(CallbackQueryHandler(_pressed))
            async with app:
                await app.start()
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0, timeout=1)
                while not stop.is_set():
                    await asyncio.sleep(0.02)
                await app.updater.stop()
                await app.stop()

        asyncio.run(run())

    thread = threading.Thread(target=bot_thread)
    thread.start()
    try:
        chat = server.sync_chat(61, first_name="Sol")
        assert [m.text for m in chat.say("/start qr")] == ["¡Hola! origen=qr"]
        assert chat.buttons() == ["Acepto", "No"]
        assert [m.text for m in chat.press("No", count=2)] == [
            "Elegiste reject (Sol)",
            "¿Con qué género te identificas?",
        ]
        assert [
            m.text for m in chat.do(lambda: server.user_sends_location(61), require=False)
        ] == []
    finally:
        stop.set()
        thread.join(timeout=10)
        server.stop_thread()


async def test_failures_on_demand_5xx_429_windows_delays_and_lost_calls(
    botapi: BotApiServer,
) -> None:
    """What the fault tests need: 5xx and 429 for a while, slow answers, lost requests."""
    botapi.add_user(71)
    async with botapi.bot() as bot:
        botapi.fail("sendMessage", status=502, count=1)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(71, "uno")
        botapi.flood("sendMessage", seconds=0.3, retry_after=1)
        with pytest.raises(RetryAfter):
            await bot.send_message(71, "dos")
        with pytest.raises(RetryAfter):
            await bot.send_message(71, "tres")  # too early: a violation
        assert len(botapi.violations) == 1
        await asyncio.sleep(0.35)
        await bot.send_message(71, "cuatro")  # the window is over
        botapi.delay("sendMessage", by=0.5, count=1)
        with pytest.raises(TimedOut):
            await bot.send_message(71, "cinco", read_timeout=0.1)
        await asyncio.sleep(0.6)

        async def lose(call: Call) -> object:
            return {"seis": DROP, "siete": LOSE_ANSWER}.get(call.params.get("text", ""))

        botapi.intercept("sendMessage", lose)
        with pytest.raises(NetworkError):
            await bot.send_message(71, "seis")
        with pytest.raises(NetworkError):
            await bot.send_message(71, "siete")
        botapi.clear_intercepts()
    # The slow one and the one whose answer was lost were delivered; the dropped one not.
    assert botapi.texts_to(71) == ["cuatro", "cinco", "siete"]


async def test_a_refused_webhook_delivery_comes_again_in_order_per_chat() -> None:
    """Telegram-like redelivery: a non-2xx answer is retried for a while; chats apart."""
    seen: list[tuple[int, str]] = []
    refusing = {"until": time.monotonic() + 0.6}

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat, text = update["message"]["chat"]["id"], update["message"]["text"]
        if chat == 1 and time.monotonic() < refusing["until"]:
            return web.Response(status=503)
        seen.append((chat, text))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server = BotApiServer(webhook_retry_for=5)
    await server.start()
    try:
        async with server.bot() as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
            for text in ("a", "b", "c"):
                await server.user_sends(1, text)
            await server.user_sends(2, "x")
            for _ in range(100):
                if len(seen) == 4:
                    break
                await asyncio.sleep(0.05)
    finally:
        await server.stop()
        await runner.cleanup()
    # Chat 2 did not wait for chat 1; chat 1's updates kept their order.
    assert seen == [(2, "x"), (1, "a"), (1, "b"), (1, "c")]
    assert [d["status"] for d in server.webhook_deliveries if d["update_id"] == 100_000_001][
        -1
    ] == 200
