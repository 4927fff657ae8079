"""Kannel: an open-source SMS gateway (bearerbox + smsbox) in front of an operator's SMSC.

Sends with smsbox's HTTP `cgi-bin/sendsms`; Kannel posts delivery receipts to the `dlr-url`
we give with each text and inbound texts to the `get-url` of its sms-service, both under
/webhooks/kannel/<store>/ (read by webhooks.py, the KannelWebhooks mixin). Kannel can't sign
requests, so both carry the sender's secret `webhook_token`. Kannel assigns no message id we could ask about later:
our own message id travels in the dlr-url, which is how receipts find their message (also
one left `unknown` by a call that timed out).

Kannel splits long texts itself, but only into as many parts as the `max-messages` of its
sendsms-user group allows (default 1) and it cuts the rest off silently, opt-out line
included. The sender's `max_messages` option mirrors that setting: a text needing more
parts is refused here instead of going out truncated."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import aiohttp
import structlog

from textpilot.delivery.providers.base import ConfigChecks, OutgoingText, Outcome, Provider, ProviderConfigError, SendResult, register
from textpilot.delivery.providers.kannel.webhooks import KannelWebhooks, allowed_networks, provider_message_id
from textpilot.messaging.encoding import UCS2, count_segments

log = structlog.get_logger(__name__)

# Kannel's receipt types (dlr-mask bits): 1 delivered, 2 failed, 4 buffered, 8 SMSC ack, 16 SMSC nack.
DLR_MASK = 1 | 2 | 4 | 8 | 16


def outcome_of(http_status: int, body: str) -> Outcome:
    """smsbox's answer to sendsms: 202 "0: Accepted for delivery" or "3: Queued for later
    delivery" (bearerbox stored it); 4xx (bad credentials, bad number…) won't change on a
    retry; 5xx ("Sending failed.") and 429 may. Any other success answer (a proxy's page?)
    may hide an accepted text: unknown, never resent blindly."""
    if http_status in (200, 202) and body[:2] in ("0:", "3:"):
        return Outcome.ACCEPTED
    if http_status >= 500 or http_status == 429:
        return Outcome.TRANSIENT
    if 200 <= http_status < 300:
        return Outcome.UNKNOWN
    return Outcome.PERMANENT


@register
class KannelProvider(KannelWebhooks, Provider):
    name = "kannel"
    label = "Kannel gateway (smsbox HTTP)"
    credential_fields = ("username", "password", "webhook_token")
    option_fields = {
        "base_url": "http://127.0.0.1:13013",  # smsbox's sendsms-port
        "smsc_id": "",  # route through one SMSC of the gateway (optional)
        "request_timeout_s": 10.0,
        # = max-messages of Kannel's sendsms-user group (Kannel's default is 1: one SMS).
        "max_messages": 1,
        # Addresses (or networks) Kannel calls from; empty = any, the token alone guards.
        "allowed_ips": "",
    }

    @classmethod
    def validate_config(cls, credentials, options) -> None:
        checks = ConfigChecks()
        with checks:
            super().validate_config(credentials, options)
        options = {**cls.option_fields, **options}
        with checks:
            if not str(options.get("base_url") or "").startswith(("http://", "https://")):
                raise ProviderConfigError("base_url must be smsbox's http(s) address, e.g. http://127.0.0.1:13013", field="base_url")
        if "webhook_token" not in {error.field for error in checks.found} and len(credentials.get("webhook_token", "")) < 16:
            with checks:
                raise ProviderConfigError("webhook_token must have at least 16 characters (it guards the receipt and inbound URLs)",
                                          field="webhook_token")
        with checks:
            try:
                timeout = float(options.get("request_timeout_s"))
            except (TypeError, ValueError):
                raise ProviderConfigError("request_timeout_s must be a number of seconds", field="request_timeout_s") from None
            if not 1 <= timeout <= 25:
                raise ProviderConfigError("request_timeout_s must be between 1 and 25 seconds", field="request_timeout_s")
        with checks:
            max_messages = options.get("max_messages")
            if isinstance(max_messages, bool) or not isinstance(max_messages, int) or not 1 <= max_messages <= 255:
                raise ProviderConfigError("max_messages must be a whole number from 1 to 255 (max-messages of Kannel's sendsms-user)",
                                          field="max_messages")
        with checks:
            try:
                allowed_networks(options.get("allowed_ips"))
            except ValueError as exc:
                raise ProviderConfigError(f"allowed_ips: {exc}", field="allowed_ips") from None
        checks.raise_if_any()

    def __init__(self, credentials=None, options=None):
        super().__init__(credentials, options)
        self.sendsms_url = str(self.options["base_url"]).rstrip("/") + "/cgi-bin/sendsms"
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=float(self.options["request_timeout_s"])))
        return self._http

    def request_params(self, text: OutgoingText) -> dict[str, str]:
        params = {
            "username": self.credentials["username"], "password": self.credentials["password"],
            "from": text.from_phone, "to": text.to_phone, "text": text.body,
        }
        if count_segments(text.body).encoding == UCS2:
            params.update(coding="2", charset="UTF-8")
        if self.options.get("smsc_id"):
            params["smsc"] = self.options["smsc_id"]
        if text.status_callback_url:
            # %d and %A are Kannel's escapes for the receipt type and the SMSC's answer.
            separator = "&" if "?" in text.status_callback_url else "?"
            token = urlencode({"token": self.credentials["webhook_token"]})
            params["dlr-mask"] = str(DLR_MASK)
            # %F (the SMSC's own id) is kept with the receipt for tracing a text with the operator.
            params["dlr-url"] = f"{text.status_callback_url}{separator}{token}&status=%d&answer=%A&fid=%F"
        return params

    async def send_batch(self, texts: list[OutgoingText]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_one(text) for text in texts)))

    async def _send_one(self, text: OutgoingText) -> SendResult:
        started = time.perf_counter()
        request = {"to": text.to_phone, "from": text.from_phone, "characters": len(text.body)}
        parts, allowed = count_segments(text.body).segments, int(self.options["max_messages"])
        if parts > allowed:
            return self._result(text, Outcome.PERMANENT, started, request, error_code="too_long", error=(
                f"kannel: the text needs {parts} SMS and this sender allows {allowed} (Kannel would cut the rest off); "
                "raise max-messages in Kannel's sendsms-user group and the sender's max_messages option"))
        try:
            async with self._session().get(self.sendsms_url, params=self.request_params(text)) as response:
                body = (await response.text()).strip()
        except aiohttp.ClientConnectorError as exc:  # no connection: smsbox never saw it
            return self._result(text, Outcome.TRANSIENT, started, request, error=f"kannel: {type(exc).__name__}: {exc}"[:300])
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            # The request may have reached smsbox: never resend blindly.
            return self._result(text, Outcome.UNKNOWN, started, request, error=f"kannel: {type(exc).__name__}: {exc}"[:300])
        answer = {"status": response.status, "body": body[:200]}
        outcome = outcome_of(response.status, body)
        if outcome is Outcome.ACCEPTED:
            return self._result(text, outcome, started, request, answer, provider_message_id(text.message_id))
        return self._result(text, outcome, started, request, answer, error=f"kannel: {body or response.status}",
                            error_code=str(response.status))

    @staticmethod
    def _result(text, outcome, started, request, response=None, provider_id=None, error="", error_code=""):
        return SendResult(text.message_id, outcome, provider_message_id=provider_id, error=error, error_code=error_code,
                          request=request, response=response or {}, latency_ms=int((time.perf_counter() - started) * 1000))

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()
