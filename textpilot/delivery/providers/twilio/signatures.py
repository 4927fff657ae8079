"""Whether Twilio really signed a webhook with a given auth token.

`X-Twilio-Signature` is base64(HMAC-SHA1(auth token, URL + sorted form params)), checked with
the twilio package's own RequestValidator. The URL must be the one Twilio called:

  * TEXTPILOT_PUBLIC_URL set (production, behind a proxy or tunnel): that base + the request
    path and query string as they reached Django, e.g.
    https://sms.example.com/webhooks/twilio/acme/status?mid=42. It is also the base the
    dispatcher puts in StatusCallback, so both sides agree by construction.
  * unset: `request.build_absolute_uri()`: scheme and host as Django sees them, so a proxy
    must pass them on (USE_X_FORWARDED_HOST / SECURE_PROXY_SSL_HEADER) or every signature fails.

The validator tries the URL with and without the default port, as Twilio signs either way.
Which store and senders to try is the generic webhook view's business (delivery/webhooks.py).
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url(request: HttpRequest) -> str:
    base = (getattr(settings, "TEXTPILOT_PUBLIC_URL", "") or "").rstrip("/")
    if base:
        # path_info, not path: a base URL with a path prefix already carries the script prefix.
        return base + request.get_full_path_info()
    return request.build_absolute_uri()


def is_signed_by(request: HttpRequest, auth_token: str) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(public_url(request), request.POST, signature)
