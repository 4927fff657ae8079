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

    assert props_summary({"title": "Tent", "price": 9.5, "tags": ["a", "b"]}) == "price: 9.5 · tags: a, b · title: Tent"
    assert props_summary({}) == ""


def test_property_values_read_as_words_not_json():
    from textpilot.web.templatetags.dashboard import prop_chips

    assert prop_value(["vip", "hiking"]) == "vip, hiking" and prop_value([]) == "—"
    assert prop_value(True) == "yes" and prop_value(False) == "no" and prop_value(None) == "—"
    assert prop_value(9.5) == "9.5" and prop_value({"a": [1, 2]}) == '{"a": [1, 2]}'  # nested data stays JSON
    assert prop_chips(["vip", "hiking"]) == ["vip", "hiking"] and prop_chips("vip") is None
    assert prop_chips([{"a": 1}]) is None and prop_chips([]) is None


def test_profile_page_shows_tags_as_chips(owner_client, store):
    from django.urls import reverse

    from textpilot.profiles import service

    ann = service.create_profile(store, phone="+14155552671", properties={"tags": ["vip", "hiking"], "newsletter": False})
    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    assert '<span class="pill pill-muted tag">vip</span><span class="pill pill-muted tag">hiking</span>' in html
    assert "[&quot;vip&quot;" not in html and '["vip"' not in html
    assert "<dt>newsletter</dt><dd>no</dd>" in html
