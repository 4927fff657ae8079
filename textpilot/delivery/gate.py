"""The compliance gate: may this text leave now, later, or never?

`decide` is a pure function of the message, its recipient, the store's settings, the time
and the recipient's recent history, so it can be checked on any number of generated cases.
The dispatcher calls it for every message at the last moment before the provider call.
What the law allows where (state and country rules, their versions and area codes) is data in
sending_rules.py; every decision that stops a text names the rule that did (`Decision.rule`)
and says in words until when and why (`Decision.reason`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal
from functools import lru_cache

from textpilot.delivery import sending_rules
from textpilot.common.phones import phone_region, phone_timezones, region_name

SEND, DEFER, SUPPRESS = "send", "defer", "suppress"
STORE_WINDOW = "store"  # the jurisdiction part of the rule name when the store's own window held a text


@dataclasses.dataclass(frozen=True)
class Recipient:
    phone: str
    sms_status: str  # profiles ConsentStatus value
    timezone: str = ""  # the profile's own time zone, if known
    region: str = ""  # the profile's address state or province ("TX"), if known
    address_country: str = ""  # the profile's address country ("US"); empty: the number's country


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
    reason: str = ""  # for people: "held until 08:00 America/Chicago (quiet hours, Texas SB 140)"
    until: dt.datetime | None = None  # for DEFER: the earliest allowed moment (UTC)
    # What stopped it, for machines: "opted_out", "no_consent", "country", "spend_cap",
    # "smart_sending", "cap_24h:US-FL@2021-07-01", "quiet_hours:US-TX@2025-09-01", "quiet_hours:store".
    rule: str = ""


@dataclasses.dataclass(frozen=True)
class Hours:
    """When marketing may reach a recipient: allowed in every zone by the store's window (None:
    not checked) and by the rules of every jurisdiction, each in the version of that local day."""

    zones: tuple[str, ...]
    store_window: tuple[dt.time, dt.time] | None  # (opens, closes); opens after closes: past midnight
    jurisdictions: tuple[str, ...] = ()


def decide(*, kind: str, origin: str, cost: Decimal | None, recipient: Recipient, rules: Rules,
           history: History, now: dt.datetime) -> Decision:
    """`kind` is marketing/transactional, `origin` a delivery Origin value, `now` aware UTC."""
    # Replies to the customer's own keyword (STOP confirmation, HELP, START) always go: the
    # rules require them, and they answer a text the customer just sent.
    keyword_reply = origin == "keyword_reply"
    if not keyword_reply:
        if recipient.sms_status == "unsubscribed":
            return Decision(SUPPRESS, "not sent: the recipient opted out", rule="opted_out")
        if kind == "marketing" and recipient.sms_status != "subscribed":
            return Decision(SUPPRESS, f"not sent: marketing needs a subscribed recipient (consent is {recipient.sms_status})",
                            rule="no_consent")
    country = phone_region(recipient.phone)
    allowed = rules.allowed_countries or frozenset({rules.store_country})
    if not keyword_reply and country not in allowed:
        return Decision(SUPPRESS, _country_words(country, allowed), rule="country")
    if not keyword_reply and rules.daily_spend_cap is not None and cost is not None:
        if history.store_spend_today + cost > rules.daily_spend_cap:
            until = local_day_start(now, rules.store_timezone, days_ahead=1)
            if kind == "marketing":  # the budget is back at midnight; the sending hours may open later
                until = next_allowed_time(until, sending_hours(recipient, rules))
            return Decision(DEFER, f"{_held_until(until, rules.store_timezone, now)} "
                                   f"(daily spend cap of {rules.daily_spend_cap} reached)", until, "spend_cap")
    if kind != "marketing" or keyword_reply:
        return Decision(SEND)

    if rules.smart_sending_hours and history.last_marketing_at is not None:
        ago = now - history.last_marketing_at
        if ago < dt.timedelta(hours=rules.smart_sending_hours):
            return Decision(SUPPRESS, f"not sent: the recipient got a marketing text {_duration(ago)} ago (smart sending "
                                      f"skips another within {rules.smart_sending_hours} h)", rule="smart_sending")
    hours = sending_hours(recipient, rules, country)
    capped = _smallest_cap(hours, now)
    if capped is not None and history.marketing_last_24h >= capped.cap_24h:
        return Decision(SUPPRESS, f"not sent: {history.marketing_last_24h} marketing texts in the last 24 h already "
                                  f"({capped.name} allows {capped.cap_24h})", rule=f"cap_24h:{capped.key}")

    allowed_at = next_allowed_time(now, hours)
    if allowed_at > now:
        rule, zone, because = _what_holds(now, allowed_at, hours)
        return Decision(DEFER, f"{_held_until(allowed_at, zone, now)} ({because})", allowed_at, f"quiet_hours:{rule}")
    return Decision(SEND)


def _country_words(country: str, allowed: frozenset[str]) -> str:
    """"not sent: the number is in Germany (DE), and the store only texts numbers in United
    States (US); add DE to its allowed countries to text it"."""
    named = [f"{region_name(code)} ({code})" for code in sorted(allowed)]
    listed = ", ".join(named) if len(named) <= 5 else f"{', '.join(named[:4])} and {len(named) - 4} more"
    if not country:
        return f"not sent: the number's country is unknown, and the store only texts numbers in {listed}"
    return (f"not sent: the number is in {region_name(country)} ({country}), and the store only texts numbers in "
            f"{listed}; add {country} to its allowed countries to text it")


def sending_hours(recipient: Recipient, rules: Rules, country: str | None = None) -> Hours:
    """The zones, the store's window and the jurisdictions that decide when marketing may go
    to this recipient (`country`: the number's, when the caller already knows it)."""
    zones, jurisdictions = whereabouts(recipient, rules.store_timezone, country)
    return Hours(zones, (rules.quiet_end, rules.quiet_start), jurisdictions)


def recipient_timezones(recipient: Recipient, rules: Rules) -> tuple[str, ...]:
    """The profile's zone, else every zone the number may be in and every zone of the address
    state when a rule of that state applies, else the store's."""
    return whereabouts(recipient, rules.store_timezone)[0]


def whereabouts(recipient: Recipient, store_timezone: str, country: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(zones, jurisdictions) the recipient may be in; `country`: the number's, when known."""
    country = phone_region(recipient.phone) if country is None else country
    jurisdictions = sending_rules.jurisdictions_for(recipient.phone, country, recipient.region, recipient.address_country)
    return _zones(recipient, store_timezone, country, jurisdictions), jurisdictions


def _zones(recipient: Recipient, store_timezone: str, country: str, jurisdictions: tuple[str, ...]) -> tuple[str, ...]:
    if recipient.timezone and _known_zone(recipient.timezone):
        return (recipient.timezone,)
    zones = [*phone_timezones(recipient.phone),
             *sending_rules.extra_zones(recipient.phone, country, jurisdictions, recipient.region)]
    return tuple(dict.fromkeys(z for z in zones if _known_zone(z))) or (store_timezone,)


def _smallest_cap(hours: Hours, now: dt.datetime) -> sending_rules.Rule | None:
    """The rule with the smallest 24-hour cap among those in effect now (in the latest of the
    recipient's local dates: a rule applies as soon as it applies anywhere they may be)."""
    day = max(now.astimezone(zoneinfo.ZoneInfo(z)).date() for z in hours.zones)
    capped = [rule for j in hours.jurisdictions if (rule := sending_rules.in_effect(j, day)) and rule.cap_24h is not None]
    return min(capped, key=lambda rule: rule.cap_24h, default=None)


def next_allowed_time(now: dt.datetime, hours: Hours) -> dt.datetime:
    """The first moment at or after `now` that is allowed in every zone (a number that may be
    in several zones is only texted when it is fine in all of them)."""
    moment = now
    for _ in range(64):  # each pass moves to the next opening of a failing zone
        later = moment
        for zone_name in hours.zones:
            later = max(later, _zone_opening(moment, zoneinfo.ZoneInfo(zone_name), hours))
        if later == moment:
            return moment
        moment = later
    return moment


def _what_holds(now: dt.datetime, until: dt.datetime, hours: Hours) -> tuple[str, str, str]:
    """Which limit holds a text back until `until`, in which zone, and why in words: the one
    still closed a minute before `until` (so the one that decided the moment), the law before
    the store's window when both are."""
    probe = until - dt.timedelta(minutes=1)
    limits = [(j, Hours(hours.zones, None, (j,))) for j in hours.jurisdictions]
    if hours.store_window is not None:
        limits.append((STORE_WINDOW, Hours(hours.zones, hours.store_window)))
    for name, limit in limits:
        for zone_name in limit.zones:
            zone = zoneinfo.ZoneInfo(zone_name)
            if _allowed_in_zone(probe, zone, limit):
                continue
            if name == STORE_WINDOW:
                return STORE_WINDOW, zone_name, _store_words(hours)
            rule = sending_rules.in_effect(name, probe.astimezone(zone).date())
            return rule.key, zone_name, _rule_words(rule, now.astimezone(zone).date(), probe.astimezone(zone).date())
    return STORE_WINDOW, hours.zones[0], _store_words(hours)  # not reached: something is closed before `until`


def _rule_words(rule: sending_rules.Rule, first: dt.date, last: dt.date) -> str:
    """"quiet hours, Texas SB 140", or the closed day the wait spans: "Sunday: no marketing, …"."""
    day = first
    while day <= last:
        closed = rule.closed_because(day) if not rule.windows_on(day) else ""
        if closed:
            return f"{closed}: no marketing, {rule.name}"
        day += dt.timedelta(days=1)
    return f"quiet hours, {rule.name}"


def _store_words(hours: Hours) -> str:
    opens, closes = hours.store_window
    if opens == closes:
        return "quiet hours, the store's sending window"
    return f"quiet hours, the store's sending window {opens:%H:%M}–{closes:%H:%M}"


def _held_until(until: dt.datetime, zone_name: str, now: dt.datetime) -> str:
    local = until.astimezone(zoneinfo.ZoneInfo(zone_name))
    if until - now < dt.timedelta(hours=24):
        return f"held until {local:%H:%M} {zone_name}"
    return f"held until {local:%a %-d %b %H:%M} {zone_name}"


def _duration(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes % 60 else f"{minutes // 60} h"


def _zone_opening(moment: dt.datetime, zone: zoneinfo.ZoneInfo, hours: Hours) -> dt.datetime:
    """The first moment at or after `moment` that is allowed in this zone. The allowed time
    is an intersection of daily windows (the store's may run past midnight when it opens after
    it closes; a rule's windows depend on the weekday, its holidays and its version), so it
    opens either now, at a window's start or at a midnight: try those in order. Times inside
    a DST gap resolve to after the gap (zoneinfo's fold=0)."""
    if _allowed_in_zone(moment, zone, hours):
        return moment
    today = moment.astimezone(zone).date()
    starts = {dt.time(0, 0), *sending_rules.window_starts(hours.jurisdictions)}
    if hours.store_window is not None:
        starts.add(hours.store_window[0])
    starts = sorted(starts)
    for day_offset in range(0, 16):
        day = today + dt.timedelta(days=day_offset)
        for start in starts:
            candidate = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.timezone.utc)
            if candidate > moment and _allowed_in_zone(candidate, zone, hours):
                return candidate
    return moment + dt.timedelta(days=16)


def _allowed_in_zone(moment: dt.datetime, zone: zoneinfo.ZoneInfo, hours: Hours) -> bool:
    local = moment.astimezone(zone)
    if hours.store_window is not None and not _in_window(local.time().replace(tzinfo=None), *hours.store_window):
        return False
    for jurisdiction in hours.jurisdictions:
        rule = sending_rules.in_effect(jurisdiction, local.date())
        if rule is not None and not rule.allows(local):
            return False
    return True


def _in_window(clock: dt.time, start: dt.time, end: dt.time) -> bool:
    if start < end:
        return start <= clock < end
    if start > end:  # runs past midnight, e.g. quiet hours 01:00–06:00 leave 06:00–01:00
        return clock >= start or clock < end
    return True  # quiet hours that start and end at the same time: no quiet hours


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
