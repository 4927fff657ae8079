"""Short links: marketing texts are sent with per-message links on the store's domain, and
GET /l/<code> redirects and records the recipient's click (never a bot's)."""
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from textpilot.delivery import service as delivery
from textpilot.delivery.models import Kind, Message, Status
from textpilot.events.models import Event
from textpilot.messaging import links
from textpilot.messaging.encoding import count_segments
from textpilot.messaging.models import ShortLink
from textpilot.messaging.pricing import price_table
from textpilot.profiles import privacy as profile_privacy
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus

PREVIEW = "/api/v1/messages/preview"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
LONG_URL = "https://acme-outdoors.example/collections/spring-sale?utm_source=sms&utm_campaign=spring-2026-weekend"
SHORT_RE = re.compile(r"https://acme\.example/l/([A-Za-z0-9]{7})")


@pytest.fixture(autouse=True)
def no_public_url(settings):
    """Each test says where short links live; the environment must not decide it."""
    settings.TEXTPILOT_PUBLIC_URL = ""


@pytest.fixture
def shop(store):
    store.domain = "acme.example"
    store.save()
    return store


def _customer(store, phone="+12125550123", **fields):
    profile = profiles.create_profile(store, phone=phone, **fields)
    profiles.record_consent(store, profile, ConsentStatus.SUBSCRIBED, source="test")
    return profile


def _sender(store, from_number="+14155550100"):
    return delivery.create_sender(store, name="Sim", provider="sim", from_number=from_number, number_type="short_code",
                                  options={"latency_ms": 0, "dlr_delay_s": 0})


@pytest.fixture
def ann(store):
    return _customer(store, first_name="Ann")


@pytest.fixture
def sender(store):
    return _sender(store)


def _marketing(store, profile, body, **kwargs):
    return delivery.send_message(store, profile=profile, body=body, kind=Kind.MARKETING, **kwargs)


def _link(store, profile, url="https://acme-outdoors.example/sale"):
    message = _marketing(store, profile, f"{store.name}: sale! {url} Reply STOP to opt out")
    return ShortLink.objects.get(message_id=message.pk)


# --- sending -------------------------------------------------------------------------------

def test_marketing_links_become_short_links_of_the_message(shop, sender, ann):
    body = f"Acme Outdoors: spring sale {LONG_URL}. Again: {LONG_URL} and https://acme-outdoors.example/faq! Reply STOP to opt out"
    assert count_segments(body).segments == 2
    message = _marketing(shop, ann, body)

    codes = SHORT_RE.findall(message.body)
    assert len(codes) == 3 and codes[0] == codes[1] != codes[2]  # one link per distinct URL
    assert message.body == (f"Acme Outdoors: spring sale https://acme.example/l/{codes[0]}. Again: https://acme.example/l/{codes[0]}"
                            f" and https://acme.example/l/{codes[2]}! Reply STOP to opt out")
    rows = {row.code: row for row in ShortLink.objects.filter(message_id=message.pk)}
    assert set(rows) == {codes[0], codes[2]}
    assert rows[codes[0]].target_url == LONG_URL and rows[codes[2]].target_url == "https://acme-outdoors.example/faq"
    for row in rows.values():
        assert (row.store_id, row.profile_id, row.click_count, row.first_clicked_at) == (shop.pk, ann.pk, 0, None)
    # Counted again for what is sent: one segment instead of two.
    message.refresh_from_db()
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.estimated_cost == price_table().price("US", "sms", "sim").amount


def test_without_a_store_domain_links_live_on_the_public_url(store, sender, ann, settings):
    settings.TEXTPILOT_PUBLIC_URL = "http://127.0.0.1:8000/"
    message = _marketing(store, ann, f"Acme Outdoors: {LONG_URL} Reply STOP to opt out")
    [link] = ShortLink.objects.filter(message_id=message.pk)
    assert message.body == f"Acme Outdoors: http://127.0.0.1:8000/l/{link.code} Reply STOP to opt out"


def test_with_nowhere_to_serve_them_links_stay_as_written(store, sender, ann):
    body = f"Acme Outdoors: {LONG_URL} Reply STOP to opt out"
    message = _marketing(store, ann, body)
    assert message.body == body and message.segments == count_segments(body).segments
    assert not ShortLink.objects.exists()


def test_store_domain_is_written_as_ascii(store, sender, ann):
    store.domain = "https://Bücher.example/"
    store.save()
    message = _marketing(store, ann, f"Acme Outdoors: {LONG_URL} Reply STOP to opt out")
    assert "https://xn--bcher-kva.example/l/" in message.body and message.encoding == "GSM-7"


def test_transactional_texts_keep_their_links(shop, sender, ann):
    body = "Your order #1001 shipped: https://tools.usps.example/go/TrackConfirmAction?tLabels=9400111899223"
    message = delivery.send_message(shop, profile=ann, body=body, kind=Kind.TRANSACTIONAL)
    assert message.body == body and not ShortLink.objects.exists()


def test_only_http_links_are_shortened(shop, sender, ann):
    body = ("Acme Outdoors: javascript:alert(1) data:text/html,<b>x</b> ftp://files.example/a www.acme-outdoors.example/new "
            "https://acme.example/l/Abc1234 HTTPS://Acme-Outdoors.example/Big Reply STOP to opt out")
    message = _marketing(shop, ann, body)
    [link] = ShortLink.objects.filter(message_id=message.pk)
    assert link.target_url == "HTTPS://Acme-Outdoors.example/Big"
    assert message.body == body.replace("HTTPS://Acme-Outdoors.example/Big", f"https://acme.example/l/{link.code}")


def test_failed_or_repeated_sends_make_no_links(shop, ann):
    failed = _marketing(shop, ann, f"Acme Outdoors: {LONG_URL} Reply STOP to opt out")  # no sender yet
    assert failed.status == Status.FAILED and not ShortLink.objects.exists()
    _sender(shop)
    first = _marketing(shop, ann, f"Acme Outdoors: {LONG_URL} Reply STOP", origin="campaign", origin_key="campaign:1:p:1")
    again = _marketing(shop, ann, f"Acme Outdoors: {LONG_URL} Reply STOP", origin="campaign", origin_key="campaign:1:p:1")
    assert again.pk == first.pk and again.body == first.body and ShortLink.objects.count() == 1


def test_a_taken_code_is_retried(shop, sender, ann, monkeypatch):
    taken = _link(shop, ann)
    offered = iter([[taken.code] * 8, ["Zz9Zz9Z"]])  # the first code drawn is someone else's
    monkeypatch.setattr(links, "new_codes", lambda count: next(offered)[:count])
    second = _link(shop, ann, "https://acme-outdoors.example/other")
    assert second.code == "Zz9Zz9Z" and ShortLink.objects.count() == 2
    # The text carries the code it was stored with.
    assert second.message_id != taken.message_id
    assert "/l/Zz9Zz9Z" in Message.objects.get(pk=second.message_id).body


# --- preview = what is sent --------------------------------------------------------------

_host = st.sampled_from(["acme-outdoors.example", "shop.example.co.uk", "xn--bcher-kva.example", "a.io"])
_path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/%=&?.", max_size=90)
_url = st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}", st.sampled_from(["http", "https"]), _host, _path)
_filler = st.sampled_from(["", "Hi! ", "New: ", "Ends Sunday — ", "Tap ", "x" * 70, "Ünïcode ✓ "])


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.tuples(_filler, _url, st.sampled_from(["", ".", "!", ") ", " "])), min_size=1, max_size=3))
def test_preview_counts_exactly_what_a_marketing_send_sends(shop, sender, ann, api, parts):
    body = "Acme Outdoors: " + "".join(before + url + after for before, url, after in parts) + " Reply STOP to opt out"
    preview = api.post(PREVIEW, {"body": body, "kind": "marketing"}).json()
    message = _marketing(shop, ann, body)

    codes = iter(SHORT_RE.findall(message.body))
    assert re.sub(r"/l/X{7}", lambda _: f"/l/{next(codes)}", preview["text"]) == message.body
    assert (preview["encoding"], preview["characters"], preview["segments"]) == (
        message.encoding, len(message.body), message.segments)
    assert "link_not_shortened" not in [warning["code"] for warning in preview["warnings"]]


# --- clicks --------------------------------------------------------------------------------

def test_a_tap_redirects_and_records_the_click(client, shop, sender, ann):
    link = _link(shop, ann, LONG_URL)
    response = client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 302 and response["Location"] == LONG_URL
    assert response["Cache-Control"] == "private, no-store"

    [event] = Event.objects.all()
    assert (event.store_id, event.profile_id, event.name, event.source) == (shop.pk, ann.pk, "clicked_link", "short_link")
    assert event.properties == {"url": LONG_URL, "message_id": link.message_id, "link_code": link.code}
    link.refresh_from_db()
    assert link.click_count == 1 and link.first_clicked_at == link.last_clicked_at == event.occurred_at


def test_a_double_tap_is_one_click_and_a_later_tap_another(client, shop, sender, ann):
    link = _link(shop, ann)
    for _ in range(3):
        assert client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE).status_code == 302
    assert Event.objects.count() == 1
    # Move the first click out of the double-click window: the next tap counts again.
    ShortLink.objects.filter(pk=link.pk).update(last_clicked_at=link.created_at - links.DOUBLE_CLICK_WINDOW - timedelta(seconds=1))
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE)
    link.refresh_from_db()
    assert link.click_count == 2 and Event.objects.filter(name="clicked_link").count() == 2
    assert link.first_clicked_at < link.last_clicked_at


@pytest.mark.parametrize("user_agent", [
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage's link preview
    "WhatsApp/2.23.20.0 A",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; SomeCrawler/1.0)",
    "curl/8.5.0",
    "",
])
def test_bots_and_link_previews_are_redirected_without_a_click(client, shop, sender, ann, user_agent):
    link = _link(shop, ann)
    response = client.get(f"/l/{link.code}", HTTP_USER_AGENT=user_agent)
    assert response.status_code == 302 and response["Location"] == link.target_url
    assert not Event.objects.exists()
    link.refresh_from_db()
    assert link.click_count == 0 and link.last_clicked_at is None


def test_head_and_prefetch_requests_are_not_clicks(client, shop, sender, ann):
    link = _link(shop, ann)
    assert client.head(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE).status_code == 302
    assert client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE, HTTP_SEC_PURPOSE="prefetch").status_code == 302
    assert not Event.objects.exists()
    # A phone whose brand contains "bot" (Cubot) is a person.
    client.get(f"/l/{link.code}", HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 9; CUBOT P30) Chrome/120.0 Mobile Safari/537.36")
    assert Event.objects.count() == 1


@pytest.mark.parametrize("code", ["Zz9Zz9Z", "short", "bad-code", "AAAAAAAAAAAA"])
def test_unknown_code_is_a_404_page(client, shop, sender, ann, code):
    _link(shop, ann)
    response = client.get(f"/l/{code}", HTTP_USER_AGENT=IPHONE)
    assert response.status_code == 404 and b"This link is not available" in response.content
    assert not Event.objects.exists()


def test_only_get_and_head(client, shop, sender, ann):
    link = _link(shop, ann)
    assert client.post(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE).status_code == 405
    assert not Event.objects.exists()


def test_a_link_resolves_to_its_own_store_whatever_the_host(client, shop, sender, ann, other_store, settings):
    settings.ALLOWED_HOSTS = ["acme.example", "berlin.example"]
    other_store.domain = "berlin.example"
    other_store.save()
    _sender(other_store, "+4915112345678")
    berlin_customer = _customer(other_store, phone="+4915112345679")
    berlin_link = _link(other_store, berlin_customer, "https://berlin-boutique.example/sale")
    assert berlin_link.code != _link(shop, ann).code

    # Berlin's code asked for on Acme's domain: Berlin's link, Berlin's customer, nothing of Acme's.
    response = client.get(f"/l/{berlin_link.code}", HTTP_USER_AGENT=IPHONE, HTTP_HOST="acme.example")
    assert response.status_code == 302 and response["Location"] == "https://berlin-boutique.example/sale"
    [event] = Event.objects.all()
    assert (event.store_id, event.profile_id, event.properties["message_id"]) == (other_store.pk, berlin_customer.pk, berlin_link.message_id)
    assert not Event.objects.filter(store=shop).exists()
    assert ShortLink.objects.get(store=shop).click_count == 0


def test_clicks_of_a_merged_profile_go_to_the_profile_it_was_merged_into(client, shop, sender, ann):
    link = _link(shop, ann)
    primary = profiles.create_profile(shop, email="ann@example.com")
    profiles.merge_profiles(shop, primary, ann)
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE)
    assert Event.objects.get().profile_id == primary.pk


def test_erasing_the_recipient_erases_link_targets(client, shop, sender, ann):
    link = _link(shop, ann, "https://acme-outdoors.example/checkout/recover?email=ann@example.com")
    client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE)
    profile_privacy.erase_profile(shop, ann)
    link.refresh_from_db()
    assert (link.target_url, link.click_count) == ("", 1)  # the count stays as an anonymous figure
    assert client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE).status_code == 404


# --- links without a message (QR codes, social links) ---------------------------------------

def test_a_qr_link_has_no_message_and_its_clicks_name_nobody(client, shop):
    link = links.create_tracked_link(shop, "https://acme-outdoors.example/join?src=counter", origin="qr", label="Counter QR",
                                     origin_id=5)
    assert (link.message_id, link.profile_id, link.origin, link.origin_id, link.label) == (None, None, "qr", 5, "Counter QR")
    assert links.CODE_RE.match(link.code)
    for _ in range(2):
        assert client.get(f"/l/{link.code}", HTTP_USER_AGENT=IPHONE).status_code == 302
    link.refresh_from_db()
    assert link.click_count == 1 and not Event.objects.exists()  # a double tap, and no person to attribute


@pytest.mark.parametrize("args, field", [
    ({"url": "javascript:alert(1)"}, "target_url"), ({"url": "https://acme.example/l/Abc1234"}, "target_url"),
    ({"origin": "message"}, "origin"), ({"origin": "billboard"}, "origin"), ({"label": "x" * 101}, "label"),
])
def test_a_bad_tracked_link_is_refused_naming_the_field(shop, args, field):
    from textpilot.common.errors import FieldError

    with pytest.raises(FieldError) as error:
        links.create_tracked_link(shop, **{"url": "https://acme-outdoors.example/", **args})
    assert error.value.field == field and not ShortLink.objects.exists()


def test_only_a_message_link_names_a_message(shop, sender, ann):
    from django.db import IntegrityError, transaction

    message_link = _link(shop, ann)
    with pytest.raises(IntegrityError), transaction.atomic():
        ShortLink.objects.create(store=shop, code="Qr12345", origin="qr", message_id=message_link.message_id, target_url="https://a.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        ShortLink.objects.create(store=shop, code="Msg1234", origin="message", target_url="https://a.example")
