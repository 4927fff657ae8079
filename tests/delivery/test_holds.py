"""Held texts, end to end through the database: the dispatcher's claim → gate → apply_gate
writes the rule, the reason and the time a text is held until (and clears them when it goes);
24-hour caps count the store's marketing across campaigns and flows; the address state on the
profile reaches the gate; the messages API, the message page and
GET /api/v1/profiles/{id}/sendability say which rule holds a text, why, and until when."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from textpilot.delivery import claims, gating, sendability, service
from textpilot.delivery.models import Message, Status
from textpilot.delivery.providers.base import Outcome, SendResult
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus, Profile

UTC = dt.timezone.utc
CHICAGO, NEW_YORK = ZoneInfo("America/Chicago"), ZoneInfo("America/New_York")
SB140 = "quiet_hours:US-TX@2025-09-01"
SUNDAY_MORNING = dt.datetime(2026, 6, 14, 10, 0, tzinfo=CHICAGO).astimezone(UTC)
SUNDAY_NOON = dt.datetime(2026, 6, 14, 12, 0, tzinfo=CHICAGO).astimezone(UTC)


def customer(store, phone, status=ConsentStatus.SUBSCRIBED, **address):
    profile = profiles.create_profile(store, phone=phone, first_name="Tex")
    if status != ConsentStatus.NEVER:
        profiles.record_consent(store, profile, status, source="test")
    if address:  # profiles.service doesn't take the address state yet
        Profile.objects.filter(pk=profile.pk).update(**address)
        profile.refresh_from_db()
    return profile


def run_gate(sender, now):
    """One dispatcher pass up to the provider call, at a chosen moment."""
    token, claimed = claims.claim_due(sender.pk, 50, "test", now=now)
    return claims.apply_gate(token, claimed, gating.gate_batch(claimed, now), now)


def marketing(store, profile, now, **kwargs):
    return service.send_message(store, profile=profile, body="Summer sale!", kind="marketing", origin="campaign",
                                send_after=now - dt.timedelta(minutes=1), **kwargs)


def test_a_deferred_text_keeps_its_rule_reason_and_time_and_loses_them_when_it_goes(store, sim_sender):
    tex = customer(store, "+12145550123")
    message = marketing(store, tex, SUNDAY_MORNING)
    assert run_gate(sim_sender, SUNDAY_MORNING) == []
    message.refresh_from_db()
    assert (message.status, message.hold_rule, message.send_after) == (Status.QUEUED, SB140, SUNDAY_NOON)
    assert message.status_reason == "held until 12:00 America/Chicago (quiet hours, Texas SB 140)"
    assert message.lease_owner == "" and message.lease_expires_at is None
    assert run_gate(sim_sender, SUNDAY_NOON - dt.timedelta(seconds=1)) == []  # not due yet
    sent = run_gate(sim_sender, SUNDAY_NOON)
    assert [m.pk for m in sent] == [message.pk]
    message.refresh_from_db()
    assert (message.status, message.hold_rule, message.status_reason) == (Status.SENDING, "", "")


def test_a_suppressed_text_keeps_the_rule(store, sim_sender):
    gone = customer(store, "+12125550111", ConsentStatus.UNSUBSCRIBED)
    message = service.send_message(store, profile=gone, body="Your order shipped", send_after=SUNDAY_MORNING)
    run_gate(sim_sender, SUNDAY_MORNING)
    message.refresh_from_db()
    assert (message.status, message.hold_rule, message.status_reason) == (
        Status.SUPPRESSED, "opted_out", "not sent: the recipient opted out")


def test_the_address_state_on_the_profile_reaches_the_gate(store, sim_sender):
    new_yorker_in_texas = customer(store, "+12125550122", region="TX", timezone="America/Chicago")
    message = marketing(store, new_yorker_in_texas, SUNDAY_MORNING)
    run_gate(sim_sender, SUNDAY_MORNING)
    message.refresh_from_db()
    assert (message.hold_rule, message.send_after) == (SB140, SUNDAY_NOON)


@pytest.mark.parametrize("phone, rule", [("+14055550123", "cap_24h:US-OK@2022-11-01"),
                                         ("+14105550123", "cap_24h:US-MD@2024-01-01")])
def test_the_24_hour_cap_counts_the_stores_marketing_across_campaigns_and_flows(store, sim_sender, phone, rule):
    service.update_compliance_settings(store, smart_sending_hours=0)
    noon = dt.datetime(2026, 6, 10, 12, 0, tzinfo=NEW_YORK).astimezone(UTC)
    person = customer(store, phone, timezone="America/New_York")
    for hours_ago, origin in ((23, "campaign"), (9, "flow"), (2, "campaign")):
        earlier = marketing(store, person, noon)
        Message.objects.filter(pk=earlier.pk).update(status=Status.DELIVERED, origin=origin,
                                                     sent_at=noon - dt.timedelta(hours=hours_ago))
    old = marketing(store, person, noon)  # 25 hours ago: outside the 24 h
    Message.objects.filter(pk=old.pk).update(status=Status.DELIVERED, sent_at=noon - dt.timedelta(hours=25))
    fourth = marketing(store, person, noon)
    receipt = service.send_message(store, profile=person, body="Your order shipped", send_after=noon)
    assert [m.pk for m in run_gate(sim_sender, noon)] == [receipt.pk]  # transactional texts aren't capped
    fourth.refresh_from_db()
    assert (fourth.status, fourth.hold_rule) == (Status.SUPPRESSED, rule)
    assert "3 marketing texts in the last 24 h already" in fourth.status_reason


def test_the_messages_api_shows_the_hold(api, store, sim_sender):
    message = marketing(store, customer(store, "+12145550123"), SUNDAY_MORNING)
    run_gate(sim_sender, SUNDAY_MORNING)
    listed = api.get("/api/v1/messages").json()["items"][0]
    assert listed["id"] == message.pk and listed["status"] == "queued"
    assert listed["hold_rule"] == SB140
    assert listed["status_reason"] == "held until 12:00 America/Chicago (quiet hours, Texas SB 140)"
    assert listed["held_until"].startswith("2026-06-14T17:00:00")
    assert listed["held_until_local"] == [{"timezone": "America/Chicago", "local": "2026-06-14T12:00:00-05:00"}]
    one = api.get(f"/api/v1/messages/{message.pk}").json()
    assert one["hold_rule"] == SB140 and one["held_until_local"] == listed["held_until_local"]
    # Not held: no rule, no time.
    plain = service.send_message(store, to="+12125550177", body="Order confirmed")
    body = api.get(f"/api/v1/messages/{plain.pk}").json()
    assert (body["hold_rule"], body["held_until"], body["held_until_local"]) == ("", None, [])


def test_the_message_page_says_held_until_instead_of_queued(owner_client, store, sim_sender):
    message = marketing(store, customer(store, "+12145550123"), SUNDAY_MORNING)
    run_gate(sim_sender, SUNDAY_MORNING)
    html = owner_client.get(reverse("delivery:message", args=[message.pk])).content.decode()
    assert 'id="held-pill">Held until Sun Jun 14, 12:00 America/Chicago</span>' in html
    assert "held until 12:00 America/Chicago (quiet hours, Texas SB 140)" in html
    assert f'<dd class="mono">{SB140}</dd>' in html
    assert "the compliance gate holds it" in html
    head = html[html.index('class="title-with-pill"'):html.index("</h1>") + 200]
    assert ">Queued<" not in head


# --- sendability -----------------------------------------------------------------------------

@pytest.fixture
def at(monkeypatch):
    def freeze(moment):
        monkeypatch.setattr(sendability, "_now", lambda: moment)
    return freeze


def test_sendability_says_when_and_why(api, store, sim_sender, at):
    tex = customer(store, "+12145550123")
    at(SUNDAY_MORNING)
    answer = api.get(f"/api/v1/profiles/{tex.pk}/sendability")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["sendable"], body["action"], body["rule"]) == (False, "defer", SB140)
    assert body["reason"] == "held until 12:00 America/Chicago (quiet hours, Texas SB 140)"
    assert body["at"].startswith("2026-06-14T17:00:00")
    assert body["local_times"] == [{"timezone": "America/Chicago", "local": "2026-06-14T12:00:00-05:00"}]
    assert body["jurisdictions"] == ["US-TX"] and body["profile_id"] == tex.pk
    at(SUNDAY_NOON)
    now = api.get(f"/api/v1/profiles/{tex.pk}/sendability").json()
    assert (now["sendable"], now["action"], now["rule"], now["reason"]) == (True, "send", "", "")
    assert now["at"].startswith("2026-06-14T17:00:00")
    assert not Message.objects.exists()  # asking sends and stores nothing


def test_sendability_uses_the_persons_history_and_consent(api, store, sim_sender, at):
    at(SUNDAY_NOON)
    tex = customer(store, "+12145550123")
    earlier = marketing(store, tex, SUNDAY_NOON)
    Message.objects.filter(pk=earlier.pk).update(status=Status.DELIVERED, sent_at=SUNDAY_NOON - dt.timedelta(hours=2))
    body = api.get(f"/api/v1/profiles/{tex.pk}/sendability").json()
    assert (body["action"], body["rule"], body["at"], body["local_times"]) == ("suppress", "smart_sending", None, [])
    assert "2 h ago" in body["reason"]
    gone = customer(store, "+12125550111", ConsentStatus.UNSUBSCRIBED)
    body = api.get(f"/api/v1/profiles/{gone.pk}/sendability").json()
    assert (body["sendable"], body["rule"], body["reason"]) == (False, "opted_out", "not sent: the recipient opted out")
    never = customer(store, "+12125550112", ConsentStatus.NEVER)
    assert api.get(f"/api/v1/profiles/{never.pk}/sendability").json()["rule"] == "no_consent"
    emailed = profiles.create_profile(store, email="ann@example.com")
    assert api.get(f"/api/v1/profiles/{emailed.pk}/sendability").json()["rule"] == "no_phone"


def test_sendability_counts_todays_spend(api, store, sim_sender, at):
    at(SUNDAY_NOON)
    ann = customer(store, "+12125550123", timezone="America/New_York")
    service.update_compliance_settings(store, daily_spend_cap="0.02")  # room for one text of 0.011, not two
    assert api.get(f"/api/v1/profiles/{ann.pk}/sendability").json()["action"] == "send"
    earlier = SUNDAY_NOON - dt.timedelta(minutes=5)
    spent = service.send_message(store, profile=ann, body="Your order shipped", send_after=earlier)
    assert spent.estimated_cost == Decimal("0.011")
    handed = run_gate(sim_sender, earlier)  # the dispatcher hands it over at 11:55 and the store's counter adds its cost
    assert [m.pk for m in handed] == [spent.pk]
    claims.record_results(handed[0].lease_owner, {spent.pk: handed[0]},
                          [SendResult(spent.pk, Outcome.ACCEPTED, provider_message_id="SM1")], "sim", now=earlier)
    body = api.get(f"/api/v1/profiles/{ann.pk}/sendability").json()
    assert (body["action"], body["rule"]) == ("defer", "spend_cap")
    assert body["at"].startswith("2026-06-15T12:00:00")  # the budget is back at midnight, the window opens at 8:00


def test_another_stores_profile_is_404(api, other_api, store, at):
    at(SUNDAY_NOON)
    tex = customer(store, "+12145550123")
    assert other_api.get(f"/api/v1/profiles/{tex.pk}/sendability").status_code == 404
    assert api.get("/api/v1/profiles/999999/sendability").status_code == 404
    assert api.get(f"/api/v1/profiles/{tex.pk}/sendability").status_code == 200
