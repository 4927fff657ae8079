"""The dispatcher against the sim carrier: retries with backoff, permanent failures,
priority, the circuit breaker and the rate limiter's schedule. Dispatcher tests use
transactional_db: it works from its own threads."""
import asyncio
import datetime as dt

import pytest
from django.utils import timezone

from textpilot.delivery import breaker as breaker_module
from textpilot.delivery import claims, gating, service
from textpilot.delivery.breaker import CircuitBreaker
from textpilot.delivery.dispatch import PACING_TICK_SECONDS, Dispatcher, dispatch_until_idle
from textpilot.delivery.models import DeliveryAttempt, Message, SimDelivery, Status
from textpilot.delivery.providers.base import OutgoingText, Outcome, SendResult
from textpilot.delivery.ratelimit import RateLimiter, rate_limiter_for
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus

pytestmark = pytest.mark.django_db(transaction=True)


def daytime_zone() -> str:
    """A zone where it is around noon now, so marketing in these tests is inside sending hours."""
    offset = (12 - timezone.now().hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def customers(store, count, status=ConsentStatus.SUBSCRIBED):
    zone = daytime_zone()
    made = []
    for i in range(count):
        profile = profiles.create_profile(store, phone=f"+1212555{i:04d}", timezone=zone)
        profiles.record_consent(store, profile, status, source="test")
        made.append(profile)
    return made


def set_options(sender, **options):
    sender.options = {**sender.options, **options}
    sender.save(update_fields=["options"])


def make_due(*messages):
    """Time passes: whatever waits for a retry is due now."""
    Message.objects.filter(status=Status.QUEUED).update(send_after=timezone.now())


def run_cycles(dispatcher: Dispatcher, sender, cycles: int = 1) -> list[int]:
    async def go():
        try:
            return [await dispatcher.dispatch_sender_once(sender) for _ in range(cycles)]
        finally:
            await dispatcher.close()

    return asyncio.run(go())


# --- retries --------------------------------------------------------------------------------

def test_transient_failures_are_retried_with_backoff_then_sent_once(store, sim_sender, subscribed):
    set_options(sim_sender, failure_rate=1.0)
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    before = timezone.now()
    dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1 and message.status_reason.startswith("retrying")
    # First retry waits 1–2 s (exponential backoff with jitter); nothing went to the carrier.
    assert before + dt.timedelta(seconds=1) <= message.send_after <= timezone.now() + dt.timedelta(seconds=2)
    assert not SimDelivery.objects.exists()

    make_due()
    dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.attempts == 2 and message.send_after >= timezone.now() + dt.timedelta(seconds=1)

    set_options(sim_sender, failure_rate=0.0)  # the carrier recovers
    make_due()
    dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.status in (Status.SENT, Status.DELIVERED) and message.attempts == 3
    assert SimDelivery.objects.filter(client_ref=str(message.pk)).count() == 1
    assert list(DeliveryAttempt.objects.filter(message=message).values_list("outcome", flat=True)) == \
        ["transient", "transient", "accepted"]


def test_transient_failures_give_up_after_the_last_attempt(store, sim_sender, subscribed):
    set_options(sim_sender, failure_rate=1.0)
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    for _ in range(claims.MAX_ATTEMPTS):
        make_due()
        dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.status == Status.FAILED and message.attempts == claims.MAX_ATTEMPTS
    assert message.status_reason.startswith(f"gave up after {claims.MAX_ATTEMPTS} attempts")


def test_backoff_grows_exponentially_up_to_a_ceiling_and_respects_retry_after():
    for attempt, (low, high) in {1: (1, 2), 2: (2, 4), 4: (8, 16)}.items():
        assert all(low <= claims.backoff_seconds(attempt) <= high for _ in range(50))
    assert claims.backoff_seconds(30) <= claims.BACKOFF_MAX_SECONDS
    assert claims.backoff_seconds(1, retry_after=120) == 120


def test_permanent_failure_is_not_retried_and_a_carrier_opt_out_unsubscribes(store, sim_sender, subscribed):
    first = service.send_message(store, profile=subscribed, body="One")
    second = service.send_message(store, profile=subscribed, body="Two")
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test")
    now = timezone.now()
    to_send = claims.apply_gate(token, claimed, gating.gate_batch(claimed, now), now)
    assert {m.pk for m in to_send} == {first.pk, second.pk}
    counts = claims.record_results(token, {m.pk: m for m in to_send}, [
        SendResult(first.pk, Outcome.PERMANENT, error="invalid number", error_code="21211"),
        SendResult(second.pk, Outcome.PERMANENT, error="unsubscribed recipient", error_code="21610", carrier_opt_out=True),
    ], "sim")
    assert counts == {"permanent": 2}
    first.refresh_from_db(), second.refresh_from_db(), subscribed.refresh_from_db()
    assert (first.status, first.error_code, first.attempts) == (Status.FAILED, "21211", 1)
    assert second.status == Status.FAILED and subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    dispatch_until_idle(10)  # nothing is due again
    assert Message.objects.filter(status=Status.FAILED).count() == 2 and not SimDelivery.objects.exists()


# --- priority -------------------------------------------------------------------------------

def test_keyword_replies_and_transactional_texts_jump_a_marketing_backlog(store, sim_sender):
    people = customers(store, 21)
    backlog = [service.send_message(store, profile=p, body="Sale! Reply STOP to opt out", kind="marketing", origin="campaign")
               for p in people[:20]]
    order = service.send_message(store, profile=people[20], body="Your order shipped")
    reply = service.send_message(store, profile=people[0], body="You are unsubscribed.", origin="keyword_reply", render=False)
    assert run_cycles(Dispatcher(batch_size=5), sim_sender) == [5]
    sent = set(SimDelivery.objects.values_list("client_ref", flat=True))
    assert {str(order.pk), str(reply.pk)} <= sent and len(sent) == 5
    assert sum(str(m.pk) in sent for m in backlog) == 3  # the oldest three of the backlog


# --- circuit breaker ------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def test_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(breaker_module, "time", clock)
    breaker = CircuitBreaker("sim", failure_threshold=5, failure_ratio=0.5, open_seconds=30, window=10)
    for ok in [True, False, True, False, False, False]:
        breaker.record(ok)
        assert breaker.state == "closed"
    breaker.record(False)  # 5 failures of 7
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state == "half-open" and breaker.allow()
    breaker.record(False)  # a failed trial opens it again for another period
    assert breaker.state == "open"
    clock.now += 30
    breaker.record(True)
    assert breaker.state == "closed" and breaker.allow()


def test_dispatcher_stops_calling_a_failing_provider_until_the_trial(monkeypatch, store, sim_sender):
    clock = Clock()
    monkeypatch.setattr(breaker_module, "time", clock)
    set_options(sim_sender, failure_rate=1.0)
    for person in customers(store, 30):
        service.send_message(store, profile=person, body="Your order shipped")
    dispatcher = Dispatcher(batch_size=30)

    async def scenario():
        try:
            assert await dispatcher.dispatch_sender_once(sim_sender) == 30  # 30 transient failures
            assert dispatcher._breaker("sim").state == "open"
            await dispatcher._db(make_due)
            assert await dispatcher.dispatch_sender_once(sim_sender) == 0  # open: nothing claimed
            assert await dispatcher._db(Message.objects.filter(status=Status.QUEUED, attempts=1).count) == 30
            clock.now += 31
            sender = await dispatcher._db(lambda: service.get_sender(store, sim_sender.pk))
            sender.options = {**sender.options, "failure_rate": 0.0}
            assert await dispatcher.dispatch_sender_once(sender) == 30  # the trial batch goes through
            assert dispatcher._breaker("sim").state == "closed"
        finally:
            await dispatcher.close()

    asyncio.run(scenario())
    assert Message.objects.filter(status__in=[Status.SENT, Status.DELIVERED]).count() == 30
    assert SimDelivery.objects.count() == 30


# --- rate limit -----------------------------------------------------------------------------

def test_rate_limiter_books_evenly_spaced_slots_without_bursts(monkeypatch):
    from textpilot.delivery import ratelimit

    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    limiter = RateLimiter(200)

    async def reserve(n):
        return [await limiter.reserve() for _ in range(n)]

    waits = asyncio.run(reserve(400))
    assert waits == pytest.approx([k / 200 for k in range(400)])  # 2 s of slots, 5 ms apart
    clock.now += 10  # idle for a while: no saved-up burst afterwards
    assert asyncio.run(reserve(3)) == pytest.approx([0, 0.005, 0.010])


def test_rate_limiter_makes_up_a_short_stall_so_the_rate_holds(monkeypatch):
    from textpilot.delivery import ratelimit

    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    limiter = RateLimiter(1000)

    async def reserve(n):
        return [await limiter.reserve() for _ in range(n)]

    asyncio.run(reserve(100))  # slots up to 0.1 s booked
    clock.now += 0.15  # the loop was busy with the database 50 ms past the last slot
    waits = asyncio.run(reserve(100))
    assert waits[0] == 0 and sum(1 for w in waits if w == 0) == 51  # the missed 50 ms go out at once…
    assert waits[-1] == pytest.approx(0.049)  # …and the schedule continues where it was: 1,000/s kept
    clock.now += ratelimit.CATCH_UP_SECONDS + 0.2  # a real pause: the schedule restarts from now
    assert asyncio.run(reserve(2)) == pytest.approx([0, 0.001])


def test_each_of_several_workers_gets_its_share_of_the_senders_rate(monkeypatch, store, sim_sender):
    monkeypatch.setenv("TEXTPILOT_DISPATCH_WORKERS", "4")
    assert rate_limiter_for(sim_sender).rate == pytest.approx(sim_sender.rate_per_second / 4)


def test_texts_are_never_handed_over_ahead_of_the_limiters_schedule():
    """Whatever the load, a text leaves at most one pacing tick before its slot."""
    class Recorder:
        def __init__(self):
            self.calls = []

        async def send_batch(self, texts):
            self.calls.append((asyncio.get_running_loop().time(), len(texts)))
            return [SendResult(t.message_id, Outcome.ACCEPTED, provider_message_id=f"r{t.message_id}") for t in texts]

    rate, count = 1000, 300
    recorder, limiter = Recorder(), RateLimiter(rate)
    texts = [OutgoingText(message_id=i, store_id=1, to_phone="+12125550123", from_phone="+14155550100", body="x")
             for i in range(count)]

    async def go():
        dispatcher = Dispatcher()
        started = asyncio.get_running_loop().time()
        try:
            results = await dispatcher._send_paced(recorder, limiter, texts, CircuitBreaker("rec"))
        finally:
            await dispatcher.close()
        return started, results

    started, results = asyncio.run(go())
    assert len(results) == count
    handed = 0
    for at, size in recorder.calls:
        handed += size
        assert handed <= rate * (at - started + PACING_TICK_SECONDS) + 1, (handed, at - started)


# --- the last look before the provider call ------------------------------------------------

def test_a_stop_after_the_claim_holds_the_text_at_the_provider_call(store, sim_sender):
    ann, bob = customers(store, 2)
    to_ann = service.send_message(store, profile=ann, body="Acme: tents 20% off. Reply STOP to opt out", kind="marketing")
    to_bob = service.send_message(store, profile=bob, body="Acme: tents 20% off. Reply STOP to opt out", kind="marketing")
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test")
    now, checks = timezone.now(), {}
    to_send = claims.apply_gate(token, claimed, gating.gate_batch(claimed, now, checks), now)
    assert {m.pk for m in to_send} == {to_ann.pk, to_bob.pk}  # both passed the gate at claim time…
    profiles.record_consent(store, ann, ConsentStatus.UNSUBSCRIBED, "inbound_keyword", keyword="STOP", basis="observed")
    held = gating.recheck_before_call(token, to_send, checks)  # …but Ann texted STOP while they waited
    assert held == {to_ann.pk}
    to_ann.refresh_from_db(), to_bob.refresh_from_db()
    assert (to_ann.status, to_ann.lease_owner) == (Status.SUPPRESSED, "")
    assert (to_ann.hold_rule, to_ann.status_reason) == ("opted_out", "not sent: the recipient opted out")
    assert to_bob.status == Status.SENDING  # still ours to send


def test_dispatcher_never_hands_over_a_text_whose_recipient_stopped_meanwhile(store, sim_sender):
    """Through the real pacing loop: the STOP lands while the batch is being paced out."""
    people = customers(store, 12)
    set_options(sim_sender, latency_ms=0)
    sim_sender.rate_per_second = 20
    sim_sender.save()
    messages = [service.send_message(store, profile=p, body="Acme: sale. Reply STOP to opt out", kind="marketing")
                for p in people]
    late = people[-4:]  # paced out last, ~0.4 s after the first

    async def run():
        dispatcher = Dispatcher()
        try:
            sending = asyncio.create_task(dispatcher.dispatch_sender_once(sim_sender))
            await asyncio.sleep(0.15)
            for person in late:
                await asyncio.to_thread(profiles.record_consent, store, person, ConsentStatus.UNSUBSCRIBED,
                                        "inbound_keyword", keyword="STOP", basis="observed")
            await sending
        finally:
            await dispatcher.close()

    asyncio.run(run())
    handed = set(SimDelivery.objects.values_list("to_phone", flat=True))
    assert handed == {p.phone for p in people[:-4]}
    statuses = dict(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("profile_id", "status"))
    assert {statuses[p.pk] for p in late} == {Status.SUPPRESSED}


def test_two_lanes_with_a_marketing_text_each_for_one_person_send_only_one(store, sim_sender):
    """Smart sending across lanes: both texts passed the gate at their own claim (neither saw
    the other yet); at the provider call the older one goes and the newer one is held."""
    ann, = customers(store, 1)
    flow_text = service.send_message(store, profile=ann, body="Acme: your cart misses you. Reply STOP to opt out", kind="marketing")
    campaign_text = service.send_message(store, profile=ann, body="Acme: sale today. Reply STOP to opt out", kind="marketing")
    lanes = []
    for _ in range(2):  # two lanes claim one each before either is marked sending
        token, claimed = claims.claim_due(sim_sender.pk, 1, "lane")
        checks, now = {}, timezone.now()
        lanes.append((token, claimed, gating.gate_batch(claimed, now, checks), checks, now))
    assert all(decisions[claimed[0].pk].action == "send" for _, claimed, decisions, _, _ in lanes)
    sending = [(token, claims.apply_gate(token, claimed, decisions, now), checks) for token, claimed, decisions, checks, now in lanes]
    held = set()
    for token, to_send, checks in reversed(sending):  # the newer one looks first: it still must not go
        held |= gating.recheck_before_call(token, to_send, checks)
    assert held == {campaign_text.pk}
    campaign_text.refresh_from_db(), flow_text.refresh_from_db()
    assert (campaign_text.status, campaign_text.hold_rule) == (Status.SUPPRESSED, "smart_sending")
    assert flow_text.status == Status.SENDING
