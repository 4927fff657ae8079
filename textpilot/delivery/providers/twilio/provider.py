"""Twilio Programmable Messaging over its REST API (SMS and MMS).

One `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` per text, form-encoded, with HTTP
basic auth (AccountSid, AuthToken). The texts of a batch go out concurrently over one aiohttp
session per provider instance (httpx's async pool degrades past ~20 concurrent requests, see
notes/performance.md; the dispatcher overlaps several 50-text batches).

How an answer becomes an outcome:
  201 with a sid                    ACCEPTED
  429, 5xx                          TRANSIENT (Retry-After honoured)
  other 4xx                         PERMANENT with Twilio's error code (21610: carrier opt-out)
  no connection / connect timeout   TRANSIENT: nothing reached Twilio
  timeout or dropped connection     UNKNOWN: the request was on the wire, Twilio may have it;
    after the request was written   the status callback (?mid=) settles it, never a resend
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import structlog

from textpilot.delivery.providers.base import (
    ConfigChecks, OutgoingText, Outcome, Provider, ProviderConfigError, SendResult, register,
)
from textpilot.delivery.providers.twilio.webhooks import OPT_OUT_ERROR_CODE, TwilioWebhooks

log = structlog.get_logger(__name__)

API_VERSION = "2010-04-01"
_ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
# Keys of Twilio's JSON answers worth keeping on the DeliveryAttempt (not the echoed body or numbers).
_KEPT_RESPONSE_KEYS = ("sid", "status", "num_segments", "num_media", "price", "price_unit", "error_code",
                       "error_message", "code", "message", "more_info")
_RECORDED_BODY_CHARS = 320
_MAX_RETRY_AFTER_S = 3600.0
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@register
class TwilioProvider(TwilioWebhooks, Provider):
    name = "twilio"
    label = "Twilio"
    credential_fields = ("account_sid", "auth_token")
    option_fields = {
        "base_url": "https://api.twilio.com",  # tests point it at a local fake
        "messaging_service_sid": "",  # MG…: send through a Messaging Service instead of From
        "request_timeout_s": 15.0,  # per request; below the dispatcher's 30 s call limit
        "max_connections": 100,  # Twilio's default concurrency limit per account
    }
    supports_lookup = False  # Twilio has no idempotency key to ask "did you get message N?"

    def __init__(self, credentials: dict[str, str] | None = None, options: dict[str, Any] | None = None):
        super().__init__(credentials, options)
        self.account_sid = (self.credentials.get("account_sid") or "").strip()
        self._authorization = aiohttp.encode_basic_auth(self.account_sid, (self.credentials.get("auth_token") or "").strip())
        base = str(self.options["base_url"] or self.option_fields["base_url"]).rstrip("/")
        self.messages_url = f"{base}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        self._http: aiohttp.ClientSession | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    # --- configuration ----------------------------------------------------------------------

    @classmethod
    def validate_config(cls, credentials: dict[str, str], options: dict[str, Any]) -> None:
        checks = ConfigChecks()
        with checks:
            account_sid = (credentials.get("account_sid") or "").strip()
            if not account_sid:
                raise ProviderConfigError("account_sid is required for Twilio: the Account SID from the Twilio console",
                                          field="account_sid")
            if not _ACCOUNT_SID_RE.match(account_sid):
                raise ProviderConfigError("account_sid must be a Twilio Account SID: 34 characters, 'AC' followed by "
                                          "32 hexadecimal digits", field="account_sid")
        with checks:
            token = (credentials.get("auth_token") or "").strip()
            if not token:
                raise ProviderConfigError("auth_token is required for Twilio: the Auth Token from the Twilio console",
                                          field="auth_token")
            if any(c.isspace() for c in token):
                raise ProviderConfigError("auth_token must not contain spaces", field="auth_token")
        with checks:
            service_sid = (options.get("messaging_service_sid") or "").strip()
            if service_sid and not _SERVICE_SID_RE.match(service_sid):
                raise ProviderConfigError("messaging_service_sid must be empty or a Messaging Service SID: 'MG' followed "
                                          "by 32 hexadecimal digits", field="messaging_service_sid")
        with checks:
            base_url = str(options.get("base_url") or cls.option_fields["base_url"])
            if not base_url.startswith(("https://", "http://")):
                raise ProviderConfigError("base_url must be an http(s) URL", field="base_url")
        with checks:
            _number_option(options, "request_timeout_s", 1, 25, cls.option_fields["request_timeout_s"])
        with checks:
            _number_option(options, "max_connections", 1, 1000, cls.option_fields["max_connections"])
        checks.raise_if_any()

    # --- sending ----------------------------------------------------------------------------

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        session = self._session()
        return list(await asyncio.gather(*(self._send_one(session, text) for text in texts)))

    async def _send_one(self, session: aiohttp.ClientSession, text: OutgoingText) -> SendResult:
        form = self._form(text)
        recorded = _recorded_request(self.messages_url, form)
        # Set by the trace hook once the request headers are written: from then on a failure
        # means Twilio may have the text.
        progress = {"headers_sent": False}
        started = time.perf_counter()
        try:
            # No redirects: the Authorization header must never follow one to another host.
            # Encoded here: ~10% less CPU per request than aiohttp's FormData path (measured against bench/twilio_send_bench.py's fake).
            async with session.post(self.messages_url, data=urlencode(form).encode(), headers=_FORM_HEADERS,
                                    trace_request_ctx=progress, allow_redirects=False) as response:
                raw = await response.read()
                result = interpret_answer(text.message_id, response.status, response.headers, raw)
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            result = _failed_call(text.message_id, exc, progress["headers_sent"])
        result.request = recorded
        result.latency_ms = int((time.perf_counter() - started) * 1000)
        if result.outcome != Outcome.ACCEPTED:
            log.info("twilio.send_not_accepted", message_id=text.message_id, outcome=result.outcome.value,
                     error_code=result.error_code, error=result.error[:200])
        return result

    def _form(self, text: OutgoingText) -> list[tuple[str, str]]:
        """Twilio's form fields; MediaUrl repeats once per attachment."""
        form = [("To", text.to_phone), ("Body", text.body)]
        service_sid = (self.options.get("messaging_service_sid") or "").strip()
        form.append(("MessagingServiceSid", service_sid) if service_sid else ("From", text.from_phone))
        form += [("MediaUrl", url) for url in text.media_urls]
        if text.status_callback_url:
            form.append(("StatusCallback", text.status_callback_url))
        return form

    def _session(self) -> aiohttp.ClientSession:
        """One session (connection pool) per provider instance, on the loop that uses it."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.closed or self._http_loop is not loop:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_mark_headers_sent)
            timeout = aiohttp.ClientTimeout(total=float(self.options["request_timeout_s"]), sock_connect=5.0)
            self._http = aiohttp.ClientSession(
                timeout=timeout, trace_configs=[trace],
                connector=aiohttp.TCPConnector(limit=int(self.options["max_connections"])),
                headers={"Authorization": self._authorization, "User-Agent": "textpilot", "Accept": "application/json"},
            )
            self._http_loop = loop
        return self._http

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()
        self._http = None


async def _mark_headers_sent(session, trace_config_ctx, params) -> None:
    trace_config_ctx.trace_request_ctx["headers_sent"] = True


# --- answers ----------------------------------------------------------------------------------

def interpret_answer(message_id: int, status: int, headers, raw: bytes) -> SendResult:
    """Turn one HTTP answer of the Messages endpoint into a SendResult."""
    payload = _json_object(raw)
    response = {"http_status": status, **{k: payload[k] for k in _KEPT_RESPONSE_KEYS if payload.get(k) is not None}}
    if status in (200, 201):
        sid = payload.get("sid")
        if isinstance(sid, str) and sid:
            return SendResult(message_id, Outcome.ACCEPTED, provider_message_id=sid, response=response)
        # Twilio said yes but we can't tell which message it made: the callback (?mid=) will.
        return SendResult(message_id, Outcome.UNKNOWN, error=f"twilio answered {status} without a message sid",
                          response=response)
    code = str(payload.get("code") or "")
    detail = str(payload.get("message") or raw[:200].decode("utf-8", "replace") or f"HTTP {status}")
    error = f"twilio {code or status}: {detail}"[:500]
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            response["retry_after_s"] = retry_after
        return SendResult(message_id, Outcome.TRANSIENT, error=error, error_code=code or str(status),
                          response=response, retry_after_s=retry_after)
    if 400 <= status < 500:
        return SendResult(message_id, Outcome.PERMANENT, error=error, error_code=code or str(status),
                          carrier_opt_out=code == OPT_OUT_ERROR_CODE, response=response)
    return SendResult(message_id, Outcome.UNKNOWN, error=f"unexpected HTTP {status} from twilio", response=response)


def _failed_call(message_id: int, exc: BaseException, headers_sent: bool) -> SendResult:
    what = f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:300]
    if headers_sent:
        return SendResult(message_id, Outcome.UNKNOWN, error=f"connection lost after the request was sent ({what})",
                          response={"exception": type(exc).__name__})
    return SendResult(message_id, Outcome.TRANSIENT, error=f"could not reach twilio ({what})",
                      error_code="connection", response={"exception": type(exc).__name__})


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (`120`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _json_object(raw: bytes) -> dict:
    try:
        payload = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _recorded_request(url: str, form: list[tuple[str, str]]) -> dict[str, Any]:
    """What we asked, for the DeliveryAttempt: the form without credentials (they travel in
    the Authorization header, never recorded), the body cut short."""
    recorded: dict[str, Any] = {"method": "POST", "url": url}
    for key, value in form:
        if key == "MediaUrl":
            recorded.setdefault("MediaUrl", []).append(value)
        elif key == "Body":
            recorded["Body"] = value[:_RECORDED_BODY_CHARS]
            recorded["body_chars"] = len(value)
        else:
            recorded[key] = value
    return recorded


def _number_option(options: dict[str, Any], name: str, low: float, high: float, default: float) -> None:
    value = options.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProviderConfigError(f"{name} must be a number from {low:g} to {high:g}", field=name) from None
    if not low <= number <= high:
        raise ProviderConfigError(f"{name} must be a number from {low:g} to {high:g}", field=name)
