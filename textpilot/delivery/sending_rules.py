"""When the law lets a marketing text reach a place: state and country rules as versioned data.

The compliance gate (gate.py) reads this module and nothing else about the law. A rule is a
row of `RULES`: its jurisdiction ("US-TX", "FR"), the local windows it allows on each weekday,
an optional cap on marketing texts per 24 h, days it closes entirely (a country's public
holidays), the date it took effect, a short name for the people reading a held text's reason
("Texas SB 140") and where the row comes from. A rule that changes gets a new row with its new
`effective_from`; the old row stays, so a text held in the past can still be explained by the
version that held it (`Rule.key`, e.g. "US-TX@2025-09-01", is what `Message.hold_rule` names).
A version whose `effective_from` is later than the moment is not applied.

Where a number may be (`jurisdictions_for`): its area code's state (these laws presume the
owner of, say, an Oklahoma area code lives in Oklahoma), the profile's address state when the
address is in the US, and France for French numbers. The gate applies every one of them at
once: the strictest window and the smallest cap win (docs/sending-rules.md).

The rows summarise public law (see COMPLIANCE.md, "US state rules"); they are not legal
advice, and a deployment that sends to other places should add their rows.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import lru_cache

import holidays

Window = tuple[dt.time, dt.time]  # allowed from start (inclusive) to end (exclusive), local time
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclasses.dataclass(frozen=True)
class Rule:
    jurisdiction: str  # "US-TX" (ISO 3166-2) or a country code, "FR"
    name: str  # short, for people: "Texas SB 140"
    effective_from: dt.date  # local date in the recipient's zone from which this version applies
    week: tuple[tuple[Window, ...], ...]  # allowed windows Monday … Sunday; () closes the day
    cap_24h: int | None = None  # most marketing texts per rolling 24 h
    closed_on_holidays: str = ""  # country whose public holidays (`holidays` package) are closed
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.jurisdiction}@{self.effective_from.isoformat()}"

    def windows_on(self, day: dt.date) -> tuple[Window, ...]:
        if self.closed_on_holidays and day in _holidays(self.closed_on_holidays, day.year):
            return ()
        return self.week[day.weekday()]

    def allows(self, local: dt.datetime) -> bool:
        """Is this wall-clock moment (in the recipient's zone) inside one of the day's windows?"""
        clock = local.time().replace(tzinfo=None)
        return any(start <= clock < end for start, end in self.windows_on(local.date()))

    def closed_because(self, day: dt.date) -> str:
        """Why the whole day is closed ("Sunday", "public holiday National Day"), or ""."""
        if self.closed_on_holidays:
            name = _holidays(self.closed_on_holidays, day.year).get(day)
            if name:
                return f"public holiday {name}"
        return WEEKDAYS[day.weekday()] if not self.week[day.weekday()] else ""

    def describe(self) -> str:
        """The windows in one line, e.g. "Mon–Sat 09:00–21:00, Sun 12:00–21:00; at most 3 a day"."""
        groups: list[tuple[list[int], tuple[Window, ...]]] = []
        for index, windows in enumerate(self.week):
            if groups and groups[-1][1] == windows:
                groups[-1][0].append(index)
            else:
                groups.append(([index], windows))
        parts = []
        for days, windows in groups:
            span = "every day" if len(days) == 7 else (
                WEEKDAYS[days[0]][:3] if len(days) == 1 else f"{WEEKDAYS[days[0]][:3]}–{WEEKDAYS[days[-1]][:3]}")
            hours = ", ".join(f"{_hm(a)}–{_hm(b)}" for a, b in windows) if windows else "closed"
            parts.append(f"{span} {hours}")
        text = ", ".join(parts)
        if self.closed_on_holidays:
            text += ", closed on public holidays"
        if self.cap_24h is not None:
            text += f"; at most {self.cap_24h} marketing texts per 24 h"
        return text


def _hm(clock: dt.time) -> str:
    return clock.strftime("%H:%M")


def _every_day(start: int, end: int) -> tuple[tuple[Window, ...], ...]:
    window = ((dt.time(start), dt.time(end)),)
    return (window,) * 7


def _week(weekdays: Window, saturday: Window | None, sunday: Window | None) -> tuple[tuple[Window, ...], ...]:
    return ((weekdays,),) * 5 + (((saturday,) if saturday else ()),) + (((sunday,) if sunday else ()),)


# The table. Keep it ordered by jurisdiction, then effective date; never delete an old
# version that was in force (add the new one after it).
RULES: tuple[Rule, ...] = (
    Rule("US-FL", "Florida FTSA", dt.date(2021, 7, 1), _every_day(8, 20), cap_24h=3,
         source="Fla. Stat. § 501.616(6) as amended by SB 1120 (2021): 8:00–20:00 in the called person's time zone and "
                "at most 3 calls/texts per 24 h on the same subject (counted here across all marketing texts)"),
    Rule("US-OK", "Oklahoma OTSA", dt.date(2022, 11, 1), _every_day(8, 20), cap_24h=3,
         source="Oklahoma Telephone Solicitation Act of 2022 (15 O.S. § 775C.4): 8:00–20:00, at most 3 per 24 h on the "
                "same subject; an Oklahoma area code is presumed to be an Oklahoma resident"),
    Rule("US-MD", "Maryland Stop the Spam Calls Act", dt.date(2024, 1, 1), _every_day(8, 20), cap_24h=3,
         source="Stop the Spam Calls Act of 2023 (SB 90), in force 2024-01-01: 8:00–20:00 in the called party's time zone, "
                "at most 3 calls/texts per 24 h on the same subject"),
    Rule("US-WA", "Washington HB 1497", dt.date(2022, 6, 9), _every_day(8, 20),
         source="RCW 80.36.390 / RCW 19.158.040(2) as amended by HB 1497 (in force 2022-06-09): not before 8:00 or after "
                "20:00 at the called person's location"),
    Rule("US-CT", "Connecticut PA 23-98", dt.date(2023, 10, 1), _every_day(9, 20),
         source="Conn. Gen. Stat. § 42-288a as amended by Public Act 23-98 (SB 1058), in force 2023-10-01: 9:00–20:00 "
                "local time; texts included; a Connecticut area code is presumed to be a Connecticut resident"),
    Rule("US-NJ", "New Jersey no-call law", dt.date(2004, 1, 1), _every_day(8, 21),
         source="N.J.S.A. 56:8-128(d) (P.L.2003, c.76): no unsolicited telemarketing sales call between 21:00 and 8:00 at "
                "the customer's location. The exact first day in force was not checked (any date before the first text "
                "this product sends behaves the same); some summaries say 8:00–20:00 since 2024, which the statute text "
                "we read does not say"),
    Rule("US-TX", "Texas SB 140", dt.date(2025, 9, 1),
         _week((dt.time(9), dt.time(21)), (dt.time(9), dt.time(21)), (dt.time(12), dt.time(21))),
         source="SB 140 (in force 2025-09-01) makes texts telephone solicitations; Tex. Bus. & Com. Code § 301.051: "
                "9:00–21:00 Monday–Saturday, 12:00–21:00 Sunday, recipient's local time"),
    Rule("FR", "France SMS marketing code", dt.date(2000, 1, 1),
         _week((dt.time(8), dt.time(22)), (dt.time(8), dt.time(22)), None), closed_on_holidays="FR",
         source="COMPLIANCE.md (operators' code of practice for marketing SMS): 8:00–22:00, not on Sundays or public "
                "holidays. The effective date is a placeholder older than this product, not a checked date"),
)

# Where each jurisdiction's people may be: every zone used anywhere in it. A profile whose
# address is in one of these states (and whose own zone is unknown) is checked in all of them.
JURISDICTION_ZONES: dict[str, tuple[str, ...]] = {
    "US-FL": ("America/New_York", "America/Chicago"),  # the western panhandle is Central
    "US-OK": ("America/Chicago",),
    "US-MD": ("America/New_York",),
    "US-WA": ("America/Los_Angeles",),
    "US-CT": ("America/New_York",),
    "US-NJ": ("America/New_York",),
    "US-TX": ("America/Chicago", "America/Denver"),  # El Paso, Hudspeth and Culberson are Mountain
    "FR": ("Europe/Paris",),
}

# Area codes of the states above: the geographic codes NANPA (the North American Numbering
# Plan Administrator) has assigned to them, overlays included, as of 2025. The list was typed
# from NANPA's assignments, not downloaded; what vouches for it is the `phonenumbers` geocoder
# (9.0.x data): tests/delivery/test_sending_rules.py asserts that every code here geocodes to
# its state and that no other code of 200–999 geocodes to one of these states. A new overlay
# shows up there as a failure once the library knows it.
AREA_CODES: dict[str, str] = {
    **dict.fromkeys(("239", "305", "321", "324", "352", "386", "407", "448", "561", "645", "656", "689", "727", "728",
                     "754", "772", "786", "813", "850", "863", "904", "941", "954"), "FL"),
    **dict.fromkeys(("405", "539", "572", "580", "918"), "OK"),
    **dict.fromkeys(("227", "240", "301", "410", "443", "667"), "MD"),
    **dict.fromkeys(("206", "253", "360", "425", "509", "564"), "WA"),
    **dict.fromkeys(("203", "475", "860", "959"), "CT"),
    **dict.fromkeys(("201", "551", "609", "640", "732", "848", "856", "862", "908", "973"), "NJ"),
    **dict.fromkeys(("210", "214", "254", "281", "325", "346", "361", "409", "430", "432", "469", "512", "682", "713",
                     "726", "737", "806", "817", "830", "832", "903", "915", "936", "940", "945", "956", "972", "979"), "TX"),
}

# Zones `phonenumbers` (9.0.x) leaves out for an area code: 689 overlays Orlando's 407
# (Eastern) but is listed as Central only; 448 overlays the panhandle's 850, which spans
# Central and Eastern, but is listed as Eastern only. Added to the library's zones, never
# instead of them: an extra zone can only make the gate stricter.
AREA_CODE_EXTRA_ZONES: dict[str, tuple[str, ...]] = {
    "689": ("America/New_York",),
    "448": ("America/Chicago",),
}


def area_code(phone: str) -> str:
    """The area code of a +1 number in E.164, "" for anything else."""
    return phone[2:5] if phone.startswith("+1") and len(phone) == 12 else ""


def jurisdictions_for(phone: str, phone_country: str, region: str = "", address_country: str = "",
                      table: tuple[Rule, ...] | None = None) -> tuple[str, ...]:
    """Every jurisdiction with rules in `table` where this recipient may be: the area code's
    state, the profile's address state (when that address is in the US: the profile's
    country, or the number's when the profile has none) and France for French numbers."""
    found: list[str] = []
    if phone_country == "US" and area_code(phone) in AREA_CODES:
        found.append(f"US-{AREA_CODES[area_code(phone)]}")
    region = (region or "").strip().upper()
    if region and ((address_country or "").strip().upper() or phone_country) == "US":
        found.append(f"US-{region}")
    if phone_country == "FR":
        found.append("FR")
    known = _versions(table).keys()
    return tuple(dict.fromkeys(j for j in found if j in known))


def extra_zones(phone: str, phone_country: str, jurisdictions: tuple[str, ...], region: str = "") -> tuple[str, ...]:
    """Zones to check beyond the number's own (when the profile's zone is unknown): the
    area-code fixes above and every zone of the address state's jurisdiction."""
    zones: list[str] = []
    if phone_country == "US":
        zones.extend(AREA_CODE_EXTRA_ZONES.get(area_code(phone), ()))
    region_jurisdiction = f"US-{(region or '').strip().upper()}"
    if region and region_jurisdiction in jurisdictions:
        zones.extend(JURISDICTION_ZONES.get(region_jurisdiction, ()))
    return tuple(zones)


def in_effect(jurisdiction: str, day: dt.date, table: tuple[Rule, ...] | None = None) -> Rule | None:
    """The version of a jurisdiction's rule that applies on `day` (the newest one that had
    taken effect), or None before its first version."""
    current = None
    for rule in _versions(table).get(jurisdiction, ()):
        if rule.effective_from <= day:
            if current is None or rule.effective_from > current.effective_from:
                current = rule
    return current


def window_starts(jurisdictions: tuple[str, ...], table: tuple[Rule, ...] | None = None) -> frozenset[dt.time]:
    """Every time of day at which one of these jurisdictions' windows opens (any version)."""
    versions = _versions(table)
    return frozenset(start for jurisdiction in jurisdictions for rule in versions.get(jurisdiction, ())
                     for windows in rule.week for start, _ in windows)


def current_rules(day: dt.date, table: tuple[Rule, ...] | None = None) -> list[Rule]:
    """The version of every jurisdiction's rule in effect on `day`, in table order."""
    found = [in_effect(jurisdiction, day, table) for jurisdiction in _versions(table)]
    return [rule for rule in found if rule is not None]


def wider_than(start: dt.time, end: dt.time, overnight: bool, day: dt.date, table: tuple[Rule, ...] | None = None) -> list[Rule]:
    """The rules in effect on `day` that allow less than a store window from `start` to `end`
    (`overnight`: the window runs past midnight): texts to their people keep their own hours."""
    def store_allows(clock: dt.time) -> bool:
        if start == end:
            return overnight  # an overnight window with equal ends is the whole day
        return start <= clock < end if start < end else (clock >= start or clock < end)

    stricter = []
    for rule in current_rules(day, table):
        if rule.closed_on_holidays or any(not windows for windows in rule.week):
            stricter.append(rule)  # closed days the store's window knows nothing of
            continue
        # What the store allows and the rule doesn't, if anything, begins at the store's
        # start, at midnight or where one of the rule's windows ends: try just those.
        for weekday in range(7):
            candidates = {start, dt.time(0), *(b for _, b in rule.week[weekday])}
            if any(store_allows(clock) and not any(a <= clock < b for a, b in rule.week[weekday]) for clock in candidates):
                stricter.append(rule)
                break
    return stricter


def index(table: tuple[Rule, ...]) -> dict[str, tuple[Rule, ...]]:
    """Every jurisdiction's versions, in table order (jurisdictions in order of first row)."""
    versions: dict[str, list[Rule]] = {}
    for rule in table:
        versions.setdefault(rule.jurisdiction, []).append(rule)
    return {jurisdiction: tuple(rules) for jurisdiction, rules in versions.items()}


# The gate asks for a jurisdiction's versions for every candidate moment: `RULES` indexed once.
# (A test that swaps in a table of its own swaps `_VERSIONS` with it.)
_VERSIONS: dict[str, tuple[Rule, ...]] = index(RULES)


def _versions(table: tuple[Rule, ...] | None) -> dict[str, tuple[Rule, ...]]:
    return _VERSIONS if table is None else index(table)


@lru_cache(maxsize=64)
def _holidays(country: str, year: int):
    return holidays.country_holidays(country, years=year)
