"""POST /api/v1/messages/preview and /api/v1/messages/validate-template."""
import pytest

from textpilot.messaging.encoding import MAX_BODY_CHARACTERS

PREVIEW = "/api/v1/messages/preview"
VALIDATE = "/api/v1/messages/validate-template"
GOOD_MARKETING = "Acme Outdoors: 20% off everything this weekend with code SAVE20. Reply STOP to opt out"


def codes(response):
    result = response if isinstance(response, dict) else response.json()
    return [warning["code"] for warning in result["warnings"]]


def test_clean_marketing_text(api):
    response = api.post(PREVIEW, {"body": GOOD_MARKETING, "kind": "marketing"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "text": GOOD_MARKETING,
        "encoding": "GSM-7",
        "characters": len(GOOD_MARKETING),
        "units": len(GOOD_MARKETING),
        "segments": 1,
        "estimated_cost": "0.0110",
        "currency": "USD",
        "warnings": [],
    }


def test_cost_is_per_segment_for_the_recipient_country(api):
    body = "Acme Outdoors: " + "x" * 300 + " Reply STOP to opt out"
    response = api.post(PREVIEW, {"body": body, "kind": "marketing", "country": "gb"}).json()
    assert (response["segments"], response["estimated_cost"]) == (3, "0.1500")


def test_non_gsm_character_names_it_and_suggests_a_replacement(api):
    body = "Acme Outdoors: it’s back! " + "x" * 60 + " Reply STOP to opt out"
    response = api.post(PREVIEW, {"body": body, "kind": "marketing"})
    result = response.json()
    assert (result["encoding"], result["segments"], result["estimated_cost"]) == ("UCS-2", 2, "0.0220")
    [warning] = result["warnings"]
    assert warning["code"] == "non_gsm_characters"
    assert "’ (RIGHT SINGLE QUOTATION MARK)" in warning["message"] and "2 segments instead of 1" in warning["message"]
    assert warning["data"] == {"characters": ["’"], "replacements": {"’": "'"}, "segments": 2, "segments_in_gsm7": 1}


def test_marketing_without_brand_or_opt_out_is_warned(api):
    response = api.post(PREVIEW, {"body": "Big sale this weekend!", "kind": "marketing"})
    assert codes(response) == ["missing_brand", "missing_opt_out"]
    assert "Acme Outdoors" in response.json()["warnings"][0]["message"]
    # Transactional texts need neither.
    assert codes(api.post(PREVIEW, {"body": "Your order shipped!", "kind": "transactional"})) == []


def test_sender_name_or_merge_tags_count_as_brand_and_opt_out(api, store):
    store.sender_name = "ACME"
    store.save()
    assert codes(api.post(PREVIEW, {"body": "acme: sale! Text STOP to quit", "kind": "marketing"})) == []
    body = "{{ store.name }}: sale! {{ unsubscribe_text }}"
    assert codes(api.post(PREVIEW, {"body": body, "kind": "marketing"})) == []


def test_seed_article_text_is_previewed(api, settings):
    settings.TEXTPILOT_PUBLIC_URL = ""  # nowhere to serve short links
    body = "{SiteName} : 안녕하세요 {FirstName} 님! 무료 배송: {DiscountCodeUrl}. 옵트아웃하려면 STOP이라고 응답하세요."
    result = api.post(PREVIEW, {"body": body, "kind": "marketing", "country": "KR"}).json()
    assert result["text"].startswith("Acme Outdoors : 안녕하세요 Alexandra 님!")
    assert result["encoding"] == "UCS-2"
    # Brand and opt-out are there; the discount link (sample value) is not a short link.
    assert codes(result) == ["non_gsm_characters", "link_not_shortened"]


def test_links_are_warned_when_the_store_cannot_shorten_them(api, store, settings):
    settings.TEXTPILOT_PUBLIC_URL = ""
    body = "Acme Outdoors: new arrivals https://acme.example/collections/new?utm_source=sms. Reply STOP to opt out"
    response = api.post(PREVIEW, {"body": body, "kind": "marketing"}).json()
    assert codes(response) == ["link_not_shortened"]
    assert response["warnings"][0]["data"] == {"links": ["https://acme.example/collections/new?utm_source=sms"]}
    assert "set one in the store settings" in response["warnings"][0]["message"]
    assert response["characters"] == len(body)  # counted as given


def test_marketing_links_are_counted_at_their_short_length(api, store, settings):
    settings.TEXTPILOT_PUBLIC_URL = ""
    store.domain = "acme.example"
    store.save()
    body = "Acme Outdoors: new arrivals https://acme.example/collections/new?utm_source=sms. Reply STOP to opt out"
    response = api.post(PREVIEW, {"body": body, "kind": "marketing"}).json()
    assert codes(response) == []
    assert response["text"] == "Acme Outdoors: new arrivals https://acme.example/l/XXXXXXX. Reply STOP to opt out"
    assert response["characters"] == len(response["text"])
    # A link that already is a short link of the store is counted as written.
    short = "Acme Outdoors: new arrivals https://acme.example/l/Xy12abc. Reply STOP to opt out"
    assert api.post(PREVIEW, {"body": short, "kind": "marketing"}).json()["text"] == short
    # A link without a scheme is sent as written: counted in full, with advice.
    bare = "Acme Outdoors: new arrivals www.acme.example/new. Reply STOP to opt out"
    response = api.post(PREVIEW, {"body": bare, "kind": "marketing"}).json()
    assert codes(response) == ["link_not_shortened"] and response["text"] == bare
    assert "https://" in response["warnings"][0]["message"]
    # Transactional texts keep their links (order tracking): counted in full, no warning.
    order = "Your order shipped: https://tracking.example/ABC123?ref=sms"
    response = api.post(PREVIEW, {"body": order, "kind": "transactional"}).json()
    assert (response["text"], codes(response)) == (order, [])


def test_mms_is_priced_per_message_and_refused_where_unavailable(api):
    body = "Acme Outdoors: " + "x" * 400 + " Reply STOP to opt out"
    us = api.post(PREVIEW, {"body": body, "kind": "marketing", "channel": "mms"}).json()
    assert us["estimated_cost"] == "0.0250" and us["warnings"] == []
    de = api.post(PREVIEW, {"body": body, "kind": "marketing", "channel": "mms", "country": "DE"}).json()
    assert de["estimated_cost"] is None and codes(de) == ["channel_unavailable"]


def test_a_country_without_a_price_uses_the_fallback_rate(api):
    # Antarctica: a real ISO 3166 country that the price table has no rate for.
    result = api.post(PREVIEW, {"body": "Your code is 1234", "kind": "transactional", "country": "AQ"}).json()
    assert codes(result) == ["price_unknown"] and result["estimated_cost"] == "0.1500"


def test_a_code_that_is_no_country_is_refused(api):
    response = api.post(PREVIEW, {"body": "Your code is 1234", "kind": "transactional", "country": "ZZ"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "country"] and "ISO 3166" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "marketing"}, "body"),
        ({"body": "", "kind": "marketing"}, "body"),
        ({"body": "   ", "kind": "marketing"}, "body"),
        ({"body": "x" * (MAX_BODY_CHARACTERS + 1), "kind": "marketing"}, "body"),
        ({"body": "Hi {{ first_name", "kind": "marketing"}, "body"),
        ({"body": "Hi {{ nobody }}", "kind": "marketing"}, "body"),
        ({"body": "{% for i in (1..100) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", "kind": "marketing"}, "body"),
        ({"body": "Hi"}, "kind"),
        ({"body": "Hi", "kind": "newsletter"}, "kind"),
        ({"body": "Hi", "kind": "marketing", "country": "USA"}, "country"),
        ({"body": "Hi", "kind": "marketing", "country": "1A"}, "country"),
        ({"body": "Hi", "kind": "marketing", "channel": "fax"}, "channel"),
        ({"body": "Hi", "kind": "marketing", "media": ["x.png"]}, "media"),
    ],
)
def test_bad_preview_input_is_422_naming_the_field(api, payload, field):
    response = api.post(PREVIEW, payload)
    assert response.status_code == 422, response.content
    assert field in [detail["loc"][-1] for detail in response.json()["detail"]]


def test_template_error_in_preview_has_line_and_column(api):
    detail = api.post(PREVIEW, {"body": "Hi\n{{ frist_name }}", "kind": "marketing"}).json()["detail"][0]
    assert (detail["loc"], detail["type"], detail["line"], detail["column"]) == (["body", "body"], "invalid_template", 2, 4)


def test_preview_needs_an_api_key(client):
    response = client.post(PREVIEW, {"body": "Hi", "kind": "marketing"}, content_type="application/json")
    assert response.status_code == 401


def test_validate_template_on_save(api):
    response = api.post(VALIDATE, {"body": "{SiteName}: Hi {{ first_name | default: 'there' }}", "context_kind": "campaign"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "valid": True,
        "liquid": "{{ store.name }}: Hi {{ first_name | default: 'there' }}",
        "merge_tags": ["store.name", "first_name"],
    }
    order_text = "Order {{ order.number }}: {{ order.shipping.tracking_url }}"
    assert api.post(VALIDATE, {"body": order_text, "context_kind": "order"}).status_code == 200


@pytest.mark.parametrize(
    "payload, field, line, column",
    [
        ({"body": "Order {{ order.number }}", "context_kind": "campaign"}, "body", 1, 10),
        ({"body": "Hi {% if first_name %}x"}, "body", 1, 24),
        ({"body": "Hi\n{FristName}"}, "body", 2, 1),
        ({"body": "Hi", "context_kind": "newsletter"}, "context_kind", None, None),
        ({}, "body", None, None),
    ],
)
def test_validate_template_refuses_with_position(api, payload, field, line, column):
    response = api.post(VALIDATE, payload)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == field
    assert (detail.get("line"), detail.get("column")) == (line, column)


def test_merge_tag_catalog(api):
    tags = {tag["tag"]: tag for tag in api.get("/api/v1/messages/merge-tags").json()}
    assert tags["order.shipping.tracking_url"]["context_kinds"] == ["order", "all"]
    assert "campaign" in tags["first_name"]["context_kinds"]
