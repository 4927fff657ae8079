"""A local fake of Twilio's Messages API (a real aiohttp server on 127.0.0.1 speaking Twilio's
JSON shapes) and helpers to post webhooks signed by the real twilio RequestValidator."""
from __future__ import annotations

import base64
import collections
import secrets
from urllib.parse import urlencode

from aiohttp import web
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
OTHER_TOKEN = "e" * 32
TWILIO_NUMBER = "+14155550100"
PUBLIC_URL = "https://sms.acme.test"


class FakeTwilio:
    """POST /2010-04-01/Accounts/{sid}/Messages.json. Answers 201 unless a behaviour was
    scripted for the recipient with `will(to, ...)`: ("error", http_status, code, message,
    headers) or ("drop",) (read the request, then close the connection without answering)."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.requests: list[dict] = []
        self._scripts: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.url = ""

    def will(self, to_phone: str, *behaviours: tuple) -> None:
        self._scripts[to_phone].extend(behaviours)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        self.requests.append({
            "account": request.match_info["account"], "authorization": request.headers.get("Authorization", ""),
            "content_type": request.content_type, "form": {key: form.getall(key) for key in set(form.keys())},
        })
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["account"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        to = form.get("To", "")
        script = self._scripts.get(to)
        behaviour = script.popleft() if script else ("accept",)
        if behaviour[0] == "drop":
            request.transport.close()
            return web.Response(status=201)  # never reaches the client
        if behaviour[0] == "error":
            _, status, code, message, *headers = behaviour
            return _error(status, code, message, headers[0] if headers else None)
        sid = "SM" + secrets.token_hex(16)
        return web.json_response(status=201, data={
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": "Thu, 01 Jan 2026 12:00:00 +0000", "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(form.getall("MediaUrl", []))), "num_segments": "1", "price": None, "price_unit": "USD",
            "sid": sid, "status": "queued", "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        })


def _error(status: int, code: int, message: str, headers: dict | None = None) -> web.Response:
    return web.json_response(status=status, headers=headers, data={
        "code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status,
    })


def twilio_credentials(token: str = AUTH_TOKEN) -> dict:
    return {"account_sid": ACCOUNT_SID, "auth_token": token}


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path: str, params: dict, *, token: str = AUTH_TOKEN, base: str = "http://testserver",
                sign: bool = True, signature_value: str | None = None):
    """Post form-encoded params as Twilio does, signed for `base + path` with `token`."""
    headers = {}
    if signature_value is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature_value
    elif sign:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature(base + path, params, token)
    return client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded", **headers)
