"""The rules table as data: area codes checked against the phonenumbers geocoder (none
missing, none wrong), zones of every area code inside its state's zones, versions chosen by
effective date (an old version stays and still applies to its own days), and which rules
are stricter than a store's window."""
import datetime as dt

import phonenumbers
import pytest
from phonenumbers import geocoder

from textpilot.delivery import sending_rules
from textpilot.delivery.sending_rules import AREA_CODES, JURISDICTION_ZONES, RULES, Rule
from textpilot.common.phones import phone_timezones

STATE_NAMES = {"FL": "Florida", "OK": "Oklahoma", "MD": "Maryland", "WA": "Washington State", "CT": "Connecticut",
               "NJ": "New Jersey", "TX": "Texas"}
# Exchanges that are in service in most area codes (the geocoder answers per prefix).
EXCHANGES = ("234", "201", "456", "555", "789", "300", "222", "888")


def geocoded_states(npa: str) -> set[str]:
    """The states (of the seven with rules) the geocoder places numbers of this area code in."""
    found = set()
    for exchange in EXCHANGES:
        description = geocoder.description_for_number(phonenumbers.parse(f"+1{npa}{exchange}4567"), "en")
        for code, name in STATE_NAMES.items():
            if description == name or description.endswith(f", {code}"):
                found.add(code)
    return found


def test_every_area_code_in_the_table_geocodes_to_its_state():
    for npa, state in AREA_CODES.items():
        assert geocoded_states(npa) == {state}, npa


def test_no_area_code_of_these_states_is_missing():
    for npa in (f"{n}" for n in range(200, 1000)):
        states = geocoded_states(npa)
        if states:
            assert AREA_CODES.get(npa) in states, (npa, states)


def test_every_area_codes_zones_are_its_states():
    for npa, state in AREA_CODES.items():
        zones = {*phone_timezones(f"+1{npa}2345678"), *sending_rules.AREA_CODE_EXTRA_ZONES.get(npa, ())}
        assert zones and zones <= set(JURISDICTION_ZONES[f"US-{state}"]), npa
    # The fixes for the library's data: Orlando's 689 is Eastern, the panhandle's 448 also Central.
    assert "America/New_York" in sending_rules.AREA_CODE_EXTRA_ZONES["689"]


def test_the_table_is_well_formed():
    keys = [rule.key for rule in RULES]
    assert len(keys) == len(set(keys))
    for rule in RULES:
        assert len(rule.week) == 7 and rule.name and rule.source, rule.key
        assert all(start < end for windows in rule.week for start, end in windows), rule.key
        assert rule.jurisdiction in JURISDICTION_ZONES, rule.key
    assert {r.jurisdiction for r in RULES} == {"US-FL", "US-OK", "US-MD", "US-WA", "US-CT", "US-NJ", "US-TX", "FR"}
    assert {r.jurisdiction for r in RULES if r.cap_24h == 3} == {"US-FL", "US-OK", "US-MD"}
    texas = sending_rules.in_effect("US-TX", dt.date(2026, 1, 1))
    assert texas.describe() == "Mon–Sat 09:00–21:00, Sun 12:00–21:00"
    assert sending_rules.in_effect("FR", dt.date(2026, 1, 1)).describe() == "Mon–Sat 08:00–22:00, Sun closed, closed on public holidays"


def test_jurisdictions_of_a_number_and_an_address():
    assert sending_rules.jurisdictions_for("+12145550123", "US") == ("US-TX",)
    assert sending_rules.jurisdictions_for("+12125550123", "US", "tx") == ("US-TX",)
    assert sending_rules.jurisdictions_for("+13055550123", "US", "TX") == ("US-FL", "US-TX")
    assert sending_rules.jurisdictions_for("+13055550123", "US", "FL") == ("US-FL",)
    assert sending_rules.jurisdictions_for("+12125550123", "US", "NY") == ()  # no rule of its own in the table
    assert sending_rules.jurisdictions_for("+12125550123", "US", "TX", "CA") == ()  # not a US address
    assert sending_rules.jurisdictions_for("+14165550123", "CA", "TX", "US") == ("US-TX",)  # a Canadian number, Texan home
    assert sending_rules.jurisdictions_for("+14165550123", "CA", "ON") == ()
    assert sending_rules.jurisdictions_for("+33612345678", "FR") == ("FR",)


OLD = Rule("US-ZZ", "Old act", dt.date(2020, 1, 1), (((dt.time(8), dt.time(21)),),) * 7, source="test")
NEW = Rule("US-ZZ", "New act", dt.date(2026, 3, 1), (((dt.time(9), dt.time(20)),),) * 7, cap_24h=2, source="test")


def test_the_version_in_effect_is_the_newest_that_had_started_and_old_versions_stay():
    table = (OLD, NEW)
    assert sending_rules.in_effect("US-ZZ", dt.date(2019, 12, 31), table) is None  # not yet in effect
    assert sending_rules.in_effect("US-ZZ", dt.date(2026, 2, 28), table) is OLD  # the old version still explains its days
    assert sending_rules.in_effect("US-ZZ", dt.date(2026, 3, 1), table) is NEW
    assert sending_rules.in_effect("US-ZZ", dt.date(2030, 1, 1), (NEW, OLD)) is NEW  # order in the table doesn't matter
    assert [r.key for r in sending_rules.current_rules(dt.date(2026, 2, 1), table)] == ["US-ZZ@2020-01-01"]
    assert sending_rules.in_effect("US-TX", dt.date(2025, 8, 31)) is None
    assert sending_rules.in_effect("US-TX", dt.date(2025, 9, 1)).key == "US-TX@2025-09-01"


@pytest.mark.parametrize("start, end, overnight, stricter", [
    # The default 8–21: every rule but New Jersey's (8–21 too) keeps its own hours.
    ((8, 0), (21, 0), False, ["US-FL", "US-OK", "US-MD", "US-WA", "US-CT", "US-TX", "FR"]),
    # 9–20 is inside every daily window, but Texas' Sunday and France's closed days remain.
    ((9, 0), (20, 0), False, ["US-TX", "FR"]),
    ((12, 0), (20, 0), False, ["FR"]),
    ((20, 0), (2, 0), True, ["US-FL", "US-OK", "US-MD", "US-WA", "US-CT", "US-NJ", "US-TX", "FR"]),
    ((8, 0), (8, 0), True, ["US-FL", "US-OK", "US-MD", "US-WA", "US-CT", "US-NJ", "US-TX", "FR"]),
])
def test_rules_stricter_than_a_store_window(start, end, overnight, stricter):
    found = sending_rules.wider_than(dt.time(*start), dt.time(*end), overnight, dt.date(2026, 6, 1))
    assert [rule.jurisdiction for rule in found] == stricter


def test_a_rule_not_yet_in_effect_is_not_listed_as_stricter():
    before_texas = sending_rules.wider_than(dt.time(9), dt.time(20), False, dt.date(2025, 6, 1))
    assert [rule.jurisdiction for rule in before_texas] == ["FR"]
