"""The compliance gate: may this text leave now, later, or never?

`decide` is a pure function of the message, its recipient, the store's settings, the time
and the recipient's recent history, so it can be checked on any number of generated cases.
The dispatcher calls it for every message at the last moment before the provider call.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal
from functools import lru_cache

import holidays

from textpilot.profiles.phones import phone_region, phone_timezones

SEND, DEFER, SUPPRESS = "send", "defer", "suppress"

# Florida's telemarketing law (FTSA): 8:00–20:00 and at most 3 texts per 24 h.
FLORIDA_AREA_CODES = frozenset({
    "239", "305", "321", "324", "352", "386", "407", "448", "561", "645", "656", "689", "727", "728",
    "754", "772", "786", "813", "850", "863", "904", "941", "954",
})
FLORIDA_WINDOW = (dt.time(8, 0), dt.time(20, 0))
FLORIDA_MAX_PER_24H = 3
FRANCE_WINDOW = (dt.time(8, 0), dt.time(22, 0))


@dataclasses.dataclass(frozen=True)
class Recipient:
    phone: str
    sms_status: str  # profiles ConsentStatus value
    timezone: str = ""  # the profile's own time zone, if known


@dataclasses.dataclass(frozen=True)
class Rules:
    store_timezone: str
    store_country: str
    quiet_start: dt.time  # marketing stops at this local time…
    quiet_end: dt.time  # …and may start again at this one
    smart_sending_hours: int
    allowed_countries: frozenset[str]  # empty: only the store's country
    daily_spend_cap: Decimal | None


@dataclasses.dataclass(frozen=True)
class History:
    """What the recipient and store already got (from the database, per batch)."""

    last_marketing_at: dt.datetime | None = None
    marketing_last_24h: int = 0
    store_spend_today: Decimal = Decimal("0")


@dataclasses.dataclass(frozen=True)
class Decision:
    action: str  # SEND, DEFER or SUPPRESS
    reason: str = ""
    until: dt.datetime | None = None  # for DEFER: the earliest allowed moment (UTC)


def decide(*, kind: str, origin: str, cost: Decimal | None, recipient: Recipient, rules: Rules,
           history: History, now: dt.datetime) -> Decision:
    """`kind` is marketing/transactional, `origin` a delivery Origin value, `now` aware UTC."""
    # Replies to the customer's own keyword (STOP confirmation, HELP, START) always go: the
    # rules require them, and they answer a text the customer just sent.
    keyword_reply = origin == "keyword_reply"
    if not keyword_reply:
        if recipient.sms_status == "unsubscribed":
            return Decision(SUPPRESS, "opted_out: the recipient unsubscribed")
        if kind == "marketing" and recipient.sms_status != "subscribed":
            return Decision(SUPPRESS, f"no_consent: marketing needs a subscribed recipient (status {recipient.sms_status})")
    country = phone_region(recipient.phone)
    allowed = rules.allowed_countries or frozenset({rules.store_country})
    if not keyword_reply and country not in allowed:
        return Decision(SUPPRESS, f"country_not_allowed: {country or 'unknown country'} is not in the store's allowed countries")
    if not keyword_reply and rules.daily_spend_cap is not None and cost is not None:
        if history.store_spend_today + cost > rules.daily_spend_cap:
            until = local_day_start(now, rules.store_timezone, days_ahead=1)
            if kind == "marketing":  # the budget is back at midnight; the sending hours may open later
                until = next_allowed_time(until, *sending_hours(recipient, rules, country))
            return Decision(DEFER, f"daily_spend_cap: {rules.daily_spend_cap} reached for today", until)
    if kind != "marketing" or keyword_reply:
        return Decision(SEND)

    florida = _is_florida(recipient.phone, country)
    if rules.smart_sending_hours and history.last_marketing_at is not None:
        if now - history.last_marketing_at < dt.timedelta(hours=rules.smart_sending_hours):
            return Decision(SUPPRESS, f"smart_sending: got a marketing text within {rules.smart_sending_hours} h")
    if florida and history.marketing_last_24h >= FLORIDA_MAX_PER_24H:
        return Decision(SUPPRESS, f"florida_limit: {FLORIDA_MAX_PER_24H} marketing texts in 24 h already")

    allowed_at = next_allowed_time(now, *sending_hours(recipient, rules, country))
    if allowed_at > now:
        return Decision(DEFER, "quiet_hours: outside the recipient's sending hours", allowed_at)
    return Decision(SEND)


def _is_florida(phone: str, country: str) -> bool:
    return country == "US" and phone[2:5] in FLORIDA_AREA_CODES


def sending_hours(recipient: Recipient, rules: Rules, country: str) -> tuple[tuple[str, ...], list, str | None]:
    """(zones, windows, country whose Sundays/holidays are closed) for marketing to this recipient."""
    windows = [(rules.quiet_end, rules.quiet_start)]
    if _is_florida(recipient.phone, country):
        windows.append(FLORIDA_WINDOW)
    if country == "FR":
        windows.append(FRANCE_WINDOW)
    return recipient_timezones(recipient, rules), windows, country if country == "FR" else None


def recipient_timezones(recipient: Recipient, rules: Rules) -> tuple[str, ...]:
    """The profile's zone, else every zone the number may be in, else the store's."""
    if recipient.timezone and _known_zone(recipient.timezone):
        return (recipient.timezone,)
    zones = tuple(z for z in phone_timezones(recipient.phone) if _known_zone(z))
    return zones or (rules.store_timezone,)


def next_allowed_time(now: dt.datetime, zones: tuple[str, ...], windows: list[tuple[dt.time, dt.time]],
                      no_sundays_or_holidays: str | None = None) -> dt.datetime:
    """The first moment at or after `now` that is inside every window in every zone (a
    number that may be in several zones is only texted when it is fine in all of them)."""
    moment = now
    for _ in range(64):  # each pass moves to the next opening of a failing zone
        later = moment
        for zone_name in zones:
            later = max(later, _zone_opening(moment, zoneinfo.ZoneInfo(zone_name), windows, no_sundays_or_holidays))
        if later == moment:
            return moment
        moment = later
    return moment


def _zone_opening(moment: dt.datetime, zone: zoneinfo.ZoneInfo, windows, country_days: str | None) -> dt.datetime:
    """The first moment at or after `moment` that is allowed in this zone. The allowed time
    is an intersection of daily windows (a window may run past midnight when its start is
    after its end), so it opens either now, at a window's start or at a midnight: try those
    in order. Times inside a DST gap resolve to after the gap (zoneinfo's fold=0)."""
    if _allowed_in_zone(moment, zone, windows, country_days):
        return moment
    today = moment.astimezone(zone).date()
    starts = sorted({dt.time(0, 0), *(w[0] for w in windows)})
    for day_offset in range(0, 16):
        day = today + dt.timedelta(days=day_offset)
        for start in starts:
            candidate = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.timezone.utc)
            if candidate > moment and _allowed_in_zone(candidate, zone, windows, country_days):
                return candidate
    return moment + dt.timedelta(days=16)


def _allowed_in_zone(moment: dt.datetime, zone: zoneinfo.ZoneInfo, windows, country_days: str | None) -> bool:
    local = moment.astimezone(zone)
    if country_days and (local.weekday() == 6 or local.date() in _holidays(country_days, local.year)):
        return False
    clock = local.time().replace(tzinfo=None)
    return all(_in_window(clock, start, end) for start, end in windows)


def _in_window(clock: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= clock < end
    if start > end:  # runs past midnight, e.g. quiet hours 01:00–06:00 leave 06:00–01:00
        return clock >= start or clock < end
    return True  # quiet hours that start and end at the same time: no quiet hours


@lru_cache(maxsize=64)
def _holidays(country: str, year: int):
    return holidays.country_holidays(country, years=year)


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
        return True
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False


def local_day_start(now: dt.datetime, zone_name: str, days_ahead: int = 0) -> dt.datetime:
    """Midnight in the store's zone, in UTC: of today (the daily spend cap counts from it),
    or `days_ahead` days later (when a capped text may try again)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    day = now.astimezone(zone).date() + dt.timedelta(days=days_ahead)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.timezone.utc)
