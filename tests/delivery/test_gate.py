"""The compliance gate, case by case: consent, quiet hours in the recipient's zone(s),
transactional exemption, smart sending, Florida, France, country allowlist, daily spend cap
and DST edges. `gate.decide` is pure: no database, real time zones and holidays."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from textpilot.delivery import gate
from textpilot.delivery.gate import DEFER, SEND, SUPPRESS

UTC = dt.timezone.utc
NEW_YORK, PARIS, LOS_ANGELES = ZoneInfo("America/New_York"), ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles")
NY_PHONE = "+12125550123"
MIAMI_PHONE = "+13055550123"  # area code 305: Florida
PARIS_PHONE = "+33612345678"
BERLIN_PHONE = "+4915112345678"
ALASKA_PHONE = "+19075550123"  # America/Adak (UTC-10) or America/Anchorage (UTC-9)
NO_ZONE_PHONE = "+15555550123"  # not a real area code: no zone known


def local(zone, *args) -> dt.datetime:
    """A wall-clock time in `zone`, as the aware UTC moment the gate works with."""
    return dt.datetime(*args, tzinfo=zone).astimezone(UTC)


def rules(**overrides) -> gate.Rules:
    fields = dict(store_timezone="America/New_York", store_country="US", quiet_start=dt.time(21, 0),
                  quiet_end=dt.time(8, 0), smart_sending_hours=16, allowed_countries=frozenset(), daily_spend_cap=None)
    fields.update(overrides)
    return gate.Rules(**fields)


def decide(*, now, kind="marketing", origin="campaign", phone=NY_PHONE, status="subscribed", timezone="", cost=None,
           history=gate.History(), **rule_overrides) -> gate.Decision:
    return gate.decide(kind=kind, origin=origin, cost=cost, recipient=gate.Recipient(phone, status, timezone),
                       rules=rules(**rule_overrides), history=history, now=now)


NOON_NY = local(NEW_YORK, 2026, 6, 10, 12, 0)  # a Wednesday
NIGHT_NY = local(NEW_YORK, 2026, 6, 10, 23, 30)


# --- consent ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["marketing", "transactional"])
@pytest.mark.parametrize("origin", ["campaign", "flow", "api", "inbox", "test"])
def test_unsubscribed_is_suppressed_for_every_kind_and_origin(kind, origin):
    decision = decide(now=NOON_NY, kind=kind, origin=origin, status="unsubscribed")
    assert decision.action == SUPPRESS and decision.reason.startswith("opted_out")


@pytest.mark.parametrize("kind", ["marketing", "transactional"])
def test_keyword_reply_goes_to_an_unsubscribed_number_at_any_hour(kind):
    # The STOP confirmation itself: unsubscribed, at night, and the number's country not allowed.
    assert decide(now=NIGHT_NY, kind=kind, origin="keyword_reply", status="unsubscribed").action == SEND
    assert decide(now=NIGHT_NY, kind=kind, origin="keyword_reply", status="unsubscribed", phone=BERLIN_PHONE).action == SEND


@pytest.mark.parametrize("status", ["never", "pending"])
def test_marketing_needs_a_subscribed_recipient(status):
    decision = decide(now=NOON_NY, status=status)
    assert decision.action == SUPPRESS and decision.reason.startswith("no_consent")
    assert decide(now=NOON_NY, status=status, kind="transactional").action == SEND
    assert decide(now=NOON_NY, status="subscribed").action == SEND


# --- quiet hours --------------------------------------------------------------------------

def test_marketing_at_night_waits_for_the_next_morning_in_the_recipients_zone():
    decision = decide(now=NIGHT_NY)
    assert decision.action == DEFER and decision.reason.startswith("quiet_hours")
    assert decision.until == local(NEW_YORK, 2026, 6, 11, 8, 0)
    early = decide(now=local(NEW_YORK, 2026, 6, 10, 7, 59))
    assert early.action == DEFER and early.until == local(NEW_YORK, 2026, 6, 10, 8, 0)
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 8, 0)).action == SEND
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 20, 59)).action == SEND
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 21, 0)).action == DEFER


def test_store_quiet_hours_are_used():
    decision = decide(now=local(NEW_YORK, 2026, 6, 10, 9, 30), quiet_end=dt.time(10, 0), quiet_start=dt.time(18, 0))
    assert decision.until == local(NEW_YORK, 2026, 6, 10, 10, 0)
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 18, 0), quiet_end=dt.time(10, 0), quiet_start=dt.time(18, 0)).until \
        == local(NEW_YORK, 2026, 6, 11, 10, 0)


def test_quiet_hours_that_end_after_midnight_start_the_window_the_evening_before():
    # Quiet 01:00–06:00 leaves 06:00 → 01:00 the next day allowed.
    kwargs = dict(quiet_start=dt.time(1, 0), quiet_end=dt.time(6, 0))
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 23, 30), **kwargs).action == SEND
    assert decide(now=local(NEW_YORK, 2026, 6, 11, 0, 59), **kwargs).action == SEND
    late = decide(now=local(NEW_YORK, 2026, 6, 11, 1, 0), **kwargs)
    assert late.action == DEFER and late.until == local(NEW_YORK, 2026, 6, 11, 6, 0)


def test_the_profiles_own_zone_wins_over_the_numbers():
    # A New York number whose owner lives in Los Angeles: 9:00 in New York is 6:00 there.
    decision = decide(now=local(NEW_YORK, 2026, 6, 10, 9, 0), timezone="America/Los_Angeles")
    assert decision.action == DEFER and decision.until == local(LOS_ANGELES, 2026, 6, 10, 8, 0)
    # An unknown zone name on the profile falls back to the number's zone.
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 9, 0), timezone="Mars/Olympus_Mons").action == SEND


def test_a_number_in_several_zones_is_texted_only_when_it_is_fine_in_all_of_them():
    assert gate.recipient_timezones(gate.Recipient(ALASKA_PHONE, "subscribed"), rules()) == ("America/Adak", "America/Anchorage")
    anchorage, adak = ZoneInfo("America/Anchorage"), ZoneInfo("America/Adak")
    # 8:30 in Anchorage is 7:30 on Adak: wait for Adak's 8:00.
    decision = decide(now=local(anchorage, 2026, 6, 10, 8, 30), phone=ALASKA_PHONE)
    assert decision.action == DEFER and decision.until == local(adak, 2026, 6, 10, 8, 0)
    # 20:30 on Adak is 21:30 in Anchorage: too late there, so the next morning on Adak.
    decision = decide(now=local(adak, 2026, 6, 10, 20, 30), phone=ALASKA_PHONE)
    assert decision.action == DEFER and decision.until == local(adak, 2026, 6, 11, 8, 0)
    assert decide(now=local(adak, 2026, 6, 10, 12, 0), phone=ALASKA_PHONE).action == SEND


def test_a_number_without_a_known_zone_uses_the_stores():
    recipient = gate.Recipient(NO_ZONE_PHONE, "subscribed")
    assert gate.recipient_timezones(recipient, rules(store_timezone="Europe/Berlin")) == ("Europe/Berlin",)
    assert gate.recipient_timezones(gate.Recipient(NO_ZONE_PHONE, "subscribed", "Asia/Tokyo"), rules()) == ("Asia/Tokyo",)


def test_transactional_texts_are_exempt_from_quiet_hours():
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 3, 0), kind="transactional", origin="api").action == SEND
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 3, 0), kind="transactional", origin="api", phone=MIAMI_PHONE).action == SEND


# --- smart sending and Florida -------------------------------------------------------------

def test_smart_sending_skips_a_second_marketing_text_within_the_window():
    recent = gate.History(last_marketing_at=NOON_NY - dt.timedelta(hours=15, minutes=59))
    decision = decide(now=NOON_NY, history=recent)
    assert decision.action == SUPPRESS and decision.reason.startswith("smart_sending")
    assert decide(now=NOON_NY, history=gate.History(last_marketing_at=NOON_NY - dt.timedelta(hours=16))).action == SEND
    assert decide(now=NOON_NY, history=recent, smart_sending_hours=0).action == SEND
    assert decide(now=NOON_NY, history=recent, kind="transactional").action == SEND


def test_florida_numbers_get_8_to_20_and_three_marketing_texts_a_day():
    miami = dict(phone=MIAMI_PHONE, smart_sending_hours=0)
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 19, 59), **miami).action == SEND
    evening = decide(now=local(NEW_YORK, 2026, 6, 10, 20, 0), **miami)
    assert evening.action == DEFER and evening.until == local(NEW_YORK, 2026, 6, 11, 8, 0)
    # A New York number at the same moment is still inside the store's 8–21.
    assert decide(now=local(NEW_YORK, 2026, 6, 10, 20, 0), smart_sending_hours=0).action == SEND
    assert decide(now=NOON_NY, history=gate.History(marketing_last_24h=2), **miami).action == SEND
    capped = decide(now=NOON_NY, history=gate.History(marketing_last_24h=3), **miami)
    assert capped.action == SUPPRESS and capped.reason.startswith("florida_limit")
    # The cap is Florida's: a New York number may get a fourth.
    assert decide(now=NOON_NY, history=gate.History(marketing_last_24h=3), smart_sending_hours=0).action == SEND


# --- France ------------------------------------------------------------------------------

FRENCH_STORE = dict(store_timezone="Europe/Paris", store_country="FR", phone=PARIS_PHONE, quiet_start=dt.time(23, 0))


def test_france_no_sundays():
    sunday = decide(now=local(PARIS, 2026, 6, 14, 11, 0), **FRENCH_STORE)
    assert sunday.action == DEFER and sunday.until == local(PARIS, 2026, 6, 15, 8, 0)
    saturday_night = decide(now=local(PARIS, 2026, 6, 13, 22, 30), **FRENCH_STORE)
    assert saturday_night.until == local(PARIS, 2026, 6, 15, 8, 0)


def test_france_no_public_holidays_and_8_to_22():
    bastille_day = decide(now=local(PARIS, 2026, 7, 14, 10, 0), **FRENCH_STORE)  # a Tuesday
    assert bastille_day.action == DEFER and bastille_day.until == local(PARIS, 2026, 7, 15, 8, 0)
    # Saturday night before Easter: Sunday and Easter Monday are both closed.
    easter = decide(now=local(PARIS, 2026, 4, 4, 22, 30), **FRENCH_STORE)
    assert easter.until == local(PARIS, 2026, 4, 7, 8, 0)
    # 22:00 is France's limit even though the store allows until 23:00.
    assert decide(now=local(PARIS, 2026, 6, 10, 21, 59), **FRENCH_STORE).action == SEND
    assert decide(now=local(PARIS, 2026, 6, 10, 22, 0), **FRENCH_STORE).until == local(PARIS, 2026, 6, 11, 8, 0)
    # Transactional texts still go on a Sunday.
    assert decide(now=local(PARIS, 2026, 6, 14, 11, 0), kind="transactional", **FRENCH_STORE).action == SEND


# --- countries and spend ------------------------------------------------------------------

def test_country_allowlist():
    refused = decide(now=NOON_NY, kind="transactional", phone=BERLIN_PHONE)
    assert refused.action == SUPPRESS and refused.reason.startswith("country_not_allowed: DE")
    assert decide(now=NOON_NY, kind="transactional", phone=BERLIN_PHONE, allowed_countries=frozenset({"US", "DE"})).action == SEND
    assert decide(now=NOON_NY, kind="transactional", allowed_countries=frozenset({"DE"})).action == SUPPRESS
    assert decide(now=NOON_NY, kind="transactional", phone=NO_ZONE_PHONE).reason.startswith("country_not_allowed: unknown")


def test_daily_spend_cap_defers_to_the_stores_next_midnight():
    spent = gate.History(store_spend_today=Decimal("9.99"))
    over = decide(now=NOON_NY, kind="transactional", cost=Decimal("0.02"), history=spent, daily_spend_cap=Decimal("10"))
    assert over.action == DEFER and over.reason.startswith("daily_spend_cap")
    assert over.until == local(NEW_YORK, 2026, 6, 11, 0, 0)
    exactly = decide(now=NOON_NY, kind="transactional", cost=Decimal("0.01"), history=spent, daily_spend_cap=Decimal("10"))
    assert exactly.action == SEND
    # A marketing text over the cap waits for the budget *and* the sending hours.
    marketing = decide(now=NOON_NY, cost=Decimal("0.02"), history=spent, daily_spend_cap=Decimal("10"))
    assert marketing.action == DEFER and marketing.until == local(NEW_YORK, 2026, 6, 11, 8, 0)
    # The store's midnight, not the recipient's.
    paris_store = decide(now=NOON_NY, kind="transactional", cost=Decimal("0.02"), history=spent,
                         daily_spend_cap=Decimal("10"), store_timezone="Europe/Paris")
    assert paris_store.until == local(PARIS, 2026, 6, 11, 0, 0)


# --- DST --------------------------------------------------------------------------------

def test_spring_forward_morning_opens_at_8_local_daylight_time():
    # 2026-03-08: New York moves from EST (UTC-5) to EDT (UTC-4) at 2:00.
    night_before = decide(now=local(NEW_YORK, 2026, 3, 7, 22, 0))
    assert night_before.until == dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 8:00 EDT, not 8:00 EST (13:00 UTC)
    assert decide(now=dt.datetime(2026, 3, 8, 11, 59, tzinfo=UTC)).action == DEFER
    assert decide(now=dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)).action == SEND


def test_fall_back_morning_opens_at_8_local_standard_time():
    # 2026-11-01: back to EST at 2:00; 8:00 is 13:00 UTC.
    night_before = decide(now=local(NEW_YORK, 2026, 10, 31, 22, 0))
    assert night_before.until == dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert decide(now=dt.datetime(2026, 11, 1, 12, 30, tzinfo=UTC)).action == DEFER  # 7:30 EST


def test_window_opening_inside_the_spring_forward_gap_resolves_after_the_gap():
    # Quiet hours ending at 2:30, which does not exist on 2026-03-08 in New York.
    decision = decide(now=local(NEW_YORK, 2026, 3, 8, 1, 0), quiet_end=dt.time(2, 30), quiet_start=dt.time(23, 0))
    assert decision.action == DEFER
    opening = decision.until.astimezone(NEW_YORK)
    assert opening.date() == dt.date(2026, 3, 8) and opening.hour == 3  # EDT, right after the gap
    assert decide(now=decision.until, quiet_end=dt.time(2, 30), quiet_start=dt.time(23, 0)).action == SEND


def test_europe_dst_weekend_in_france():
    # 2026-03-29 is both a Sunday and Europe's spring-forward: Monday 8:00 CEST (06:00 UTC).
    decision = decide(now=local(PARIS, 2026, 3, 28, 22, 30), **FRENCH_STORE)
    assert decision.until == dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


def test_spend_cap_midnight_on_a_dst_day():
    spent = gate.History(store_spend_today=Decimal("10"))
    decision = decide(now=local(NEW_YORK, 2026, 3, 7, 23, 0), kind="transactional", cost=Decimal("0.01"), history=spent,
                      daily_spend_cap=Decimal("10"))
    assert decision.until == dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # midnight EST
