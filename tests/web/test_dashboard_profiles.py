"""Profiles list (search, pagination, htmx fragment) and the profile page."""
from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse


def test_list_shows_profiles_of_the_current_store_only(owner_client, shop, store, other_store):
    shop.customer(store, "+14155550101", first_name="Ann", email="ann@example.com")
    shop.customer(other_store, "+4915123456789", first_name="Klaus")
    html = owner_client.get(reverse("web:profiles")).content.decode()
    assert "Ann" in html and "+14155550101" in html
    assert "Klaus" not in html


def test_search_without_javascript(owner_client, shop, store):
    shop.customer(store, "+14155550101", first_name="Ann", email="ann@example.com")
    shop.customer(store, "+14155550199", first_name="Bob", email="bob@example.com")
    by_name = owner_client.get(reverse("web:profiles"), {"q": "ann"}).content.decode()
    assert "ann@example.com" in by_name and "bob@example.com" not in by_name
    assert "<html" in by_name  # a full page
    by_phone = owner_client.get(reverse("web:profiles"), {"q": "(415) 555-0199"}).content.decode()
    assert "bob@example.com" in by_phone and "ann@example.com" not in by_phone
    nothing = owner_client.get(reverse("web:profiles"), {"q": "zzz"}).content.decode()
    assert "No profile matches" in nothing


def test_htmx_search_returns_only_the_results_fragment(owner_client, shop, store):
    shop.customer(store, "+14155550101", first_name="Ann", email="ann@example.com")
    response = owner_client.get(reverse("web:profiles"), {"q": "ann"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="profile-results")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.strip().startswith('<section id="profile-results"')
    assert "ann@example.com" in html
    assert "HX-Request" in response["Vary"]
    # htmx restoring history after a cache miss needs the whole page.
    restore = owner_client.get(reverse("web:profiles"), {"q": "ann"}, HTTP_HX_REQUEST="true",
                               HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()


def test_pagination(owner_client, shop, store):
    for i in range(30):
        shop.customer(store, f"+1415555{1000 + i:04d}", first_name=f"Person{i:02d}")
    first = owner_client.get(reverse("web:profiles")).content.decode()
    assert "Page 1 of 2" in first and "30 profiles" in first
    second = owner_client.get(reverse("web:profiles"), {"page": 2})
    assert second.context["profiles_page"].number == 2
    assert len(second.context["profiles_page"].object_list) == 5
    assert owner_client.get(reverse("web:profiles"), {"page": "junk"}).status_code == 200


def test_profile_page_shows_identity_consent_events_and_orders(owner_client, shop, store):
    ann = shop.customer(store, "+14155550101", first_name="Ann", last_name="Lee", email="ann@example.com",
                        city="Austin", properties={"favorite": "tents", "items": 3})
    shop.subscribe(store, ann, source="popup", keyword="JOIN", ip_address="203.0.113.9",
                   consent_text="Reply STOP to opt out.", occurred_at=datetime(2024, 3, 1, 2, 0, tzinfo=ZoneInfo("UTC")))
    shop.event(store, ann, "viewed_product", {"title": "Trail Tent"})
    shop.order(store, "A-1", "120.00", ann, payment_status="paid", order_number="#1001")
    from textpilot.delivery import inbound

    inbound.receive_inbound(store, from_phone=ann.phone, to_phone="+14155550100", body="Do you ship tents to Canada?",
                            provider="sim")
    response = owner_client.get(reverse("web:profile", args=[ann.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Ann Lee", "ann@example.com", "Austin", "favorite", "tents", "items",
                 "JOIN", "203.0.113.9", "Reply STOP to opt out.", "Viewed product", "Trail Tent", "#1001", "$120.00",
                 "Do you ship tents to Canada?", "Received"):
        assert text in html, text
    assert "Feb 29, 2024 21:00" in html  # consent time in the store's time zone (New York)


def test_profile_of_another_store_is_not_found(owner_client, shop, other_store):
    klaus = shop.customer(other_store, "+4915123456789", first_name="Klaus")
    assert owner_client.get(reverse("web:profile", args=[klaus.pk])).status_code == 404
    assert owner_client.get(reverse("web:profile", args=[999999])).status_code == 404


def test_profile_page_says_whether_a_marketing_text_could_go_now(owner_client, shop, store, sim_sender):
    from textpilot.delivery import inbound

    ann = shop.customer(store, "+14155550101", first_name="Ann")
    shop.subscribe(store, ann, source="popup", consent_text="Reply STOP to opt out.", ip_address="203.0.113.9")
    inbound.receive_inbound(store, from_phone=ann.phone, to_phone=sim_sender.from_number, body="STOP", provider="sim")
    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    assert "Marketing text now" in html and "not sent: the recipient opted out" in html


def test_list_and_profile_page_show_the_customer_stats_of_commerce(owner_client, shop, store, other_store):
    import re
    from datetime import timezone

    ann = shop.customer(store, "+14155550101", first_name="Ann")
    shop.customer(store, "+14155550102", first_name="Bob")
    shop.order(store, "A-1", "120.00", ann, payment_status="paid", placed_at=datetime(2024, 2, 3, 15, tzinfo=timezone.utc))
    shop.order(store, "A-2", "30.50", ann, payment_status="paid", placed_at=datetime(2024, 5, 6, 15, tzinfo=timezone.utc))
    shop.order(store, "A-3", "80.00", ann, currency="EUR", payment_status="paid")  # another currency: not summed
    klaus = shop.customer(other_store, "+4915123456789", first_name="Klaus")
    shop.order(other_store, "B-1", "7777.00", klaus, payment_status="paid")

    listing = owner_client.get(reverse("web:profiles")).content.decode()
    cells = {name: re.findall(r'<td class="num">([^<]*)</td>', row) for name, row in
             re.findall(r'class="profile-link">(\w+)</a>(.*?)</tr>', listing, flags=re.S)}
    assert cells == {"Ann": ["2", "$150.50"], "Bob": ["0", "$0.00"]}

    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    for text in ("$150.50", "$75.25", "May 6, 2024", "Feb 3, 2024", "1 order in another currency is not included"):
        assert text in html, text
    assert "7,777" not in html
