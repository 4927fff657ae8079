"""The shared input types (common/inputs.py): the plain checks, their pydantic types and
their Django form fields refuse the same values with the same plain message."""
import math
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from textpilot.common import inputs
from textpilot.common.inputs import InputError


def tz(hours=0, minutes=0):
    return timezone(timedelta(hours=hours, minutes=minutes))


# --- text and JSON ---------------------------------------------------------------------------

def test_plain_text_refuses_nul_only():
    assert inputs.plain_text("Ann\u00e9e \u2603") == "Ann\u00e9e \u2603"
    with pytest.raises(InputError, match="NUL character"):
        inputs.plain_text("An\x00n")


@pytest.mark.parametrize("value", [
    {"a": "x\x00"}, {"a\x00": 1}, {"a": [1, {"b\x00": 2}]}, {"a": math.nan}, {"a": [math.inf]},
    {"a": {"b": -math.inf}}, ["\x00"],
])
def test_finite_json_refuses_nul_and_non_finite_numbers_at_any_depth(value):
    with pytest.raises(InputError) as caught:
        inputs.finite_json(value)
    assert "NUL" in caught.value.message or "NaN or Infinity" in caught.value.message


def test_finite_json_keeps_ordinary_values_and_bounds_depth():
    value = {"a": 1, "b": [1.5, "x", None, True, {"c": "\\u0000 as six characters"}], "big": 10**30}
    assert inputs.finite_json(value) is value
    deep = {}
    for _ in range(inputs.MAX_JSON_DEPTH + 2):
        deep = {"d": deep}
    with pytest.raises(InputError, match="nested deeper"):
        inputs.finite_json(deep)


# --- datetimes -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    datetime(2026, 5, 1, 12, tzinfo=timezone.utc), datetime(2026, 5, 1, 12, tzinfo=tz(14)),
    datetime(2026, 5, 1, 12, tzinfo=tz(-15, -59)), datetime(2026, 5, 1, 12),
    datetime(1900, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 30, tzinfo=timezone.utc),
])
def test_bounded_datetime_keeps_storable_values_unchanged(value):
    assert inputs.bounded_datetime(value) is value


@pytest.mark.parametrize("value, words", [
    (datetime(2026, 5, 1, tzinfo=tz(16)), r"offset \+16:00"),
    (datetime(2026, 5, 1, tzinfo=tz(-20)), "offset -20:00"),
    (datetime(9999, 12, 31, 23, tzinfo=tz(-5)), "between 1900-01-01 and 9999-12-30"),   # 10000-01-01 in UTC
    (datetime(1, 1, 1, tzinfo=tz(1)), "between 1900-01-01 and 9999-12-30"),             # year 0 in UTC
    (datetime(1899, 12, 31, 23, tzinfo=timezone.utc), "between"),
    (datetime(9999, 12, 31), "between"),
])
def test_bounded_datetime_refuses_what_a_database_or_python_cannot_hold(value, words):
    with pytest.raises(InputError, match=words):
        inputs.bounded_datetime(value)


def test_aware_utc_converts_and_reads_naive_as_utc():
    assert inputs.aware_utc(datetime(2026, 5, 1, 12, tzinfo=tz(2))) == datetime(2026, 5, 1, 10, tzinfo=timezone.utc)
    assert inputs.aware_utc(datetime(2026, 5, 1, 12)).tzinfo is timezone.utc


# --- integers --------------------------------------------------------------------------------

def test_bounded_int():
    assert inputs.bounded_int(" 12 ", 1, 100) == 12 and inputs.bounded_int(7, 1, 100) == 7
    for bad, words in [("12.5", "whole number"), (True, "whole number"), ("9" * 40, "whole number"),
                       (0, "between 1 and 100"), (2**64, "between 1 and 100")]:
        with pytest.raises(InputError, match=words):
            inputs.bounded_int(bad, 1, 100)


# --- ISO codes -------------------------------------------------------------------------------

def test_country_codes():
    assert inputs.country_code(" us ") == "US" and inputs.country_code("de") == "DE"
    assert inputs.country_code("xk") == "XK"  # Kosovo: user-assigned, but Shopify and phone numbers use it
    with pytest.raises(InputError, match=r"'USA' is not a two-letter .*\(for United States, US\)"):
        inputs.country_code("USA")
    for bad in ("ZZ", "XX", "U", "", "\x00\x00", "Ü1"):
        with pytest.raises(InputError, match="not a two-letter ISO 3166 country code"):
            inputs.country_code(bad)
    assert inputs.country_codes("US, ca;DE us") == ["US", "CA", "DE"]
    assert inputs.country_codes(["fr"]) == ["FR"] and inputs.country_codes("") == []
    with pytest.raises(InputError, match="'XX', 'ZZ' are not two-letter ISO 3166 country codes"):
        inputs.country_codes("US, XX, ZZ")


def test_currency_codes():
    assert inputs.currency_code("eur") == "EUR" and inputs.currency_code("XOF") == "XOF"  # the CFA franc is money
    for bad in ("$$$", "XYZ", "dollars", "US", "XXX", "XAU", ""):
        with pytest.raises(InputError, match="not a three-letter ISO 4217 currency code"):
            inputs.currency_code(bad)


# --- host names and URLs ---------------------------------------------------------------------

@pytest.mark.parametrize("value, clean", [
    ("Shop.Example.com", "shop.example.com"), ("https://shop.example.com/", "shop.example.com"),
    ("shop.example.com.", "shop.example.com"), ("127.0.0.1:8000", "127.0.0.1:8000"),
    ("b\u00fccher.example", "xn--bcher-kva.example"), ("localhost", "localhost"),
])
def test_host_name_accepts_and_normalises(value, clean):
    assert inputs.host_name(value) == clean


@pytest.mark.parametrize("value", [
    "http://bad domain/", "shop.example.com/path", "user@shop.example.com", "-shop.example.com", "shop..example",
    "shop.example.com:99999", "shop.example.com:x", "", "a" * 64 + ".example", "shop_example.com", "1.2.3",
])
def test_host_name_refuses(value):
    with pytest.raises(InputError):
        inputs.host_name(value)


def test_public_url():
    assert inputs.public_url("https://shop.example.com/a?b=1") == "https://shop.example.com/a?b=1"
    assert inputs.public_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("shop.example.com", "ftp://shop.example.com", "https://bad domain/", "https://", "https://x:99999/",
                "javascript:alert(1)", "https://user:pw@shop.example.com/"):
        with pytest.raises(InputError):
            inputs.public_url(bad)
    with pytest.raises(InputError, match="https://"):
        inputs.public_url("http://shop.example.com", require_https=True)


# --- the same checks as pydantic types -------------------------------------------------------

class Sample(BaseModel):
    name: inputs.PlainText = ""
    properties: inputs.JsonObject = {}
    at: inputs.BoundedDatetime | None = None
    country: inputs.CountryCode | None = None
    currency: inputs.CurrencyCode | None = None
    quantity: inputs.Quantity = 1
    limit: inputs.PageLimit = 10
    offset: inputs.PageOffset = 0
    row: inputs.RowId | None = None


@pytest.mark.parametrize("data, field, words", [
    ({"name": "a\x00"}, "name", "NUL character"),
    ({"properties": {"a": float("nan")}}, "properties", "NaN or Infinity"),
    ({"at": "2026-01-01T00:00:00+20:00"}, "at", "offset +20:00"),
    ({"at": "9999-12-31T23:00:00-05:00"}, "at", "between 1900-01-01"),
    ({"country": "ZZ"}, "country", "ISO 3166"),
    ({"currency": "$$$"}, "currency", "ISO 4217"),
    ({"quantity": 10**12}, "quantity", "less than or equal to 1000000"),
    ({"offset": 2**63}, "offset", "less than or equal to"),
    ({"limit": 2**64}, "limit", "less than or equal to"),
    ({"row": 2**64}, "row", "less than or equal to"),
])
def test_pydantic_types_refuse_with_the_plain_message(data, field, words):
    with pytest.raises(ValidationError) as caught:
        Sample(**data)
    [error] = caught.value.errors()
    assert error["loc"] == (field,) and words in error["msg"] and not error["msg"].startswith("Value error")


def test_pydantic_types_normalise():
    sample = Sample(country="us", currency="eur", at="2026-01-01T00:00:00+02:00")
    assert (sample.country, sample.currency, sample.at.utcoffset()) == ("US", "EUR", timedelta(hours=2))


# --- the same checks as Django form fields ---------------------------------------------------

def test_form_fields_refuse_in_plain_words_and_never_cut():
    from django import forms

    class SettingsForm(forms.Form):
        name = inputs.PlainTextField(max_length=20)
        country = inputs.CountryCodeField(required=False)
        allowed = inputs.CountryCodeListField(required=False)
        currency = inputs.CurrencyCodeField(required=False)
        domain = inputs.HostNameField(required=False)
        webhook = inputs.PublicUrlField(required=False, require_https=True)

    form = SettingsForm({"name": "a\x00", "country": "USA", "allowed": "US, XX", "currency": "dollars",
                         "domain": "http://bad domain/", "webhook": "http://shop.example.com"})
    assert not form.is_valid()
    assert form.errors["name"] == [inputs.NUL_MESSAGE]
    assert "for United States, US" in form.errors["country"][0]
    assert "'XX' is not a two-letter" in form.errors["allowed"][0]
    assert "'DOLLARS'" not in form.errors["currency"][0] and "'dollars' is not" in form.errors["currency"][0]
    assert "bad domain" in form.errors["domain"][0]
    assert "https://" in form.errors["webhook"][0]
    assert "maxlength" not in str(form["country"]) + str(form["name"])  # a browser would cut silently

    good = SettingsForm({"name": "Acme", "country": "us", "allowed": "us ca", "currency": "usd",
                         "domain": "https://Shop.Example.com/", "webhook": ""})
    assert good.is_valid(), good.errors
    assert good.cleaned_data == {"name": "Acme", "country": "US", "allowed": ["US", "CA"], "currency": "USD",
                                 "domain": "shop.example.com", "webhook": ""}
    minimal = SettingsForm({"name": "x"})
    assert minimal.is_valid() and minimal.cleaned_data["allowed"] == []
