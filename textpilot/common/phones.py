"""Phone numbers: parse anything a person types, keep E.164, and say why when it's not a number."""
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException

from textpilot.common.errors import FieldError
from textpilot.common.phone_regions import representative, shape_of


# What phonenumbers' parse errors mean, in the words a person typing a number understands
# (its own messages, "The string supplied did not seem to be a phone number", are for developers).
_NOT_A_NUMBER = "it has too few digits, or letters where digits belong"
_PARSE_PROBLEMS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is unknown; start with + and the country code, e.g. +1 415 555 0123",
    NumberParseException.NOT_A_NUMBER: _NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


def normalize_phone(raw: str, default_region: str = "US", field: str = "phone", allow_short_code: bool = False) -> str:
    """Returns the number in E.164 (e.g. +14155550123) or raises FieldError naming `field`."""
    text = (raw or "").strip()
    if not text:
        raise FieldError("phone number is empty", field=field)
    if allow_short_code and text.isdigit() and 3 <= len(text) <= 8:
        return text  # a short code is a sender, not a subscriber number
    try:
        number = phonenumbers.parse(text, (default_region or "US").upper())
    except NumberParseException as exc:
        raise FieldError(f"{raw!r} is not a phone number: {_PARSE_PROBLEMS.get(exc.error_type, _NOT_A_NUMBER)}", field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(f"{raw!r} is not a valid phone number for its country", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str:
    """ISO country of an E.164 number, '' if unknown.

    Asked for every text priced and every gate decision; parsing costs ~35-60 µs, more than
    the rest of either. Every number of one shape (calling code, the digits phonenumbers'
    metadata can look at, length: see phone_regions.py) has the same country, so the answer
    is cached by shape: a million-recipient campaign has far fewer shapes than numbers."""
    shape = shape_of(e164)
    return _parsed_region(e164) if shape is None else _region_of_shape(shape)


@lru_cache(maxsize=131072)
def _region_of_shape(shape: tuple[str, int]) -> str:
    return _parsed_region(representative(shape))


@lru_cache(maxsize=65536)
def _parsed_region(e164: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except NumberParseException:
        return ""


@lru_cache(maxsize=65536)
def phone_timezones(e164: str) -> tuple[str, ...]:
    """Time zones the number may be in (several for big countries); () if unknown."""
    from phonenumbers import timezone as pn_timezone

    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    except NumberParseException:
        return ()
    return tuple(z for z in zones if z != "Etc/Unknown")
