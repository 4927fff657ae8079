"""Properties of the compliance gate over 10,000 generated cases: nothing is ever decided
SEND for an opted-out recipient (keyword replies aside) or for marketing outside the hours
that the store's window and every state or country rule that may apply allow in every zone
the recipient may be in; every DEFER waits until a moment that is itself allowed; and a case
that breaks no rule is sent (the oracle, gate_oracle.py, predicts the action of every case, so
a gate that sends nothing fails too). The oracle is written independently of gate.py's
search: it reads only the rules table's data."""
import datetime as dt
from decimal import Decimal

from gate_oracle import expected_action, jurisdictions_of, marketing_allowed_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textpilot.delivery import gate

UTC = dt.timezone.utc
# Numbers whose possible zones span a few hours at most (a common sending window exists)…
PHONES = ["+12125550123", "+13055550123", "+18505550123", "+13865550123", "+18085550123", "+19075550123",
          "+13125550123", "+12085550123", "+14165550123", "+12505550123", "+33612345678", "+33123456789",
          "+4915112345678", "+447400123456", "+61412345678", "+5511912345678", "+15555550123",
          # one number of every state with rules (El Paso's 915 is Mountain; 689 and 448 need the zone fixes)
          "+12145550123", "+19155550123", "+14055550123", "+14105550123", "+12065550123", "+12035550123",
          "+12015550123", "+16895550123", "+14485550123"]
# …and numbers that may be anywhere from UTC-11 to UTC+12 (US toll-free, Russia): no hour is
# fine everywhere, so for them the property is only that nothing is sent.
SPREAD_PHONES = ["+18005550123", "+79123456789"]
ZONES = ["", "America/New_York", "America/Los_Angeles", "Europe/Paris", "Asia/Tokyo", "Australia/Lord_Howe",
         "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "America/Santiago", "Not/AZone"]
STORE_ZONES = ["America/New_York", "Europe/Paris", "Europe/Berlin", "Australia/Sydney", "America/Santiago", "UTC"]
# The profile's address state (only US addresses count) and country.
REGIONS = ["", "", "TX", "FL", "OK", "CT", "NJ", "NY", "CA"]
ADDRESS_COUNTRIES = ["", "US", "CA"]
# Around DST changes in the US, Europe, Australia and Chile, the day Texas SB 140 took
# effect (a Monday after a Sunday), plus anywhere in four years.
DST_EDGES = [dt.datetime(2026, 3, 8, 7, tzinfo=UTC), dt.datetime(2026, 11, 1, 6, tzinfo=UTC),
             dt.datetime(2026, 3, 29, 1, tzinfo=UTC), dt.datetime(2026, 10, 25, 1, tzinfo=UTC),
             dt.datetime(2026, 4, 4, 16, tzinfo=UTC), dt.datetime(2026, 9, 6, 4, tzinfo=UTC),
             dt.datetime(2025, 9, 1, 5, tzinfo=UTC)]

# Cheap draws only (integers, sampled_from): 10,000 cases must stay quick.
EPOCH, SPAN_MINUTES = dt.datetime(2025, 1, 1, tzinfo=UTC), 4 * 366 * 24 * 60
moments = st.one_of(
    st.integers(0, SPAN_MINUTES * 60).map(lambda s: EPOCH + dt.timedelta(seconds=s)),
    st.builds(lambda edge, minutes: edge + dt.timedelta(minutes=minutes), st.sampled_from(DST_EDGES),
              st.integers(-36 * 60, 36 * 60)),
)
COUNTRY_SETS = [frozenset(), frozenset({"US"}), frozenset({"US", "CA"}), frozenset({"FR"}), frozenset({"DE", "FR", "GB"}),
                frozenset({"US", "CA", "FR", "DE", "GB", "AU", "BR", "RU"})]
# Quiet hours a store would set: the allowed part starts between 5:00 and 10:00 and ends
# between 18:00 and midnight (windows past midnight have their own example tests).
OPENINGS = [dt.time(h, m) for h in range(5, 10) for m in (0, 15, 30, 45)]
CLOSINGS = [dt.time(h, m) for h in range(18, 24) for m in (0, 15, 30, 45)]
NO_VALUE = [None]


def combos(*choices):
    """One integer drawn per group of choices, decoded digit by digit (mixed radix): far
    fewer draws than one per field, and shrinking still moves each field to its first choice."""
    sizes = [len(c) for c in choices]
    total = 1
    for size in sizes:
        total *= size

    def decode(number):
        picked = []
        for options, size in zip(choices, sizes):
            number, index = divmod(number, size)
            picked.append(options[index])
        return picked

    return st.integers(0, total - 1).map(decode)


@st.composite
def cases(draw):
    zone, country, opens, closes, smart, countries, cap = draw(combos(
        STORE_ZONES, ["US", "FR", "DE"], OPENINGS, CLOSINGS, [0, 1, 16, 24, 72], COUNTRY_SETS, NO_VALUE + list(range(0, 2001, 7))))
    rules = gate.Rules(store_timezone=zone, store_country=country, quiet_start=closes, quiet_end=opens,
                       smart_sending_hours=smart, allowed_countries=countries,
                       daily_spend_cap=None if cap is None else Decimal(cap) / 100)
    now = draw(moments)
    minutes_ago, count_24h, spent = draw(combos(NO_VALUE + list(range(0, 100 * 60, 7)), range(6), range(0, 2501)))
    history = gate.History(last_marketing_at=None if minutes_ago is None else now - dt.timedelta(minutes=minutes_ago),
                           marketing_last_24h=count_24h, store_spend_today=Decimal(spent) / 100)
    phone, status, own_zone, kind, origin, cost, region, address_country = draw(combos(
        PHONES + SPREAD_PHONES, ["never", "pending", "subscribed", "unsubscribed"], ZONES, ["marketing", "transactional"],
        ["campaign", "flow", "api", "keyword_reply", "inbox", "test"], NO_VALUE + list(range(0, 101)), REGIONS,
        ADDRESS_COUNTRIES))
    if not phone.startswith("+1"):
        address_country = ""  # a US address of a number abroad may leave no common hour at all
    return dict(kind=kind, origin=origin, cost=None if cost is None else Decimal(cost) / 100,
                recipient=gate.Recipient(phone=phone, sms_status=status, timezone=own_zone, region=region,
                                         address_country=address_country),
                rules=rules, history=history, now=now)


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_gate_never_sends_what_it_must_not_and_defers_to_allowed_moments(case):
    decision = gate.decide(**case)
    recipient, rules, now = case["recipient"], case["rules"], case["now"]
    keyword_reply = case["origin"] == "keyword_reply"
    marketing = case["kind"] == "marketing" and not keyword_reply

    # What should be sent is sent, and what must not be is not (the oracle names the action).
    assert decision.action == expected_action(case), decision
    if decision.action == gate.SEND and not keyword_reply:
        assert recipient.sms_status != "unsubscribed"
        if marketing:
            assert recipient.sms_status == "subscribed"
            assert marketing_allowed_at(now, recipient, rules), "marketing sent inside quiet hours"
    if decision.action != gate.SEND:
        assert decision.rule and decision.reason  # every stop is explained

    if decision.action == gate.DEFER:
        assert decision.until is not None and decision.until > now
        assert decision.reason.startswith("held until ")
        if decision.rule == "spend_cap":
            store_midnight = gate.local_day_start(decision.until, rules.store_timezone)
            assert decision.until == store_midnight or marketing
        if marketing and recipient.phone not in SPREAD_PHONES:
            assert marketing_allowed_at(decision.until, recipient, rules), "deferred to a moment that is not allowed"
            # The gate's own search agrees that the moment is open.
            hours = gate.sending_hours(recipient, rules)
            assert gate.next_allowed_time(decision.until, hours) == decision.until
        if decision.rule.startswith("quiet_hours:"):
            assert not marketing_allowed_at(now, recipient, rules)
            # …and it waits no longer than it must: a minute earlier was still closed.
            earlier = decision.until - dt.timedelta(minutes=1)
            if recipient.phone not in SPREAD_PHONES and earlier > now:
                assert not marketing_allowed_at(earlier, recipient, rules), "deferred longer than needed"
            held_by = decision.rule.removeprefix("quiet_hours:")
            assert held_by == gate.STORE_WINDOW or held_by.split("@")[0] in jurisdictions_of(recipient)
