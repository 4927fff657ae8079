from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from textpilot.messaging.pricing import PRICES_ENV, parse_price_table, price_table


def test_defaults_cover_sms_everywhere_and_mms_in_north_america():
    table = parse_price_table(None)
    us = table.price("us", "mms")
    assert (us.amount, us.currency, us.known_country) == (Decimal("0.0250"), "USD", True)
    assert table.price("DE", "sms").amount > 0
    assert table.price("DE", "mms").amount is None  # no MMS to Germany
    unknown = table.price("ZZ", "sms")
    assert unknown.known_country is False and unknown.amount >= max(rates["sms"] for rates in table.countries.values())


def test_override_merges_over_the_defaults():
    table = parse_price_table(
        '{"countries": {"us": {"sms": 0.0079}, "BR": {"sms": "0.05"}}, "providers": {"twilio": {"US": {"sms": "0.0083"}}}}'
    )
    assert table.price("US", "sms").amount == Decimal("0.0079")  # a JSON float, kept exact
    assert table.price("US", "mms").amount == Decimal("0.0250")  # untouched default
    assert table.price("BR", "sms").amount == Decimal("0.05")
    assert table.price("US", "sms", provider="twilio").amount == Decimal("0.0083")
    assert table.price("US", "mms", provider="twilio").amount == Decimal("0.0250")  # falls back to the country row


@pytest.mark.parametrize(
    "raw",
    ["{not json", '["US"]', '{"prices": {}}', '{"countries": {"USA": {"sms": "1"}}}', '{"countries": {"US": {"sms": "cheap"}}}',
     '{"countries": {"US": {"sms": "-1"}}}', '{"countries": {"US": {"voice": "1"}}}', '{"currency": "dollars"}'],
)
def test_a_bad_override_stops_the_process(raw):
    with pytest.raises(ImproperlyConfigured, match=PRICES_ENV):
        parse_price_table(raw)


def test_price_table_reads_the_environment(monkeypatch):
    monkeypatch.setenv(PRICES_ENV, '{"currency": "EUR", "countries": {"DE": {"sms": "0.07"}}}')
    price_table.cache_clear()
    try:
        assert price_table().price("DE") == (Decimal("0.07"), "EUR", True)
    finally:
        price_table.cache_clear()
