"""The storefront snippet: `/js/textpilot.js`, and the public intake it posts to,
`/api/public/v1/track` and `/api/public/v1/identify`.

The intake is open to the internet and authenticated only by the store's public key, which is
printed in every page of the storefront and is therefore no secret. So it can only record
events and identify visitors (never read, never set consent or order rollups), is rate-limited
per client IP before the key is even looked at, and answers CORS for any origin without
credentials. Bodies are read as JSON whatever their content type: the snippet sends
`text/plain` so browsers make a "simple" request with no preflight round trip."""
import hashlib
import json
from functools import lru_cache, wraps
from pathlib import Path

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import condition, require_safe

from textpilot.common.errors import Conflict, DomainError, FieldError
from textpilot.events import ratelimit
from textpilot.events import service as events
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile
from textpilot.stores import service as stores_service
from textpilot.stores.models import Store

SNIPPET_FILE = Path(__file__).resolve().parent / "static" / "events" / "textpilot.js"
# Merchants paste one unversioned URL, so a fix must reach browsers within the hour.
SNIPPET_MAX_AGE_SECONDS = 3600
PUBLIC_MAX_BODY_BYTES = 64 * 1024  # events' properties are capped at 32 KB; leave room around them
KEY_HEADER = "X-Textpilot-Key"
SOURCE = "snippet"
ANONYMOUS_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
ANONYMOUS_ID_LENGTH = (8, 64)
TRACK_FIELDS = ("anonymous_id", "name", "properties")
# What a storefront may say about a visitor. An allowlist: consent (sms_status…), order rollups,
# source and anything added to Profile later stay out of reach of the public key.
IDENTIFY_TRAITS = ("phone", "email", "external_id", "first_name", "last_name", "language", "country", "city", "properties")
KNOWN_IDENTIFIERS = ("phone", "email", "external_id")


class InvalidKey(DomainError):
    status_code = 401


class BodyTooLarge(DomainError):
    status_code = 413


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__(f"too many requests from this address; retry in {retry_after} s")
        self.retry_after = retry_after


class MethodNotAllowed(DomainError):
    status_code = 405


# --- /js/textpilot.js ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def _snippet() -> tuple[bytes, str]:
    source = SNIPPET_FILE.read_bytes()
    return source, '"' + hashlib.sha256(source).hexdigest()[:32] + '"'


@require_safe
@condition(etag_func=lambda request: _snippet()[1])
def snippet_js(request):
    response = HttpResponse(_snippet()[0], content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={SNIPPET_MAX_AGE_SECONDS}"
    return response


# --- the public intake ----------------------------------------------------------------------

def public_endpoint(handler):
    """Wraps a handler(request, store, payload) with what every public endpoint needs:
    CORS, POST only, the per-IP limit, the body limit, JSON parsing and the public key
    (taken out of the payload, so handlers see only the data)."""

    @csrf_exempt
    @wraps(handler)
    def view(request):
        if request.method == "OPTIONS":
            return _with_cors(request, _preflight())
        try:
            if request.method != "POST":
                raise MethodNotAllowed("only POST is accepted here")
            decision = ratelimit.check_public_request(request)
            if not decision.allowed:
                raise RateLimited(decision.retry_after)
            payload = _read_json(request)
            store = _store_for_key(request, payload)
            response = handler(request, store, payload)
        except DomainError as exc:
            response = _error_response(exc)
        return _with_cors(request, response)

    return view


@public_endpoint
def track(request, store: Store, payload: dict):
    _refuse_unknown_fields(payload, TRACK_FIELDS)
    anonymous_id = _anonymous_id(payload)
    name = payload.get("name")
    if not isinstance(name, str):
        raise FieldError("name must be the event name as a string, e.g. 'Viewed Product'", field="name")
    events.normalize_event_name(name)  # refuse a bad name before the visitor's profile is made
    properties = payload.get("properties", {})
    if not isinstance(properties, dict):
        raise FieldError("properties must be a JSON object", field="properties")
    # One transaction: if record_event refuses the properties, no visitor profile is left behind.
    with transaction.atomic():
        profile, _ = profiles.identify(store, source=SOURCE, anonymous_id=anonymous_id)
        events.record_event(store, profile, name, properties, source=SOURCE)
    return JsonResponse({"ok": True}, status=201)


@public_endpoint
def identify(request, store: Store, payload: dict):
    _refuse_unknown_fields(payload, ("anonymous_id", *IDENTIFY_TRAITS))
    anonymous_id = _anonymous_id(payload)
    traits = {name: payload[name] for name in IDENTIFY_TRAITS if payload.get(name) not in (None, "")}
    for name, value in traits.items():
        if name == "properties":
            continue
        if not isinstance(value, str):
            raise FieldError(f"{name} must be a string", field=name)
        max_length = Profile._meta.get_field(name).max_length
        if len(value) > max_length:
            raise FieldError(f"{name} is longer than {max_length} characters", field=name)
    if not any(name in traits for name in KNOWN_IDENTIFIERS):
        raise FieldError("identify needs an email, a phone or an external_id", field="email")
    _refuse_merging_customers(store, traits)
    # The visitor's anonymous profile (and its events) is merged into the known one.
    profiles.identify(store, source=SOURCE, anonymous_id=anonymous_id, **traits)
    return JsonResponse({"ok": True})


def _refuse_merging_customers(store: Store, traits: dict) -> None:
    """Anyone can post here with anyone's email and phone, so the storefront may link a
    visitor to one customer but never merge two known customers into one; the bearer API
    and the store integrations can."""
    given = {name: traits[name] for name in KNOWN_IDENTIFIERS if name in traits}
    if len(given) < 2:
        return
    identifiers = profiles.clean_profile_fields(store, given)
    if profiles.profiles_matching(store, identifiers).count() > 1:
        raise Conflict(
            "these identifiers belong to different customers; the storefront cannot merge customers",
            field=list(given)[-1],
        )


def _refuse_unknown_fields(payload: dict, allowed: tuple[str, ...]) -> None:
    for name in payload:
        if name not in allowed:
            raise FieldError(
                f"{name!r} cannot be sent from the storefront; allowed fields: {', '.join(allowed)}", field=name
            )


def _anonymous_id(payload: dict) -> str:
    value = payload.get("anonymous_id")
    low, high = ANONYMOUS_ID_LENGTH
    if not isinstance(value, str) or not low <= len(value) <= high or not set(value) <= ANONYMOUS_ID_CHARS:
        raise FieldError(
            f"anonymous_id must be the visitor id: {low} to {high} letters, digits, '-' or '_'", field="anonymous_id"
        )
    return value


def _read_json(request) -> dict:
    limit = min(PUBLIC_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or PUBLIC_MAX_BODY_BYTES)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise BodyTooLarge(f"request body is larger than {limit} bytes", field="body")
    try:
        payload = json.loads(request.body)
    except RequestDataTooBig:
        raise BodyTooLarge(f"request body is larger than {limit} bytes", field="body") from None
    except (ValueError, UnicodeDecodeError):
        raise DomainError("body must be a JSON object", field="body") from None
    if not isinstance(payload, dict):
        raise DomainError("body must be a JSON object", field="body")
    return payload


def _store_for_key(request, payload: dict) -> Store:
    body_key = payload.pop("key", None)
    key = request.headers.get(KEY_HEADER) or body_key
    if not isinstance(key, str) or not key.startswith("pk_"):
        raise InvalidKey(f"send the store's public key (pk_…) as 'key' or in {KEY_HEADER}", field="key")
    store = stores_service.store_for_public_key(key)
    if store is None:
        raise InvalidKey("unknown public key", field="key")
    return store


def _error_response(exc: DomainError) -> JsonResponse:
    response = JsonResponse({"detail": exc.as_detail()}, status=exc.status_code)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, MethodNotAllowed):
        response["Allow"] = "POST, OPTIONS"
    return response


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = f"Content-Type, {KEY_HEADER}"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _with_cors(request, response: HttpResponse) -> HttpResponse:
    # Any storefront may post here (the key says which store); no credentials are allowed, so
    # echoing the origin lets no site read anything on a visitor's behalf.
    origin = request.headers.get("Origin")
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Retry-After"
    response["Vary"] = "Origin"
    return response
