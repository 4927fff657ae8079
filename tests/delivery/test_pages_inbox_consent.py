"""The inbox and possible opt-outs: a badge and a filter for flagged replies, a one-click
unsubscribe next to them, and the staff unsubscribe / resubscribe form on the conversation."""
import re

import pytest
from django.urls import reverse

from textpilot.delivery import inbound
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentEvent, ConsentStatus


def _text_in(store, sender, phone, body):
    return inbound.receive_inbound(store, from_phone=phone, to_phone=sender.from_number, body=body, provider="sim")


def _staff_events(profile):
    return ConsentEvent.objects.filter(profile=profile, source="staff")


@pytest.fixture
def flagged(store, sim_sender, subscribed):
    """Ann wrote something that may be a request to stop; Bob just asked a question."""
    message = _text_in(store, sim_sender, subscribed.phone, "too many texts lol")
    _text_in(store, sim_sender, "+12125550140", "Is the blue jacket back in stock?")
    return message


def test_inbox_badges_flagged_replies_and_filters_them(owner_client, flagged, subscribed):
    html = owner_client.get(reverse("delivery:inbox")).content.decode()
    assert "2 conversations" in html
    assert html.count('data-flag="possible_opt_out"') == 1 and "Possible opt-out</span>" in html
    assert re.search(r'data-filter="possible_opt_out">.*?<strong>1</strong>', html, re.S)
    assert html.count("data-one-click-unsubscribe") == 1

    only = owner_client.get(reverse("delivery:inbox"), {"filter": "possible_opt_out"}).content.decode()
    assert "1 conversation with a possible opt-out" in only
    assert "too many texts lol" in only and "blue jacket" not in only


def test_the_filter_with_nothing_flagged_says_so(owner_client, store, sim_sender):
    _text_in(store, sim_sender, "+12125550140", "Thanks!")
    html = owner_client.get(reverse("delivery:inbox"), {"filter": "possible_opt_out"}).content.decode()
    assert "No reply is flagged as a possible opt-out." in html


def test_one_click_unsubscribe_from_the_inbox(owner_client, owner, flagged, subscribed):
    back = reverse("delivery:inbox") + "?filter=possible_opt_out"
    html = owner_client.get(back).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="one-click-unsubscribe">(.*?)</form>', html, re.S)
    assert form and 'name="csrfmiddlewaretoken"' in form.group(2)
    data = dict(re.findall(r'<input type="hidden" name="(status|reason|next)" value="([^"]*)"', form.group(2)))
    response = owner_client.post(form.group(1), data)
    assert response.status_code == 302 and response["Location"] == back
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    event = _staff_events(subscribed).get()
    assert event.basis == "observed" and event.consent_text.startswith(f"Staff {owner.email}: Reply of ")
    assert f"(message #{flagged.pk})" in event.consent_text
    flagged.refresh_from_db()
    assert flagged.review_flag == "opted_out"  # handled: it leaves the filter
    after = owner_client.get(back).content.decode()
    assert "too many texts lol" not in after and "data-one-click-unsubscribe" not in after


def test_conversation_shows_the_flag_one_click_and_the_form(owner_client, flagged, subscribed):
    html = owner_client.get(reverse("delivery:conversation", args=[subscribed.pk])).content.decode()
    assert 'data-flag="possible_opt_out"' in html and f'data-one-click-unsubscribe="{flagged.pk}"' in html
    assert 'data-staff-consent="unsubscribe"' in html
    response = owner_client.post(reverse("delivery:conversation_sms_consent", args=[subscribed.pk]),
                                 {"status": "unsubscribed", "reason": "Said so on the phone", "next": "https://evil.example/"})
    assert response["Location"] == reverse("delivery:conversation", args=[subscribed.pk])  # never off-site
    page = owner_client.get(response["Location"]).content.decode()
    assert "is now unsubscribed" in page and 'data-staff-consent="resubscribe"' in page
    assert "data-one-click-unsubscribe" not in page


def test_conversation_form_errors_and_resubscribe(owner_client, staff_user, store, sim_sender, subscribed):
    url = reverse("delivery:conversation_sms_consent", args=[subscribed.pk])
    empty = owner_client.post(url, {"status": "unsubscribed", "reason": " "})
    assert empty.status_code == 422 and "a reason is required" in empty.content.decode()
    assert not _staff_events(subscribed).exists()

    owner_client.post(url, {"status": "unsubscribed", "reason": "Asked by email"})
    unconfirmed = owner_client.post(url, {"status": "subscribed", "reason": "Wants texts again"})
    assert unconfirmed.status_code == 422 and "tick the box" in unconfirmed.content.decode()
    owner_client.force_login(staff_user)
    assert owner_client.post(url, {"status": "subscribed", "reason": "Wants texts again", "confirmed": "on"}).status_code == 302
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.SUBSCRIBED
    assert list(_staff_events(subscribed).values_list("status", "consent_text")) == [
        ("unsubscribed", "Staff owner@acme.test: Asked by email"),
        ("subscribed", f"Staff {staff_user.email}: Wants texts again"),
    ]


def test_another_stores_conversation_is_404_and_anonymous_goes_to_login(client, owner_client, other_store):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    profiles.record_consent(other_store, theirs, ConsentStatus.SUBSCRIBED, "popup")
    url = reverse("delivery:conversation_sms_consent", args=[theirs.pk])
    assert owner_client.post(url, {"status": "unsubscribed", "reason": "x"}).status_code == 404
    owner_client.logout()
    anonymous = client.post(url, {"status": "unsubscribed", "reason": "x"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    theirs.refresh_from_db()
    assert theirs.sms_status == ConsentStatus.SUBSCRIBED and not _staff_events(theirs).exists()


@pytest.fixture
def staff_user(store):
    from textpilot.stores import service as stores_service

    return stores_service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff")


def test_not_an_opt_out_closes_the_flag_and_leaves_consent_alone(owner_client, flagged, subscribed):
    back = reverse("delivery:inbox") + "?filter=possible_opt_out"
    html = owner_client.get(back).content.decode()
    assert f'data-not-opt-out="{flagged.pk}"' in html
    response = owner_client.post(reverse("delivery:reply_not_opt_out", args=[flagged.pk]), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    flagged.refresh_from_db(), subscribed.refresh_from_db()
    assert (flagged.review_flag, subscribed.sms_status) == ("not_opt_out", ConsentStatus.SUBSCRIBED)
    assert not _staff_events(subscribed).exists()
    after = owner_client.get(back).content.decode()
    assert "too many texts lol" not in after
    # The conversation still shows the reply, without the flag's buttons.
    thread = owner_client.get(reverse("delivery:conversation", args=[subscribed.pk])).content.decode()
    assert "too many texts lol" in thread and f'data-not-opt-out="{flagged.pk}"' not in thread


def test_not_an_opt_out_is_store_scoped_and_needs_a_post(client, owner_client, other_store, sim_sender, store):
    theirs = inbound.receive_inbound(other_store, from_phone="+12125550177", to_phone="+14155550999", body="who is this?",
                                     provider="sim")
    assert theirs.review_flag == "possible_opt_out"
    assert owner_client.post(reverse("delivery:reply_not_opt_out", args=[theirs.pk])).status_code == 404
    assert owner_client.get(reverse("delivery:reply_not_opt_out", args=[theirs.pk])).status_code == 405
    theirs.refresh_from_db()
    assert theirs.review_flag == "possible_opt_out"
