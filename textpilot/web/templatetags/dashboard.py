"""Template filters of the dashboard: money with its currency, plain numbers, JSON."""
import json
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

# Symbol shown before the amount; other currencies show their ISO code after it.
CURRENCY_SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "INR": "₹", "KRW": "₩", "BRL": "R$", "MXN": "MX$", "ILS": "₪", "TRY": "₺", "PLN": "zł ",
}
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "CLP", "VND", "ISK", "HUF"}


@register.filter
def money(value, currency="USD"):
    """1234.5, "EUR" -> "€1,234.50"; unknown currencies -> "1,234.50 CHF"."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    currency = (currency or "").upper()
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}".strip()


@register.filter
def num(value):
    """Whole numbers with thousands separators; '—' for nothing."""
    if value is None or value == "":
        return "—"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def as_items(value):
    """dict -> sorted (key, value) pairs. `{{ d.items }}` would look up a key named "items" first."""
    if not isinstance(value, dict):
        return []
    return sorted(value.items(), key=lambda item: str(item[0]))


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


@register.filter
def prop_value(value):
    """A profile/event property for display, in words: text as is, yes/no, a list of plain
    values as "a, b"; only nested data (objects, lists of objects) as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == []:
        return "—"
    if _scalar(value):
        return str(value)
    if isinstance(value, list) and all(_scalar(item) for item in value):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def prop_chips(value):
    """A non-empty list of plain values (tags) as strings, to show as chips; None otherwise."""
    if isinstance(value, list) and value and all(_scalar(item) for item in value):
        return [str(item) for item in value]
    return None


@register.filter
def humanize_key(value):
    return str(value).replace("_", " ").capitalize()


@register.filter
def props_summary(value):
    """{"title": "Tent", "price": 9} -> "price: 9 · title: Tent" (one line, for activity lists)."""
    return " · ".join(f"{key}: {prop_value(item)}" for key, item in as_items(value))
