"""An oracle for the compliance gate, written independently of gate.py's search: it reads only
the rules table's data (sending_rules.RULES, area codes, zones) and says what the gate must
decide for a case (`expected_action`) and whether marketing may reach a recipient at a
moment (`marketing_allowed_at`). The gate's property test checks gate.decide against it; the
dispatcher's property test checks what really reached the carrier against it."""
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from textpilot.delivery import gate, sending_rules
from textpilot.common.phones import phone_region, phone_timezones


# --- the oracle: when may marketing reach this recipient? --------------------------------

@lru_cache(maxsize=None)
def known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not a zone"
        return False


def jurisdictions_of(recipient: gate.Recipient) -> list[str]:
    """The area code's state, the US address's state, France for French numbers: those with rows."""
    country = phone_region(recipient.phone)
    places = []
    if country == "US" and recipient.phone[2:5] in sending_rules.AREA_CODES:
        places.append("US-" + sending_rules.AREA_CODES[recipient.phone[2:5]])
    if recipient.region and (recipient.address_country or country) == "US":
        places.append("US-" + recipient.region)
    if country == "FR":
        places.append("FR")
    return [p for p in places if any(rule.jurisdiction == p for rule in sending_rules.RULES)]


def zones_of(recipient: gate.Recipient, rules: gate.Rules) -> list[str]:
    if recipient.timezone and known_zone(recipient.timezone):
        return [recipient.timezone]
    zones = list(phone_timezones(recipient.phone))
    if phone_region(recipient.phone) == "US":
        zones += sending_rules.AREA_CODE_EXTRA_ZONES.get(recipient.phone[2:5], ())
    if "US-" + recipient.region in jurisdictions_of(recipient):
        zones += sending_rules.JURISDICTION_ZONES["US-" + recipient.region]
    return [z for z in zones if known_zone(z)] or [rules.store_timezone]


def version_on(jurisdiction: str, day: dt.date):
    versions = [r for r in sending_rules.RULES if r.jurisdiction == jurisdiction and r.effective_from <= day]
    return max(versions, key=lambda r: r.effective_from) if versions else None


@lru_cache(maxsize=None)
def public_holidays(country: str, year: int):
    return holidays.country_holidays(country, years=year)


def rule_allows(rule, wall: dt.datetime) -> bool:
    if rule.closed_on_holidays and wall.date() in public_holidays(rule.closed_on_holidays, wall.year):
        return False
    clock = wall.time().replace(tzinfo=None)
    return any(start <= clock < end for start, end in rule.week[wall.weekday()])


def marketing_allowed_at(moment: dt.datetime, recipient: gate.Recipient, rules: gate.Rules) -> bool:
    """Allowed in every zone the recipient may be in by the store's window and by the version
    of every applicable rule in force on that zone's local day."""
    places = jurisdictions_of(recipient)
    for zone in zones_of(recipient, rules):
        wall = moment.astimezone(ZoneInfo(zone))
        if not rules.quiet_end <= wall.time().replace(tzinfo=None) < rules.quiet_start:
            return False
        for place in places:
            rule = version_on(place, wall.date())
            if rule is not None and not rule_allows(rule, wall):
                return False
    return True


def smallest_cap(recipient: gate.Recipient, rules: gate.Rules, now: dt.datetime) -> int | None:
    day = max(now.astimezone(ZoneInfo(z)).date() for z in zones_of(recipient, rules))
    caps = [rule.cap_24h for place in jurisdictions_of(recipient) if (rule := version_on(place, day)) and rule.cap_24h]
    return min(caps, default=None)


def expected_action(case) -> str:
    recipient, rules, history, now, cost = case["recipient"], case["rules"], case["history"], case["now"], case["cost"]
    if case["origin"] == "keyword_reply":
        return gate.SEND
    marketing = case["kind"] == "marketing"
    if recipient.sms_status == "unsubscribed" or (marketing and recipient.sms_status != "subscribed"):
        return gate.SUPPRESS
    if phone_region(recipient.phone) not in (rules.allowed_countries or {rules.store_country}):
        return gate.SUPPRESS
    if rules.daily_spend_cap is not None and cost is not None and history.store_spend_today + cost > rules.daily_spend_cap:
        return gate.DEFER
    if not marketing:
        return gate.SEND
    if rules.smart_sending_hours and history.last_marketing_at is not None \
            and now - history.last_marketing_at < dt.timedelta(hours=rules.smart_sending_hours):
        return gate.SUPPRESS
    cap = smallest_cap(recipient, rules, now)
    if cap is not None and history.marketing_last_24h >= cap:
        return gate.SUPPRESS
    return gate.SEND if marketing_allowed_at(now, recipient, rules) else gate.DEFER
