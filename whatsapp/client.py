"""The Graph API calls the channel makes: send a message, upload a file (plain aiohttp).

``WHATSAPP_API_URL`` is the base (``https://graph.facebook.com/v21.0``, or a local
server in tests); requests carry the access token as a bearer token. WhatsApp's
errors come back as ``GraphError`` with the Cloud API's code, and what they mean for
a sender (``retry``, ``undeliverable``, ``outside_window``) is decided here once.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from yarl import URL

from pmd_domain import jsoncodec
from pmd_domain.settings import Settings

log = logging.getLogger("pmd.whatsapp")

# Cloud API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
OUTSIDE_WINDOW = 131047  # more than 24 hours since the citizen's last message
UNDELIVERABLE = 131026  # not a WhatsApp number, an old client, or the citizen blocked us
RATE_LIMITS = frozenset({4, 80007, 130429, 131056})  # app, account, throughput, pair rate
PASSING = frozenset({1, 2, 131000, 131016, 133004})  # unknown, service unavailable, ...
TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)


class GraphError(Exception):
    """WhatsApp refused or could not take a request: HTTP status, error code, message."""

    def __init__(self, status: int, code: int | None, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def retry(self) -> bool:
        """Whether the same request may succeed later (rate limits, 5xx, network)."""
        return self.status >= 500 or self.status == 429 or self.code in RATE_LIMITS | PASSING

    @property
    def rate_limited(self) -> bool:
        """Whether WhatsApp asks to slow down."""
        return self.status == 429 or self.code in RATE_LIMITS

    @property
    def undeliverable(self) -> bool:
        """Whether this number takes no messages from us."""
        return self.code == UNDELIVERABLE

    @property
    def reason(self) -> str:
        """A short reason for logs and the outbox (no number, no text)."""
        return f"WhatsApp {self.code or self.status}"


class GraphClient:
    """The Cloud API of one phone number."""

    def __init__(self, settings: Settings):
        assert settings.whatsapp_phone_number_id and settings.whatsapp_access_token
        self.base = f"{settings.whatsapp_api_url}/{settings.whatsapp_phone_number_id}"
        # Parsed once: aiohttp parses a URL given as text on every call.
        self._urls = {path: URL(f"{self.base}/{path}") for path in ("messages", "media")}
        self._headers = {"Authorization": f"Bearer {settings.whatsapp_access_token}"}
        self._json = {"Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT,
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=64),
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, to: str, message: dict[str, Any]) -> str:
        """Send ``message`` (a body without the envelope) to ``to``; the message id."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        # Encoded here, sent as bytes: aiohttp's ``json=`` builds a payload object per call.
        data = jsoncodec.dumpb({**body, **message})
        answer = await self._call("messages", data=data, headers=self._json)
        messages = answer.get("messages") or [{}]
        return str(messages[0].get("id", ""))

    async def upload(self, content: bytes, *, mime: str, filename: str) -> str:
        """Upload a file for sending; its media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", content, filename=filename, content_type=mime)
        answer = await self._call("media", data=form)
        return str(answer.get("id", ""))

    async def _call(self, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().post(self._urls[path], **kwargs) as response:
                raw = await response.read()
                try:
                    answer = jsoncodec.loads(raw) if raw else None
                except ValueError:  # not JSON, or not UTF-8
                    answer = None
                if response.status >= 400 or not isinstance(answer, dict) or "error" in answer:
                    raise _error(response.status, answer)
                return answer
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GraphError(599, None, type(exc).__name__) from None


def _error(status: int, answer: Any) -> GraphError:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return GraphError(status if status >= 400 else 502, None, "unexpected answer")
    code = error.get("code")
    return GraphError(
        status if status >= 400 else 400,
        code if isinstance(code, int) else None,
        str(error.get("message", ""))[:120],
    )
