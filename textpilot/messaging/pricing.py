"""What a text costs to send, per destination country (and, when a row exists, per provider).

The defaults are approximate list prices in USD, rounded up and including the typical carrier
surcharge, so an estimate errs on the high side. A deployment sets its real rates with the
environment variable TEXTPILOT_SMS_PRICES (JSON, same shape as DEFAULT_PRICE_TABLE), merged
over the defaults key by key (a country's SMS price can change and its MMS price stay):

    {"currency": "USD",
     "countries": {"US": {"sms": "0.0079", "mms": "0.0200"}, "BR": {"sms": "0.0600"}},
     "fallback": {"sms": "0.1000"},
     "providers": {"twilio": {"US": {"sms": "0.0083"}}}}

SMS prices are per segment, MMS prices per message. A country without an MMS price cannot
receive MMS through us (MMS is essentially US/CA only).
"""
from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

from django.core.exceptions import ImproperlyConfigured

PRICES_ENV = "TEXTPILOT_SMS_PRICES"
CHANNELS = ("sms", "mms")

DEFAULT_PRICE_TABLE: dict = {
    "currency": "USD",
    "countries": {
        "US": {"sms": "0.0110", "mms": "0.0250"},
        "CA": {"sms": "0.0110", "mms": "0.0250"},
        "GB": {"sms": "0.0500"},
        "IE": {"sms": "0.0900"},
        "DE": {"sms": "0.0900"},
        "FR": {"sms": "0.0850"},
        "ES": {"sms": "0.0850"},
        "IT": {"sms": "0.0900"},
        "NL": {"sms": "0.1100"},
        "AU": {"sms": "0.0550"},
        "NZ": {"sms": "0.1200"},
        "KR": {"sms": "0.0600"},
        "JP": {"sms": "0.0850"},
        "AE": {"sms": "0.0600"},
        "SA": {"sms": "0.0500"},
        "MX": {"sms": "0.0550"},
        "BR": {"sms": "0.0650"},
        "IN": {"sms": "0.0850"},
    },
    # Unknown destinations: a deliberately high rate, so an estimate never looks cheaper than
    # the bill will be.
    "fallback": {"sms": "0.1500"},
    "providers": {},
}


class Price(NamedTuple):
    amount: Decimal | None  # None: the channel is not available for that country
    currency: str
    known_country: bool  # False when the fallback rate was used


class PriceTable(NamedTuple):
    currency: str
    countries: dict[str, dict[str, Decimal]]
    fallback: dict[str, Decimal]
    providers: dict[str, dict[str, dict[str, Decimal]]]

    def price(self, country: str, channel: str = "sms", provider: str | None = None) -> Price:
        country = (country or "").upper()
        rates = self.providers.get(provider, {}).get(country) if provider else None
        if rates is None or channel not in rates:
            rates = self.countries.get(country)
        if rates is not None:
            return Price(rates.get(channel), self.currency, True)
        return Price(self.fallback.get(channel), self.currency, False)


def parse_price_table(raw: str | None) -> PriceTable:
    """The default table with the JSON override `raw` applied; ImproperlyConfigured if it is
    not valid (a wrong price must stop the process, not silently show the default)."""
    override: dict = {}
    if raw:
        try:
            override = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured(f"{PRICES_ENV} is not valid JSON: {exc}") from None
        if not isinstance(override, dict) or set(override) - set(DEFAULT_PRICE_TABLE):
            raise ImproperlyConfigured(f"{PRICES_ENV} must be an object with keys {', '.join(DEFAULT_PRICE_TABLE)}")
    currency = override.get("currency", DEFAULT_PRICE_TABLE["currency"])
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise ImproperlyConfigured(f"{PRICES_ENV}: currency must be a 3-letter code")
    countries = _country_rates(DEFAULT_PRICE_TABLE["countries"], "countries")
    for country, rates in _country_rates(override.get("countries", {}), "countries").items():
        countries[country] = {**countries.get(country, {}), **rates}
    fallback = {**_rates(DEFAULT_PRICE_TABLE["fallback"], "fallback"), **_rates(override.get("fallback", {}), "fallback")}
    providers = override.get("providers", {})
    if not isinstance(providers, dict):
        raise ImproperlyConfigured(f"{PRICES_ENV}: providers must map provider names to countries")
    providers = {name: _country_rates(rows, f"providers.{name}") for name, rows in providers.items()}
    return PriceTable(currency.upper(), countries, fallback, providers)


def _country_rates(rows: object, where: str) -> dict[str, dict[str, Decimal]]:
    if not isinstance(rows, dict):
        raise ImproperlyConfigured(f"{PRICES_ENV}: {where} must map country codes to prices")
    parsed = {}
    for country, rates in rows.items():
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            raise ImproperlyConfigured(f"{PRICES_ENV}: {where}: {country!r} is not a 2-letter country code")
        parsed[country.upper()] = _rates(rates, f"{where}.{country}")
    return parsed


def _rates(rates: dict, where: str) -> dict[str, Decimal]:
    if not isinstance(rates, dict) or set(rates) - set(CHANNELS):
        raise ImproperlyConfigured(f"{PRICES_ENV}: {where} must map 'sms'/'mms' to prices")
    parsed = {}
    for channel, amount in rates.items():
        try:
            # Through str: a JSON float such as 0.0079 must not become 0.00789999…
            parsed[channel] = Decimal(str(amount))
        except InvalidOperation:
            raise ImproperlyConfigured(f"{PRICES_ENV}: {where}.{channel} is not a number") from None
        if not parsed[channel].is_finite() or parsed[channel] < 0:
            raise ImproperlyConfigured(f"{PRICES_ENV}: {where}.{channel} must be a price of 0 or more")
    return parsed


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    # Read from the environment here (not in settings.py) so that the price table lives with
    # the code that uses it; cached for the life of the process — restart to change prices.
    return parse_price_table(os.environ.get(PRICES_ENV))
