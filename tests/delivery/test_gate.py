"""The compliance gate, case by case: consent, quiet hours in the recipient's zone(s),
transactional exemption, smart sending, every state and country rule at its edges (the
strictest of all the places a number may be, versions by effective date, 24-hour caps),
country allowlist, daily spend cap, DST edges, and the words and rule name of every stop.
`gate.decide` is pure: no database, real time zones and holidays."""
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


def decide(*, now, kind="marketing", origin="campaign", phone=NY_PHONE, status="subscribed", timezone="", region="",
           address_country="", cost=None, history=gate.History(), **rule_overrides) -> gate.Decision:
    recipient = gate.Recipient(phone, status, timezone, region=region, address_country=address_country)
    return gate.decide(kind=kind, origin=origin, cost=cost, recipient=recipient, rules=rules(**rule_overrides),
                       history=history, now=now)


NOON_NY = local(NEW_YORK, 2026, 6, 10, 12, 0)  # a Wednesday
NIGHT_NY = local(NEW_YORK, 2026, 6, 10, 23, 30)


# --- consent ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["marketing", "transactional"])
@pytest.mark.parametrize("origin", ["campaign", "flow", "api", "inbox", "test"])
def test_unsubscribed_is_suppressed_for_every_kind_and_origin(kind, origin):
    decision = decide(now=NOON_NY, kind=kind, origin=origin, status="unsubscribed")
    assert decision.action == SUPPRESS and decision.rule == "opted_out"
    assert decision.reason == "not sent: the recipient opted out"


@pytest.mark.parametrize("kind", ["marketing", "transactional"])
def test_keyword_reply_goes_to_an_unsubscribed_number_at_any_hour(kind):
    # The STOP confirmation itself: unsubscribed, at night, and the number's country not allowed.
    assert decide(now=NIGHT_NY, kind=kind, origin="keyword_reply", status="unsubscribed").action == SEND
    assert decide(now=NIGHT_NY, kind=kind, origin="keyword_reply", status="unsubscribed", phone=BERLIN_PHONE).action == SEND


@pytest.mark.parametrize("status", ["never", "pending"])
def test_marketing_needs_a_subscribed_recipient(status):
    decision = decide(now=NOON_NY, status=status)
    assert decision.action == SUPPRESS and decision.rule == "no_consent" and f"(consent is {status})" in decision.reason
    assert decide(now=NOON_NY, status=status, kind="transactional").action == SEND
    assert decide(now=NOON_NY, status="subscribed").action == SEND


# --- quiet hours --------------------------------------------------------------------------

def test_marketing_at_night_waits_for_the_next_morning_in_the_recipients_zone():
    decision = decide(now=NIGHT_NY)
    assert decision.action == DEFER and decision.rule == "quiet_hours:store"
    assert decision.reason == "held until 08:00 America/New_York (quiet hours, the store's sending window 08:00–21:00)"
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
    assert decision.action == SUPPRESS and decision.rule == "smart_sending"
    assert decision.reason == ("not sent: the recipient got a marketing text 15 h 59 min ago "
                               "(smart sending skips another within 16 h)")
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
    assert capped.action == SUPPRESS and capped.rule == "cap_24h:US-FL@2021-07-01"
    assert capped.reason == "not sent: 3 marketing texts in the last 24 h already (Florida FTSA allows 3)"
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
    assert refused.action == SUPPRESS and refused.rule == "country"
    assert refused.reason == ("not sent: the number is in Germany (DE), and the store only texts numbers in "
                              "United States (US); add DE to its allowed countries to text it")
    assert decide(now=NOON_NY, kind="transactional", phone=BERLIN_PHONE, allowed_countries=frozenset({"US", "DE"})).action == SEND
    assert decide(now=NOON_NY, kind="transactional", allowed_countries=frozenset({"DE"})).action == SUPPRESS
    assert "the number's country is unknown" in decide(now=NOON_NY, kind="transactional", phone=NO_ZONE_PHONE).reason
    many = decide(now=NOON_NY, kind="transactional", phone=BERLIN_PHONE,
                  allowed_countries=frozenset({"US", "CA", "GB", "FR", "ES", "MX"}))
    assert "numbers in Canada (CA), Spain (ES), France (FR), United Kingdom (GB) and 2 more;" in many.reason


def test_daily_spend_cap_defers_to_the_stores_next_midnight():
    spent = gate.History(store_spend_today=Decimal("9.99"))
    over = decide(now=NOON_NY, kind="transactional", cost=Decimal("0.02"), history=spent, daily_spend_cap=Decimal("10"))
    assert over.action == DEFER and over.rule == "spend_cap"
    assert over.reason == "held until 00:00 America/New_York (daily spend cap of 10 reached)"
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


# --- state and country rules (sending_rules.py), at their edges ---------------------------

CHICAGO, DENVER = ZoneInfo("America/Chicago"), ZoneInfo("America/Denver")
FL, OK, MD, WA = "+13055550123", "+14055550123", "+14105550123", "+12065550123"
CT, NJ, TX = "+12035550123", "+12015550123", "+12145550123"
FTSA, OTSA, MD_ACT = "US-FL@2021-07-01", "US-OK@2022-11-01", "US-MD@2024-01-01"
WA_RULE, CT_RULE, NJ_RULE, SB140 = "US-WA@2022-06-09", "US-CT@2023-10-01", "US-NJ@2004-01-01", "US-TX@2025-09-01"


@pytest.mark.parametrize("phone, zone, wall, action, rule, until", [
    # 8:00–20:00 every day: Florida, Oklahoma, Maryland, Washington (a Wednesday).
    (FL, NEW_YORK, (2026, 6, 10, 19, 59), SEND, "", None),
    (FL, NEW_YORK, (2026, 6, 10, 20, 0), DEFER, FTSA, (2026, 6, 11, 8, 0)),
    (OK, CHICAGO, (2026, 6, 10, 19, 59), SEND, "", None),
    (OK, CHICAGO, (2026, 6, 10, 20, 0), DEFER, OTSA, (2026, 6, 11, 8, 0)),
    (MD, NEW_YORK, (2026, 6, 10, 19, 59), SEND, "", None),
    (MD, NEW_YORK, (2026, 6, 10, 20, 0), DEFER, MD_ACT, (2026, 6, 11, 8, 0)),
    (WA, LOS_ANGELES, (2026, 6, 10, 19, 59), SEND, "", None),
    (WA, LOS_ANGELES, (2026, 6, 10, 20, 0), DEFER, WA_RULE, (2026, 6, 11, 8, 0)),
    # Connecticut opens an hour after the store's 8:00 and closes at 20:00.
    (CT, NEW_YORK, (2026, 6, 10, 8, 59), DEFER, CT_RULE, (2026, 6, 10, 9, 0)),
    (CT, NEW_YORK, (2026, 6, 10, 9, 0), SEND, "", None),
    (CT, NEW_YORK, (2026, 6, 10, 20, 0), DEFER, CT_RULE, (2026, 6, 11, 9, 0)),
    # New Jersey's 21:00 is the store's too: the law is named, not the store's window.
    (NJ, NEW_YORK, (2026, 6, 10, 20, 59), SEND, "", None),
    (NJ, NEW_YORK, (2026, 6, 10, 21, 0), DEFER, NJ_RULE, (2026, 6, 11, 8, 0)),
    # Texas SB 140: Sunday noon, Saturday 9:00 (2026-06-13 is a Saturday).
    (TX, CHICAGO, (2026, 6, 14, 11, 59), DEFER, SB140, (2026, 6, 14, 12, 0)),
    (TX, CHICAGO, (2026, 6, 14, 12, 0), SEND, "", None),
    (TX, CHICAGO, (2026, 6, 13, 8, 59), DEFER, SB140, (2026, 6, 13, 9, 0)),
    (TX, CHICAGO, (2026, 6, 13, 9, 0), SEND, "", None),
    (TX, CHICAGO, (2026, 6, 13, 20, 59), SEND, "", None),
    (TX, CHICAGO, (2026, 6, 13, 21, 0), DEFER, SB140, (2026, 6, 14, 12, 0)),  # Saturday night waits for Sunday noon
    (TX, CHICAGO, (2026, 6, 15, 8, 30), DEFER, SB140, (2026, 6, 15, 9, 0)),
])
def test_state_rules_at_their_edges(phone, zone, wall, action, rule, until):
    decision = decide(now=local(zone, *wall), phone=phone, smart_sending_hours=0)
    assert decision.action == action, decision
    if action == DEFER:
        assert decision.rule == f"quiet_hours:{rule}"
        assert decision.until == local(zone, *until)
        name = next(r.name for r in gate.sending_rules.RULES if r.key == rule)
        assert decision.reason.endswith(f"(quiet hours, {name})")


def test_held_reason_names_time_zone_and_law():
    decision = decide(now=local(CHICAGO, 2026, 6, 10, 23, 0), phone=TX, smart_sending_hours=0)
    assert decision.reason == "held until 09:00 America/Chicago (quiet hours, Texas SB 140)"
    early = decide(now=local(NEW_YORK, 2026, 6, 10, 7, 0), smart_sending_hours=0)  # New York: the store's window
    assert (early.rule, early.reason) == (
        "quiet_hours:store", "held until 08:00 America/New_York (quiet hours, the store's sending window 08:00–21:00)")


def test_dst_change_days_in_chicago_under_texas_rules():
    # 2026-03-08 is a Sunday and Chicago's spring-forward: noon CDT is 17:00 UTC, not 18:00.
    saturday_night = decide(now=local(CHICAGO, 2026, 3, 7, 22, 0), phone=TX, smart_sending_hours=0)
    assert saturday_night.until == dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert decide(now=dt.datetime(2026, 3, 8, 16, 59, tzinfo=UTC), phone=TX, smart_sending_hours=0).action == DEFER
    assert decide(now=dt.datetime(2026, 3, 8, 17, 0, tzinfo=UTC), phone=TX, smart_sending_hours=0).action == SEND
    # 2026-11-01 is a Sunday and the fall-back: noon CST is 18:00 UTC.
    fall = decide(now=local(CHICAGO, 2026, 10, 31, 22, 0), phone=TX, smart_sending_hours=0)
    assert fall.until == dt.datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
    assert decide(now=dt.datetime(2026, 11, 1, 17, 30, tzinfo=UTC), phone=TX, smart_sending_hours=0).action == DEFER


def test_dst_change_days_in_new_york_under_florida_and_maryland_rules():
    # Spring forward: Saturday 20:00 EST waits for Sunday 8:00 EDT (12:00 UTC).
    assert decide(now=local(NEW_YORK, 2026, 3, 7, 20, 0), phone=FL, smart_sending_hours=0).until \
        == dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # Fall back: 19:59 EST still goes, 20:00 EST (01:00 UTC) waits for Monday 8:00 EST (13:00 UTC).
    assert decide(now=dt.datetime(2026, 11, 2, 0, 59, tzinfo=UTC), phone=MD, smart_sending_hours=0).action == SEND
    late = decide(now=dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC), phone=MD, smart_sending_hours=0)
    assert late.action == DEFER and late.until == dt.datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def test_france_sunday_and_bastille_day_are_explained():
    sunday = decide(now=local(PARIS, 2026, 6, 14, 11, 0), **FRENCH_STORE)
    assert sunday.rule == "quiet_hours:FR@2000-01-01"
    assert sunday.reason == "held until 08:00 Europe/Paris (Sunday: no marketing, France SMS marketing code)"
    saturday_night = decide(now=local(PARIS, 2026, 6, 13, 22, 30), **FRENCH_STORE)
    assert saturday_night.reason == "held until Mon 15 Jun 08:00 Europe/Paris (Sunday: no marketing, France SMS marketing code)"
    bastille_day = decide(now=local(PARIS, 2026, 7, 14, 10, 0), **FRENCH_STORE)
    assert bastille_day.rule == "quiet_hours:FR@2000-01-01" and "public holiday" in bastille_day.reason


def test_strictest_rule_wins_when_the_area_code_and_the_address_disagree():
    # A New York number whose owner lives in Texas: Texas' Sunday noon, in every Texas zone
    # (El Paso is Mountain time), since the profile's own zone is unknown.
    sunday = decide(now=local(NEW_YORK, 2026, 6, 14, 11, 30), region="TX", smart_sending_hours=0)
    assert sunday.action == DEFER and sunday.rule == f"quiet_hours:{SB140}"
    assert sunday.until == local(DENVER, 2026, 6, 14, 12, 0)
    assert sunday.reason == "held until 12:00 America/Denver (quiet hours, Texas SB 140)"
    # Knowing the profile's zone narrows it to that zone.
    known = decide(now=local(CHICAGO, 2026, 6, 14, 11, 30), region="TX", timezone="America/Chicago", smart_sending_hours=0)
    assert known.until == local(CHICAGO, 2026, 6, 14, 12, 0)
    # The same number without the Texas address is fine at 11:30 on a Sunday.
    assert decide(now=local(NEW_YORK, 2026, 6, 14, 11, 30), smart_sending_hours=0).action == SEND
    # An address outside the US brings no state rule.
    assert decide(now=local(NEW_YORK, 2026, 6, 14, 11, 30), region="TX", address_country="CA",
                  smart_sending_hours=0).action == SEND
    # A Dallas number with a Florida address: Texas opens at 9:00 Central, Florida closes at 20:00 Eastern.
    both = dict(phone=TX, region="FL", smart_sending_hours=0)
    assert decide(now=local(CHICAGO, 2026, 6, 10, 8, 30), **both).until == local(CHICAGO, 2026, 6, 10, 9, 0)
    assert decide(now=local(CHICAGO, 2026, 6, 10, 18, 59), **both).action == SEND
    # At 20:00 in New York Florida closes; what decides the next morning is Texas' 9:00, so Texas is named.
    evening = decide(now=local(CHICAGO, 2026, 6, 10, 19, 0), **both)
    assert evening.action == DEFER and evening.until == local(CHICAGO, 2026, 6, 11, 9, 0)
    assert evening.rule == f"quiet_hours:{SB140}"
    # The smallest cap of all the places applies: Texas has none, Oklahoma 3.
    assert decide(now=NOON_NY, phone=TX, region="OK", history=gate.History(marketing_last_24h=3),
                  smart_sending_hours=0).rule == f"cap_24h:{OTSA}"
    assert decide(now=NOON_NY, phone=TX, history=gate.History(marketing_last_24h=3), smart_sending_hours=0).action == SEND


@pytest.mark.parametrize("phone, rule", [(OK, OTSA), (MD, MD_ACT), (FL, FTSA)])
def test_three_marketing_texts_a_day_in_oklahoma_maryland_and_florida(phone, rule):
    noon = dict(now=NOON_NY, phone=phone, smart_sending_hours=0)
    assert decide(history=gate.History(marketing_last_24h=2), **noon).action == SEND
    capped = decide(history=gate.History(marketing_last_24h=3), **noon)
    assert capped.action == SUPPRESS and capped.rule == f"cap_24h:{rule}"
    assert decide(history=gate.History(marketing_last_24h=3), kind="transactional", origin="api", **noon).action == SEND


def test_a_rule_not_yet_in_effect_is_not_applied():
    # Sunday 2025-08-31, the last day before Texas SB 140: 11:00 goes; a week later it waits.
    assert decide(now=local(CHICAGO, 2025, 8, 31, 11, 0), phone=TX, smart_sending_hours=0).action == SEND
    assert decide(now=local(CHICAGO, 2025, 9, 7, 11, 0), phone=TX, smart_sending_hours=0).until == local(CHICAGO, 2025, 9, 7, 12)
    # That Sunday night the store's window closes; the morning it opens again, SB 140 applies: 9:00.
    night = decide(now=local(CHICAGO, 2025, 8, 31, 22, 0), phone=TX, smart_sending_hours=0)
    assert night.until == local(CHICAGO, 2025, 9, 1, 9, 0) and night.rule == f"quiet_hours:{SB140}"
    # Maryland's act (2024-01-01): 20:30 and a fourth text were still fine on New Year's Eve 2023.
    eve = dict(now=local(NEW_YORK, 2023, 12, 31, 20, 30), phone=MD, smart_sending_hours=0)
    assert decide(**eve).action == SEND
    assert decide(history=gate.History(marketing_last_24h=3), **eve).action == SEND
    assert decide(**{**eve, "now": local(NEW_YORK, 2024, 1, 7, 20, 30)}).action == DEFER


def test_an_older_version_stays_and_explains_its_own_days(monkeypatch):
    # A made-up earlier Texas rule (10:00–20:00 every day), listed after SB 140 on purpose.
    older = gate.sending_rules.Rule("US-TX", "Texas (earlier, for this test)", dt.date(2020, 1, 1),
                                    (((dt.time(10), dt.time(20)),),) * 7, source="test")
    monkeypatch.setattr(gate.sending_rules, "_VERSIONS", gate.sending_rules.index((*gate.sending_rules.RULES, older)))
    before = decide(now=local(CHICAGO, 2025, 8, 31, 9, 30), phone=TX, smart_sending_hours=0)
    assert before.rule == "quiet_hours:US-TX@2020-01-01" and before.until == local(CHICAGO, 2025, 8, 31, 10, 0)
    assert before.reason.endswith("(quiet hours, Texas (earlier, for this test))")
    assert decide(now=local(CHICAGO, 2025, 8, 31, 19, 59), phone=TX, smart_sending_hours=0).action == SEND  # old hours
    # The evening before the change waits for the new version's Monday 9:00, named as the new version.
    evening = decide(now=local(CHICAGO, 2025, 8, 31, 20, 0), phone=TX, smart_sending_hours=0)
    assert evening.until == local(CHICAGO, 2025, 9, 1, 9, 0) and evening.rule == f"quiet_hours:{SB140}"
    assert decide(now=local(CHICAGO, 2025, 9, 7, 10, 30), phone=TX, smart_sending_hours=0).rule == f"quiet_hours:{SB140}"
