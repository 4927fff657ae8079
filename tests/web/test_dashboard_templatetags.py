from decimal import Decimal

from textpilot.web.templatetags.dashboard import as_items, money, num, prop_value


def test_money():
    assert money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert money(Decimal("7777"), "eur") == "€7,777.00"
    assert money(Decimal("1500"), "JPY") == "¥1,500"
    assert money(Decimal("12.3"), "CHF") == "12.30 CHF"
    assert money(Decimal("-3"), "GBP") == "-£3.00"
    assert money(None, "USD") == "—"


def test_num_and_properties():
    assert num(1234567) == "1,234,567" and num(None) == "—"
    assert prop_value("text") == "text" and prop_value({"a": [1, 2]}) == '{"a": [1, 2]}'
    assert as_items({"items": 1, "b": 2}) == [("b", 2), ("items", 1)] and as_items(None) == []


def test_props_summary():
    from textpilot.web.templatetags.dashboard import props_summary

    assert props_summary({"title": "Tent", "price": 9.5, "tags": ["a"]}) == 'price: 9.5 · tags: ["a"] · title: Tent'
    assert props_summary({}) == ""
