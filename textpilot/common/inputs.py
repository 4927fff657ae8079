"""Validated input types: one definition of each kind of value a client can send, used alike
by the API schemas (pydantic `Annotated` types), the dashboard forms (Django form fields) and
CSV rows (the plain functions).

Why one layer: the databases are stricter than Python and JSON, and each hole found became a
500 with a half-written request (issue #10). PostgreSQL stores no NUL character (U+0000) in
text or jsonb; jsonb has no NaN or Infinity (SQLite's JSON check refuses them too); a
timestamptz offset must be within ±15:59; a datetime that converts to UTC before year 1 or
after 9999 overflows Python itself; an integer column holds at most 2^63-1 (BIGINT) or
2^31-1. And values a person types should be what they mean: a real ISO country or currency,
a host name that can be a host.

Each plain function takes a value, returns it clean (or normalised: "us" → "US") and raises
`InputError` with a message in plain words that names the problem but not the field: the
caller knows the field (pydantic's `loc`, a form's label, a CSV column) and shows it beside.

The bounds chosen here:
- datetimes: from 1900-01-01 to 9999-12-30 in UTC (a day short of the end, so showing one in
  any local zone cannot overflow), with an offset of at most ±15:59 (real ones are -12:00 to
  +14:00); a naive datetime is read as UTC for the range check;
- row ids: 1 … 2^63-1 (BIGINT); page offsets: up to 1,000,000,000 rows; line quantities:
  1 … 1,000,000 (a line item of more is a typing mistake, and the column is 32-bit);
- JSON: nested at most 32 levels deep.
"""
from __future__ import annotations

import math
import re
from functools import partial
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Annotated, Any
from urllib.parse import urlsplit

import pycountry
from django import forms
from django.core import validators
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from textpilot.common.errors import FieldError


class InputError(ValueError):
    """A value that cannot be taken as it is; `message` says why in plain words."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


def checked(check, value, field: str, *args, **kwargs):
    """`check(value)` for a service: a refusal becomes a FieldError (a 422 in the API, an
    error beside the field in a form) whose message starts with the field's name."""
    try:
        return check(value, *args, **kwargs)
    except InputError as exc:
        raise FieldError(f"{field} {exc.message}", field=field) from None


# --- text and JSON ---------------------------------------------------------------------------

NUL_MESSAGE = "contains the NUL character (U+0000), which cannot be stored"
MAX_JSON_DEPTH = 32


def plain_text(value: str) -> str:
    """Text that any database can store: no NUL character."""
    if "\x00" in value:
        raise InputError(NUL_MESSAGE, "nul_character")
    return value


def finite_json(value: Any, _depth: int = 0) -> Any:
    """A JSON value that PostgreSQL's jsonb and SQLite's JSON can store: no NUL in any key or
    string, no NaN or Infinity (Python's json module reads and writes them; JSON has none),
    nested at most MAX_JSON_DEPTH levels. Returns the value unchanged."""
    if _depth > MAX_JSON_DEPTH:
        raise InputError(f"is nested deeper than {MAX_JSON_DEPTH} levels", "json_too_deep")
    if isinstance(value, str):
        if "\x00" in value:
            raise InputError(NUL_MESSAGE, "nul_character")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputError("contains NaN or Infinity, which are not JSON numbers", "not_finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                raise InputError(f"has a key that {NUL_MESSAGE}", "nul_character")
            finite_json(item, _depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            finite_json(item, _depth + 1)
    return value


# --- datetimes -------------------------------------------------------------------------------

EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(9999, 12, 30)
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


def _offset_text(offset: timedelta) -> str:
    sign, minutes = ("-" if offset < timedelta(0) else "+"), int(abs(offset).total_seconds() // 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def bounded_datetime(value: datetime) -> datetime:
    """A datetime both databases store and Python can convert to UTC and back: an offset
    within ±15:59 and a UTC time from 1900-01-01 to 9999-12-30. Returned unchanged."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise InputError(f"has the time zone offset {_offset_text(offset)}; an offset must be between -15:59 and +15:59",
                         "offset_out_of_range")
    try:
        utc = value.replace(tzinfo=None) - (offset or timedelta(0))
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise InputError("must be between 1900-01-01 and 9999-12-30 (UTC)", "datetime_out_of_range")
    return value


def aware_utc(value: datetime) -> datetime:
    """A bounded datetime in UTC; a naive one is taken as UTC."""
    value = bounded_datetime(value)
    return value.replace(tzinfo=dt_timezone.utc) if value.tzinfo is None else value.astimezone(dt_timezone.utc)


# --- integers --------------------------------------------------------------------------------

MAX_ROW_ID = 2**63 - 1  # BIGINT, the primary keys
MAX_PAGE_OFFSET = 1_000_000_000
MAX_PAGE_LIMIT = 1_000
MAX_QUANTITY = 1_000_000


def bounded_int(value: Any, minimum: int, maximum: int) -> int:
    """An integer from minimum to maximum, from an int or its digits ("12", " 12 ")."""
    if isinstance(value, bool):
        raise InputError("must be a whole number", "not_an_integer")
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,30}", value):
            raise InputError("must be a whole number", "not_an_integer")
        value = int(value)
    if not isinstance(value, int):
        raise InputError("must be a whole number", "not_an_integer")
    if not minimum <= value <= maximum:
        raise InputError(f"must be between {minimum:,} and {maximum:,}", "out_of_range")
    return value


# --- ISO codes -------------------------------------------------------------------------------

# ISO 4217 codes that are not money a store sells in: no currency, testing, metals, bond units.
NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"})


# Kosovo: user-assigned in ISO 3166 (so not in pycountry) but used by Shopify, the EU and
# libphonenumber, so a Kosovar customer's address or number carries it.
EXTRA_COUNTRIES = frozenset({"XK"})


def country_code(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper-cased ("us" → "US"). "USA" is refused with
    a hint rather than cut to "US": a cut code may be another country."""
    code = (value or "").strip().upper()
    if len(code) == 2 and code.isascii() and (code in EXTRA_COUNTRIES or pycountry.countries.get(alpha_2=code) is not None):
        return code
    hint = ""
    if len(code) == 3 and code.isascii():
        country = pycountry.countries.get(alpha_3=code)
        if country is not None:
            hint = f" (for {country.name}, {country.alpha_2})"
    raise InputError(f"{_shown(value)} is not a two-letter ISO 3166 country code like US or DE{hint}", "unknown_country")


def country_codes(value: str | list | tuple) -> list[str]:
    """Country codes from a list or from text separated by commas or spaces ("US, ca DE"):
    upper-cased, each once, in the order given. Names every code that is not one."""
    parts = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value)
    codes, bad = [], []
    for part in parts:
        if not isinstance(part, str) or not part.strip():
            continue
        try:
            code = country_code(part)
        except InputError:
            bad.append(part.strip())
            continue
        if code not in codes:
            codes.append(code)
    if bad:
        shown = ", ".join(_shown(b) for b in bad)
        raise InputError(f"{shown} {'is not a' if len(bad) == 1 else 'are not'} two-letter ISO 3166 country "
                         f"code{'' if len(bad) == 1 else 's'} like US or DE", "unknown_country")
    return codes


def currency_code(value: str) -> str:
    """An ISO 4217 currency code a store can sell in, upper-cased ("eur" → "EUR")."""
    code = (value or "").strip().upper()
    if len(code) == 3 and code.isascii() and code not in NOT_MONEY and pycountry.currencies.get(alpha_3=code) is not None:
        return code
    raise InputError(f"{_shown(value)} is not a three-letter ISO 4217 currency code like USD or EUR", "unknown_currency")


def _shown(value: Any) -> str:
    """A value quoted for an error message, without control characters, at most 40 characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value if value is not None else ""))
    return repr(text if len(text) <= 40 else text[:39] + "…")


# --- host names and URLs ---------------------------------------------------------------------

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _ascii_host(host: str) -> str:
    """A DNS name in its ASCII form ("bücher.example" → "xn--bcher-kva.example") or raise."""
    host = host.strip().rstrip(".").lower()
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InputError(f"{_shown(host)} is not a host name like shop.example.com", "bad_host")
    if labels[-1].isdigit() and not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", ascii_host):
        raise InputError(f"{_shown(host)} is not a host name like shop.example.com", "bad_host")
    return ascii_host


def host_name(value: str) -> str:
    """A host name, optionally with a port ("shop.example.com", "127.0.0.1:8000"), in its
    ASCII form. A pasted "https://shop.example.com/" is taken as its host; any other path,
    a space, a user name or a bad port is refused."""
    text = (value or "").strip()
    if not text:
        raise InputError("is empty: give a host name like shop.example.com", "bad_host")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InputError(f"{_shown(text)} contains a space or a control character; a host name has none", "bad_host")
    if re.match(r"^https?://", text, re.IGNORECASE):
        text = re.sub(r"^https?://", "", text, flags=re.IGNORECASE).rstrip("/")
    if any(ch in text for ch in "/?#@\\"):
        raise InputError(f"{_shown(value)} is not a host name like shop.example.com: leave out any path or user name", "bad_host")
    host, _, port = text.partition(":")
    ascii_host = _ascii_host(host)
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise InputError(f"{_shown(port)} is not a port number (1 to 65535)", "bad_port")
    return ascii_host + (f":{int(port)}" if port else "")


def public_url(value: str, *, require_https: bool = False) -> str:
    """An absolute http(s) URL with a valid host ("https://shop.example.com/path"), without
    spaces or control characters. `require_https` for addresses others post secrets to."""
    text = (value or "").strip()
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InputError("contains a space or a control character; a web address has none", "bad_url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InputError(f"{_shown(text)} is not a web address like https://shop.example.com", "bad_url") from None
    allowed = ("https",) if require_https else ("http", "https")
    if parts.scheme.lower() not in allowed or not parts.hostname or parts.username or parts.password:
        wanted = "https://" if require_https else "http:// or https://"
        raise InputError(f"{_shown(text)} is not a web address starting with {wanted} and a host name", "bad_url")
    _ascii_host(parts.hostname)
    if port == 0:
        raise InputError("0 is not a port number (1 to 65535)", "bad_port")
    return text


# --- pydantic types for API schemas ----------------------------------------------------------

def _pydantic(check):
    """`check` as a pydantic validator whose error message is the plain one (pydantic would
    prefix a ValueError's text with "Value error, ")."""
    def validate(value):
        try:
            return check(value)
        except InputError as exc:
            raise PydanticCustomError(exc.code, exc.message) from None
    validate.__name__ = check.__name__
    return validate


PlainText = Annotated[str, AfterValidator(_pydantic(plain_text))]
JsonObject = Annotated[dict[str, Any], AfterValidator(_pydantic(finite_json))]
BoundedDatetime = Annotated[datetime, AfterValidator(_pydantic(bounded_datetime))]
CountryCode = Annotated[str, Field(description="ISO 3166-1 alpha-2 country code, e.g. US", examples=["US"]),
                        AfterValidator(_pydantic(country_code))]
CurrencyCode = Annotated[str, Field(description="ISO 4217 currency code, e.g. USD", examples=["USD"]),
                         AfterValidator(_pydantic(currency_code))]
HostName = Annotated[str, AfterValidator(_pydantic(host_name))]
PublicUrl = Annotated[str, AfterValidator(_pydantic(public_url))]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE_LIMIT)]
PageOffset = Annotated[int, Field(ge=0, le=MAX_PAGE_OFFSET)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


# --- Django form fields for the dashboard ----------------------------------------------------

class _CheckedField(forms.CharField):
    """A text field whose value goes through one of the plain checks above, whose message
    the form shows next to the field. No HTML maxlength: the browser would cut "USA" to "US"
    silently; the check explains instead."""

    check = staticmethod(plain_text)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's own NUL check says "Null characters are not allowed."; ours names U+0000.
        self.validators = [v for v in self.validators if not isinstance(v, validators.ProhibitNullCharactersValidator)]

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return self.check(value)
        except InputError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class PlainTextField(_CheckedField):
    """Text without the NUL character."""


class CountryCodeField(_CheckedField):
    check = staticmethod(country_code)


class CountryCodeListField(_CheckedField):
    """Country codes separated by commas or spaces; cleans to a list of codes ([] when empty)."""

    check = staticmethod(country_codes)

    def clean(self, value):
        cleaned = super().clean(value)
        return cleaned if isinstance(cleaned, list) else []


class CurrencyCodeField(_CheckedField):
    check = staticmethod(currency_code)


class HostNameField(_CheckedField):
    check = staticmethod(host_name)


class PublicUrlField(_CheckedField):
    def __init__(self, *args, require_https: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = partial(public_url, require_https=require_https)
