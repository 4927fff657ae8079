"""A text that has not gone says why and when, in plain words, on its page: suppressed (a
country the store doesn't text), scheduled for later, retrying after a temporary error, or
due now (and whether a dispatcher is running to send it). Home counts the texts waiting."""
import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from textpilot.delivery import claims, gating, service
from textpilot.delivery.models import Message, Status
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus


def _page(client, message):
    return client.get(reverse("delivery:message", args=[message.pk])).content.decode()


def _words(html):
    """The page's text with tags (e.g. <time>) taken out and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_a_text_to_a_country_the_store_does_not_text_says_so(owner_client, store, sim_sender):
    londoner = profiles.create_profile(store, phone="+447400123456", first_name="Olivia")
    profiles.record_consent(store, londoner, ConsentStatus.SUBSCRIBED, source="test")
    message = service.send_message(store, profile=londoner, body="Winter sale!", kind="marketing", origin="campaign")
    now = timezone.now()
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test", now=now)
    claims.apply_gate(token, claimed, gating.gate_batch(claimed, now), now)
    message.refresh_from_db()
    assert (message.status, message.hold_rule) == (Status.SUPPRESSED, "country")

    html = _page(owner_client, message)
    assert ("the number is in United Kingdom (GB), and the store only texts numbers in United States (US)") in html
    assert 'id="suppressed-country"' in html
    assert f'href="{reverse("delivery:compliance")}"' in html  # where to allow the country
    assert "No provider call was made" in html


def test_a_scheduled_text_says_when_it_will_go(owner_client, store, sim_sender):
    later = dt.datetime(2031, 3, 4, 15, 30, tzinfo=dt.timezone.utc)  # 10:30 in New York (the store's zone)
    message = service.send_message(store, to="+12125550177", body="Your table is ready", send_after=later)
    html = _page(owner_client, message)
    assert "waiting for a dispatcher" not in html
    assert 'id="waiting"' in html and "Scheduled for Tue Mar 4, 2031, 10:30 (America/New_York)" in _words(html)


def test_a_text_retrying_after_a_temporary_error_says_when_it_tries_again(owner_client, store, sim_sender):
    message = service.send_message(store, to="+12125550177", body="Your code is 4815")
    retry_at = timezone.now() + dt.timedelta(minutes=5)
    Message.objects.filter(pk=message.pk).update(attempts=1, send_after=retry_at, status_reason="retrying: timed out")
    html = _page(owner_client, message)
    local = retry_at.astimezone(zoneinfo.ZoneInfo(store.timezone))
    assert "Next try at" in html and "retrying: timed out" in html and "Attempt 2 of 5" in _words(html)
    assert local.strftime("%H:%M") in html


def test_a_due_text_says_no_dispatcher_is_running(owner_client, store, sim_sender):
    message = service.send_message(store, to="+12125550177", body="Your code is 4815")
    html = _page(owner_client, message)
    assert "waiting for a dispatcher" not in html
    assert "Due now" in html and "no dispatcher is running" in html and "textpilot serve" in html


def test_a_due_text_with_a_dispatcher_running_goes_on_its_next_pass(owner_client, store, sim_sender, monkeypatch):
    from textpilot.common import queue_status

    monkeypatch.setattr(queue_status, "describe", lambda: {"ok": True, "dispatcher_alive": True})
    message = service.send_message(store, to="+12125550177", body="Your code is 4815")
    html = _page(owner_client, message)
    assert "Due now" in html and "next pass" in html and "no dispatcher is running" not in html


@pytest.mark.parametrize("queued", [0, 3])
def test_home_counts_the_texts_waiting_to_go(owner_client, store, sim_sender, queued, monkeypatch):
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "pending_count", lambda: 7)  # background tasks: not texts
    for n in range(queued):
        service.send_message(store, to=f"+1212555017{n}", body="Hello")
    delivered = service.send_message(store, to="+12125550190", body="Gone already")
    Message.objects.filter(pk=delivered.pk).update(status=Status.DELIVERED)
    html = owner_client.get(reverse("web:home")).content.decode()
    assert f'data-queued-texts="{queued}"' in html
    assert f"{queued} text{'s' if queued != 1 else ''} queued" in html
    assert "7 queued" not in html
