"""End to end, 200 generated cases: send_message → dispatch_until_idle → the sim carrier.
Each case ends as the gate oracle (gate_oracle.py, independent of gate.py) says it must at
that moment: sent once if no rule stops it (so a dispatcher that sends nothing fails),
suppressed or deferred to a later moment otherwise; nothing reaches the carrier (a
SimDelivery row) for an opted-out profile (keyword replies aside) or for marketing outside
the sending hours of the recipient's local time."""
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from gate_oracle import expected_action
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textpilot.delivery import gate, service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import Message, SimDelivery, Status
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus

# Every whole-hour offset: whatever the time of the run, some profiles are in their night.
OFFSET_ZONES = ["UTC"] + [f"Etc/GMT{sign}{h}" for h in range(1, 12) for sign in "+-"]
NUMBERS = itertools.count()  # a new customer per case (consent evidence can't be deleted)


@pytest.mark.django_db(transaction=True)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(status=st.sampled_from(list(ConsentStatus.values)), zone=st.sampled_from(OFFSET_ZONES),
       kind=st.sampled_from(["marketing", "transactional"]),
       origin=st.sampled_from(["campaign", "flow", "api", "keyword_reply", "inbox"]),
       quiet=st.sampled_from([(21, 8), (20, 9), (22, 7), (23, 10)]))
def test_what_should_go_goes_and_nothing_reaches_the_carrier_for_opted_out_or_sleeping_recipients(store, sim_sender, status, zone, kind, origin, quiet):
    SimDelivery.objects.all().delete()
    Message.objects.all().delete()
    service.update_compliance_settings(store, quiet_hours_start=dt.time(quiet[0]), quiet_hours_end=dt.time(quiet[1]),
                                       smart_sending_hours=0)
    profile = profiles.create_profile(store, phone=f"+1212555{next(NUMBERS) % 10_000:04d}", timezone=zone)
    if status != ConsentStatus.NEVER:
        profiles.record_consent(store, profile, status, source="test")
    message = service.send_message(store, profile=profile, body="Hello from Acme", kind=kind, origin=origin)
    profile.refresh_from_db()
    case = dict(kind=kind, origin=origin, cost=message.estimated_cost, now=timezone.now(), history=gate.History(),
                rules=gate.Rules(store_timezone=store.timezone, store_country=store.country, quiet_start=dt.time(quiet[0]),
                                 quiet_end=dt.time(quiet[1]), smart_sending_hours=0, allowed_countries=frozenset(),
                                 daily_spend_cap=None),
                recipient=gate.Recipient(phone=profile.phone, sms_status=profile.sms_status, timezone=profile.timezone,
                                         region=profile.region or "", address_country=profile.country or ""))
    wanted = {expected_action(case)}
    dispatch_until_idle(10)
    wanted.add(expected_action({**case, "now": timezone.now()}))  # two answers only if an hour turned meanwhile

    message.refresh_from_db()
    carrier = list(SimDelivery.objects.filter(client_ref=str(message.pk)))
    assert len(carrier) <= 1
    outcome = {Status.SUPPRESSED: gate.SUPPRESS, Status.QUEUED: gate.DEFER}.get(message.status, gate.SEND if carrier else None)
    assert outcome in wanted, (message.status, message.hold_rule, wanted)  # what should go went, what shouldn't didn't
    if not carrier:
        if message.status == Status.QUEUED:  # deferred to a later allowed moment, with its reason
            assert message.hold_rule.startswith("quiet_hours:") and message.send_after > case["now"]
        return
    assert message.status in (Status.SENT, Status.DELIVERED)
    if origin != "keyword_reply":
        assert status != ConsentStatus.UNSUBSCRIBED
        if kind == "marketing":
            assert status == ConsentStatus.SUBSCRIBED
            local = carrier[0].accepted_at.astimezone(ZoneInfo(zone)).time()
            # Handed over within sending hours (a minute of slack: accepted_at is stamped after the call).
            opened = dt.time(quiet[1])
            closed = (dt.datetime.combine(dt.date.today(), dt.time(quiet[0])) + dt.timedelta(minutes=1)).time()
            assert opened <= local < closed, f"marketing handed over at {local} local"
