"""The messages log and a message's page: filters, counts per status, pages, the timeline
of receipts and provider calls, and the wall between stores."""
import re

import pytest
from django.urls import reverse

from textpilot.delivery import inbound, service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import DeliveryAttempt, Message, Status


def _queue(store, phone, body, **kwargs):
    return service.send_message(store, to=phone, body=body, **kwargs)


def test_log_lists_texts_with_counts_per_status_and_filters(owner_client, store, sim_sender, subscribed):
    delivered = _queue(store, subscribed.phone, "Your order shipped")
    service.apply_delivery_report(store, provider="sim", status="delivered", message_id=delivered.pk)
    _queue(store, "+12125550177", "Order confirmed")  # stays queued
    inbound.receive_inbound(store, from_phone="+12125550188", to_phone=sim_sender.from_number,
                                       body="Do you ship to Canada?", provider="sim")

    response = owner_client.get(reverse("delivery:messages"))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Your order shipped", "Order confirmed", "Do you ship to Canada?"):
        assert text in html
    # Counts per status on top, each a link that filters the log.
    assert re.search(r'data-status="delivered"[^>]*>\s*<span class="dot"[^>]*></span>Delivered <strong>1</strong>', html)
    assert re.search(r'data-status="queued"[^>]*>\s*<span class="dot"[^>]*></span>Queued <strong>1</strong>', html)
    assert re.search(r'data-status="received"[^>]*>\s*<span class="dot"[^>]*></span>Received <strong>1</strong>', html)
    assert 'All <strong>3</strong>' in html
    assert 'class="pill pill-ok"' in html and 'class="pill pill-muted"' in html  # coloured pills

    only_delivered = owner_client.get(reverse("delivery:messages"), {"status": "delivered"}).content.decode()
    assert "Your order shipped" in only_delivered and "Order confirmed" not in only_delivered
    inbound_only = owner_client.get(reverse("delivery:messages"), {"direction": "inbound"}).content.decode()
    assert "Do you ship to Canada?" in inbound_only and "Your order shipped" not in inbound_only
    by_phone = owner_client.get(reverse("delivery:messages"), {"phone": "5550177"}).content.decode()
    assert "Order confirmed" in by_phone and "Your order shipped" not in by_phone
    marketing = owner_client.get(reverse("delivery:messages"), {"kind": "marketing"}).content.decode()
    assert "No message matches these filters." in marketing


def test_htmx_filter_answers_with_the_results_only(owner_client, store, sim_sender, subscribed):
    _queue(store, subscribed.phone, "Hello there")
    response = owner_client.get(reverse("delivery:messages"), {"status": "queued"},
                                HTTP_HX_REQUEST="true", HTTP_HX_TARGET="message-results")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="message-results"') and "<html" not in html
    assert "Hello there" in html


def test_unknown_filter_values_are_ignored_not_500(owner_client, store, sim_sender, subscribed):
    _queue(store, subscribed.phone, "Still listed")
    response = owner_client.get(reverse("delivery:messages"), {"status": "exploded", "page": "x"})
    assert response.status_code == 200
    assert "Still listed" in response.content.decode()


def test_log_is_paginated(owner_client, store, sim_sender, subscribed):
    for n in range(55):
        _queue(store, subscribed.phone, f"Numbered text {n:02d}")
    first = owner_client.get(reverse("delivery:messages")).content.decode()
    assert "Page 1 of 2" in first and "Numbered text 54" in first and "Numbered text 04" not in first
    second = owner_client.get(reverse("delivery:messages"), {"page": 2}).content.decode()
    assert "Numbered text 04" in second and "Numbered text 54" not in second


@pytest.mark.django_db(transaction=True)
def test_detail_shows_body_cost_timeline_and_provider_calls(client, store, sim_sender, subscribed):
    from textpilot.stores import service as stores_service

    client.force_login(stores_service.ensure_user("owner@acme.test", "correct-horse-battery", store, "owner"))
    message = _queue(store, subscribed.phone, "Hi {{ first_name }}, your parcel is on its way ✓")
    dispatch_until_idle(max_seconds=10)
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    # A late "sent" receipt is kept but not applied: the timeline says so.
    service.apply_delivery_report(store, provider="sim", status="sent", message_id=message.pk)

    html = client.get(reverse("delivery:message", args=[message.pk])).content.decode()
    assert "Hi Ann, your parcel is on its way ✓" in html
    assert "<dt>Encoding</dt><dd>UCS-2</dd>" in html  # the tick makes it unicode
    assert re.search(r"<dt>Segments</dt><dd>1</dd>", html)
    assert "Handed to sim: accepted" in html
    assert "Receipt from sim: delivered" in html
    assert "Receipt from sim: sent" in html and "not applied: late or repeated" in html
    attempt = DeliveryAttempt.objects.get(message=message)
    assert f"{attempt.latency_ms} ms" in html
    assert "&quot;sid&quot;: &quot;" + message.provider_message_id in html  # the response JSON


def test_detail_of_a_suppressed_text_says_why(owner_client, store, sim_sender):
    message = _queue(store, "+12125550199", "Sale!", kind="marketing")
    Message.objects.filter(pk=message.pk).update(status=Status.SUPPRESSED, status_reason="no_consent: marketing needs a subscribed recipient")
    html = owner_client.get(reverse("delivery:message", args=[message.pk])).content.decode()
    assert "no_consent: marketing needs a subscribed recipient" in html
    assert "No provider call was made for this text." in html


def test_another_stores_messages_are_404(owner_client, store, other_store, sim_sender):
    service.create_sender(other_store, name="Sim", provider="sim", from_number="+4915123450000")
    theirs = service.send_message(other_store, to="+4915123456789", body="Geheim")
    response = owner_client.get(reverse("delivery:message", args=[theirs.pk]))
    assert response.status_code == 404
    assert "Geheim" not in owner_client.get(reverse("delivery:messages")).content.decode()
    assert owner_client.get(reverse("delivery:messages"), {"phone": "4915123456789"}).content.decode().count("Geheim") == 0


def test_pages_need_a_login(client, db):
    for name in ("delivery:messages", "delivery:inbox", "delivery:phone", "delivery:senders", "delivery:compliance"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"], name
