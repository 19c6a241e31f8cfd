"""A local WhatsApp Business Cloud API (aiohttp) for tests and benchmarks.

It stands in for ``graph.facebook.com`` where the product can tell the difference:

- ``POST /{version}/{phone-number-id}/messages`` and ``/media`` with a bearer token;
  a message is answered with its id (``wamid...``), an upload with a media id;
- WhatsApp's limits, refused with the Cloud API's own error bodies
  (``{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}``): texts of
  at most 4,096 characters, 1 to 3 reply buttons with titles of at most 20, lists of
  at most 10 rows (titles ≤ 24, descriptions ≤ 72), interactive bodies ≤ 1,024, ids
  ≤ 256, documents by an uploaded media id, templates that exist with the right
  number of one-line parameters, and free-form messages only within 24 hours of the
  citizen's last message (131047);
- failures on demand (``fail``): rate limits (130429, 131056), an undeliverable number
  (131026), a 500;
- the citizens' side: a ``Phone`` sends text, presses buttons, picks list rows, sends
  media, reactions, edits ..., each delivered to the product's webhook signed with the
  app secret (``X-Hub-Signature-256``); and tests read what the phone shows.

One difference is documented: the real API accepts some messages and reports their
failure later in a status webhook (131047, 131026); this server refuses them at once,
which is the harder case for the sender.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

VERSION = "v21.0"
PHONE_NUMBER_ID = "109876543210987"
ACCESS_TOKEN = "EAAG-local-test-token-0123456789abcdefABCDEF"
APP_SECRET = "3f1c9a7be2d04c6f8a5b19e07d3c2f4a"
VERIFY_TOKEN = "verify-Token_for-the-local-tests-7QzX"
WINDOW_SECONDS = 24 * 3600
NUMBERED = re.compile(r"^(\d{1,2})\. (.+)$", re.MULTILINE)
MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ID = 256
MAX_CAPTION = 1024

Json = dict[str, Any]


class ApiError(Exception):
    """A Cloud API error: HTTP status and the error object."""

    def __init__(self, code: int, message: str, *, details: str = "", status: int = 400,
                 kind: str = "OAuthException"):  # fmt: skip
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {
                "message": message,
                "type": kind,
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details or message},
                "fbtrace_id": secrets.token_urlsafe(12),
            }
        }


def invalid(details: str) -> ApiError:
    """The error of a parameter WhatsApp refuses (131009)."""
    return ApiError(131009, "(#131009) Parameter value is not valid", details=details)


ON_DEMAND: dict[int, tuple[str, str, int]] = {
    130429: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131056: (
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone "
        "number in a short period of time.",
        400,
    ),
    131026: (
        "(#131026) Message Undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not "
        "a WhatsApp phone number; the recipient has not accepted our new Terms of Service.",
        400,
    ),
    131000: (
        "(#131000) Something went wrong",
        "Message failed to send due to an unknown error.",
        500,
    ),
}


@dataclass
class PhoneMessage:
    """A message as the citizen's phone shows it."""

    id: str
    kind: str  # text, buttons, list, document, image, template
    text: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (id, title)
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, description)
    list_button: str = ""
    document: bytes | None = None
    filename: str = ""
    image: str = ""  # the picture's link (or its media id)
    template: str = ""
    language: str = ""
    parameters: list[str] = field(default_factory=list)

    @property
    def choices(self) -> list[str]:
        """What the phone offers: button titles, list row titles, or a numbered menu's lines."""
        found = [title for _, title in self.buttons] + [title for _, title, _ in self.rows]
        return found or [title for _, title in self.numbered]

    @property
    def numbered(self) -> list[tuple[str, str]]:
        """The lines ``N. choice`` of a numbered text menu: (number, choice)."""
        if self.kind != "text":
            return []
        return [(m.group(1), m.group(2)) for m in NUMBERED.finditer(self.text)]


@dataclass
class Rule:
    """A failure on demand: ``code`` for the next ``times`` messages (to ``wa_id``, or anyone)."""

    code: int
    times: int
    wa_id: str | None = None


class WhatsAppCloudServer:
    """The local Cloud API (see the module docstring)."""

    def __init__(
        self,
        *,
        phone_number_id: str = PHONE_NUMBER_ID,
        access_token: str = ACCESS_TOKEN,
        app_secret: str = APP_SECRET,
        clock: Callable[[], float] = time.time,
    ):
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.app_secret = app_secret
        self.clock = clock
        self.webhook_url: str | None = None
        self.templates: dict[str, tuple[str, int]] = {}  # name -> (language, parameters)
        self.inbox: dict[str, list[PhoneMessage]] = defaultdict(list)
        self.last_inbound: dict[str, float] = {}
        self.media: dict[str, tuple[bytes, str, str]] = {}
        self.refused: list[Json] = []  # every error body sent back
        self.rules: list[Rule] = []
        self.requests = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The base URL the product uses as ``WHATSAPP_API_URL``."""
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=110 * 1024 * 1024)
        app.router.add_post("/{version}/{phone}/messages", self._messages)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._http = ClientSession(timeout=ClientTimeout(total=60))

    async def stop(self) -> None:
        """Stop listening."""
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def approve(self, name: str, language: str, parameters: int) -> None:
        """An approved template (the product may send it outside the window)."""
        self.templates[name] = (language, parameters)

    def fail(self, code: int, *, times: int = 1, wa_id: str | None = None) -> None:
        """Refuse the next ``times`` messages (to ``wa_id``) with error ``code``."""
        self.rules.append(Rule(code, times, wa_id))

    def phone(self, wa_id: str, name: str = "Ciudadana") -> Phone:
        """The citizen with WhatsApp id ``wa_id`` (a phone number)."""
        return Phone(self, wa_id, name)

    # ------------------------------------------------------------------ Graph API
    def _authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization", "") != f"Bearer {self.access_token}":
            raise ApiError(
                190, "Invalid OAuth access token - Cannot parse access token", status=401
            )
        if request.match_info["phone"] != self.phone_number_id:
            raise ApiError(
                100,
                f"Unsupported post request. Object with ID '{request.match_info['phone']}' "
                "does not exist, cannot be loaded due to missing permissions, or does not "
                "support this operation.",
                kind="GraphMethodException",
            )

    async def _messages(self, request: web.Request) -> web.Response:
        self.requests += 1
        try:
            self._authorised(request)
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(
                    100, "(#100) Invalid parameter", details="The body is not JSON."
                ) from None
            if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
                raise ApiError(100, "(#100) The parameter messaging_product is required.")
            to = str(body.get("to", ""))
            if not to.isdigit():
                raise ApiError(
                    100, "(#100) Invalid parameter", details="Param to is not a phone number."
                )
            self._on_demand(to)
            shown = self._check(to, body)
        except ApiError as error:
            self.refused.append(error.body)
            return web.json_response(error.body, status=error.status)
        self.inbox[to].append(shown)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": shown.id}],
            }
        )

    def _on_demand(self, to: str) -> None:
        for rule in self.rules:
            if rule.times > 0 and rule.wa_id in (None, to):
                rule.times -= 1
                message, details, status = ON_DEMAND[rule.code]
                raise ApiError(rule.code, message, details=details, status=status)

    def _check(self, to: str, body: Json) -> PhoneMessage:
        kind = body.get("type", "text")
        wamid = f"wamid.{secrets.token_hex(16)}"
        if kind == "template":
            return self._template(wamid, body.get("template"))
        last = self.last_inbound.get(to)
        if last is None or self.clock() - last > WINDOW_SECONDS:
            raise ApiError(
                131047,
                "(#131047) Re-engagement message",
                details="Message failed to send because more than 24 hours have passed since "
                "the customer last replied to this number.",
            )
        if kind == "text":
            text = (body.get("text") or {}).get("body")
            if not isinstance(text, str) or not text:
                raise ApiError(100, "(#100) The parameter text['body'] is required.")
            if len(text) > MAX_TEXT:
                raise invalid(f"Param text['body'] must be at most {MAX_TEXT} characters long.")
            return PhoneMessage(wamid, "text", text=text)
        if kind == "interactive":
            return self._interactive(wamid, body.get("interactive") or {})
        if kind == "document":
            document = body.get("document") or {}
            stored = self.media.get(str(document.get("id", "")))
            if stored is None:
                raise ApiError(131053, "(#131053) Media upload error",
                               details="Unable to find the media with the given id.")  # fmt: skip
            caption = str(document.get("caption", ""))
            if len(caption) > MAX_CAPTION:
                raise invalid(
                    f"Param document['caption'] must be at most {MAX_CAPTION} characters long."
                )
            content, _, filename = stored
            return PhoneMessage(wamid, "document", text=caption, document=content,
                                filename=str(document.get("filename") or filename))  # fmt: skip
        if kind == "image":
            return self._image(wamid, body.get("image") or {})
        raise ApiError(100, f"(#100) Param type '{kind}' is not supported by this server.")

    def _image(self, wamid: str, image: Json) -> PhoneMessage:
        link, media = str(image.get("link", "")), str(image.get("id", ""))
        if media and media not in self.media:
            raise ApiError(131053, "(#131053) Media upload error",
                           details="Unable to find the media with the given id.")  # fmt: skip
        if not media and not link.startswith("https://"):
            raise invalid("Param image['link'] must be a valid https URL.")
        caption = str(image.get("caption", ""))
        if len(caption) > MAX_CAPTION:
            raise invalid(f"Param image['caption'] must be at most {MAX_CAPTION} characters long.")
        return PhoneMessage(wamid, "image", text=caption, image=media or link)

    def _interactive(self, wamid: str, interactive: Json) -> PhoneMessage:
        text = str((interactive.get("body") or {}).get("text", ""))
        if not text:
            raise ApiError(100, "(#100) The parameter interactive['body']['text'] is required.")
        if len(text) > MAX_BODY:
            raise invalid(
                f"Param interactive['body']['text'] must be at most {MAX_BODY} characters long."
            )
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            buttons = [(b.get("reply") or {}) for b in action.get("buttons") or ()]
            if not 1 <= len(buttons) <= MAX_BUTTONS:
                raise invalid(
                    f"Param interactive['action']['buttons'] must have 1 to {MAX_BUTTONS} items."
                )
            pairs = []
            for button in buttons:
                ident, title = str(button.get("id", "")), str(button.get("title", ""))
                if not title or len(title) > MAX_BUTTON_TITLE:
                    raise invalid(
                        f"Button title length invalid. Should be between 1 and {MAX_BUTTON_TITLE} characters."
                    )
                if not ident or len(ident) > MAX_ID:
                    raise invalid(f"Button id must be between 1 and {MAX_ID} characters.")
                pairs.append((ident, title))
            if len({i for i, _ in pairs}) != len(pairs) or len({t for _, t in pairs}) != len(pairs):
                raise invalid("Buttons must have unique ids and titles.")
            return PhoneMessage(wamid, "buttons", text=text, buttons=pairs)
        if interactive.get("type") == "list":
            label = str(action.get("button", ""))
            if not label or len(label) > MAX_BUTTON_TITLE:
                raise invalid(
                    f"Param interactive['action']['button'] must be between 1 and {MAX_BUTTON_TITLE} characters."
                )
            rows = [r for s in action.get("sections") or () for r in (s.get("rows") or ())]
            if not 1 <= len(rows) <= MAX_ROWS:
                raise invalid(f"Total row count exceed max allowed count: {MAX_ROWS}")
            found = []
            for row in rows:
                ident, title = str(row.get("id", "")), str(row.get("title", ""))
                description = str(row.get("description", ""))
                if not title or len(title) > MAX_ROW_TITLE:
                    raise invalid(
                        f"Row title length invalid. Should be between 1 and {MAX_ROW_TITLE} characters."
                    )
                if len(description) > MAX_ROW_DESCRIPTION:
                    raise invalid(
                        f"Row description is too long. Max length is {MAX_ROW_DESCRIPTION}."
                    )
                if not ident or len(ident) > MAX_ID:
                    raise invalid(f"Row id must be between 1 and {MAX_ID} characters.")
                found.append((ident, title, description))
            if len({i for i, _, _ in found}) != len(found):
                raise invalid("Row ids must be unique.")
            return PhoneMessage(wamid, "list", text=text, rows=found, list_button=label)
        raise ApiError(100, "(#100) Param interactive['type'] must be one of {button, list}.")

    def _template(self, wamid: str, template: Any) -> PhoneMessage:
        template = template if isinstance(template, dict) else {}
        name = str(template.get("name", ""))
        language = str((template.get("language") or {}).get("code", ""))
        known = self.templates.get(name)
        if known is None or known[0] != language:
            raise ApiError(132001, "(#132001) Template name does not exist in the translation",
                           details=f"template name ({name}) does not exist in {language}")  # fmt: skip
        parameters = [
            str(p.get("text", ""))
            for c in template.get("components") or ()
            if c.get("type") == "body"
            for p in c.get("parameters") or ()
        ]
        if len(parameters) != known[1]:
            raise ApiError(132000, "(#132000) Number of parameters does not match the expected number of params",
                           details=f"body: number of localizable_params ({len(parameters)}) does not match the expected number of params ({known[1]})")  # fmt: skip
        for value in parameters:
            if not value or "\n" in value or "\t" in value or "     " in value:
                raise ApiError(132018, "(#132018) There was an issue with the parameters in your template.",
                               details="Param text cannot have new-line/tab characters or more than 4 consecutive spaces")  # fmt: skip
        return PhoneMessage(wamid, "template", template=name, language=language,
                            parameters=parameters, text=" | ".join(parameters))  # fmt: skip

    async def _upload(self, request: web.Request) -> web.Response:
        self.requests += 1
        try:
            self._authorised(request)
            form = await request.post()
            if form.get("messaging_product") != "whatsapp":
                raise ApiError(100, "(#100) The parameter messaging_product is required.")
            upload = form.get("file")
            if not isinstance(upload, web.FileField):
                raise ApiError(100, "(#100) The parameter file is required.")
            mime = str(form.get("type") or upload.content_type)
            if mime not in ("application/pdf", "image/png", "image/jpeg", "text/plain"):
                raise ApiError(
                    131053, "(#131053) Media upload error", details=f"Unsupported type {mime}."
                )
            content = upload.file.read()
        except ApiError as error:
            self.refused.append(error.body)
            return web.json_response(error.body, status=error.status)
        media_id = str(10**15 + next(self._ids))
        self.media[media_id] = (content, mime, upload.filename)
        return web.json_response({"id": media_id})

    # ------------------------------------------------------------------ the citizens' side
    def envelope(self, wa_id: str, name: str, messages: Sequence[Json]) -> Json:
        """A webhook delivery of ``messages`` from ``wa_id``, as Meta sends it."""
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "527711234567", "phone_number_id": self.phone_number_id},
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": list(messages),
            }}]}],
        }  # fmt: skip

    def message(self, wa_id: str, kind: str, content: Any, **extra: Any) -> Json:
        """One citizen message of type ``kind`` (a new message id)."""
        return {"from": wa_id, "id": f"wamid.{secrets.token_hex(16)}",
                "timestamp": str(int(self.clock())), "type": kind, kind: content, **extra}  # fmt: skip

    async def deliver(self, payload: Json, *, secret: str | None = None) -> int:
        """POST ``payload`` to the product's webhook, signed (with ``secret`` to forge one)."""
        assert self.webhook_url and self._http is not None, "set webhook_url first"
        raw = json.dumps(payload).encode()
        signature = hmac.new((secret or self.app_secret).encode(), raw, hashlib.sha256).hexdigest()
        for value in payload.get("entry", ()):
            for change in value.get("changes", ()):
                for message in change.get("value", {}).get("messages", ()):
                    self.last_inbound[str(message["from"])] = self.clock()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
        async with self._http.post(self.webhook_url, data=raw, headers=headers) as response:
            await response.read()
            return response.status

    async def wait_for(
        self, wa_id: str, count: int, *, timeout: float = 10.0
    ) -> list[PhoneMessage]:
        """Wait until ``wa_id`` has received ``count`` messages in all; every one of them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.inbox[wa_id]) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{len(self.inbox[wa_id])} messages to the phone, not {count}")
            await asyncio.sleep(0.01)
        return list(self.inbox[wa_id])


class Phone:
    """A citizen's WhatsApp: what they send, and what they see."""

    def __init__(self, server: WhatsAppCloudServer, wa_id: str, name: str):
        self.server = server
        self.wa_id = wa_id
        self.name = name
        self.last_delivery: Json | None = None
        self.last_status = 0

    @property
    def messages(self) -> list[PhoneMessage]:
        """Everything the phone received, oldest first."""
        return list(self.server.inbox[self.wa_id])

    def last(self) -> PhoneMessage:
        """The newest message on the phone."""
        return self.server.inbox[self.wa_id][-1]

    def choices(self) -> list[str]:
        """The buttons or list rows of the newest message that offers any."""
        for message in reversed(self.server.inbox[self.wa_id]):
            if message.choices:
                return message.choices
        return []

    async def send(self, kind: str, content: Any, **extra: Any) -> list[PhoneMessage]:
        """Send one message; what arrived on the phone while the product handled it."""
        return await self.deliver(self.server.message(self.wa_id, kind, content, **extra))

    async def deliver(self, *messages: Json, secret: str | None = None) -> list[PhoneMessage]:
        """Deliver ``messages`` in one webhook call; the new messages on the phone."""
        before = len(self.server.inbox[self.wa_id])
        self.last_delivery = self.server.envelope(self.wa_id, self.name, messages)
        self.last_status = await self.server.deliver(self.last_delivery, secret=secret)
        return self.server.inbox[self.wa_id][before:]

    async def again(self) -> list[PhoneMessage]:
        """Meta delivers the last delivery once more (same message ids)."""
        assert self.last_delivery is not None
        before = len(self.server.inbox[self.wa_id])
        self.last_status = await self.server.deliver(self.last_delivery)
        return self.server.inbox[self.wa_id][before:]

    async def say(self, text: str) -> list[PhoneMessage]:
        """Type ``text``."""
        return await self.send("text", {"body": text})

    async def press(self, title: str) -> list[PhoneMessage]:
        """Tap the button or list row titled ``title`` (or type its number in a numbered menu)."""
        return await self.deliver(self.tap(title))

    def tap(self, title: str) -> Json:
        """The message that tapping ``title`` sends (not delivered yet)."""
        server = self.server
        for message in reversed(server.inbox[self.wa_id]):
            for ident, shown in message.buttons:
                if shown == title:
                    reply = {"type": "button_reply", "button_reply": {"id": ident, "title": shown}}
                    return server.message(self.wa_id, "interactive", reply)
            for ident, shown, description in message.rows:
                if title in (shown, description):
                    row = {"id": ident, "title": shown, "description": description}
                    reply = {"type": "list_reply", "list_reply": row}
                    return server.message(self.wa_id, "interactive", reply)
            for number, shown in message.numbered:
                if shown == title:  # a numbered menu: the citizen types the number
                    return server.message(self.wa_id, "text", {"body": number})
            if message.choices:
                break
        raise AssertionError(f"no choice {title!r} on the phone; it offers {self.choices()}")

    def text(self, body: str) -> Json:
        """The message that typing ``body`` sends (not delivered yet)."""
        return self.server.message(self.wa_id, "text", {"body": body})

    async def run(self, transcript: Sequence[tuple[str | Press, str]]) -> None:
        """Play ``[(what the citizen does, what the answer contains), ...]``."""
        for action, expected in transcript:
            if isinstance(action, Press):
                arrived = await self.press(action.title)
            else:
                arrived = await self.say(action)
            texts = "\n".join(m.text for m in arrived)
            assert expected in texts, f"after {action!r} expected {expected!r} in:\n{texts}"


@dataclass(frozen=True)
class Press:
    """A tap on a button or list row, in a transcript."""

    title: str


def press(title: str) -> Press:
    """``press("Acepto")`` in a transcript."""
    return Press(title)
