"""`manage.py check` is clean at every time of day. Django warns (fields.W161, "Fixed default
value provided") about a date/time field whose fixed default lies within seconds of the
moment the check runs: a constant 21:00 default warned in any process started around 21:00
UTC. The quiet-hours defaults are callables, which the check leaves alone."""
import datetime as dt
from unittest import mock

import pytest
from django.core import checks


@pytest.mark.parametrize("clock", ["08:00:00", "08:00:05", "20:59:58", "21:00:00"])
def test_system_check_has_no_fixed_default_warning_at(clock):
    frozen = dt.datetime.combine(dt.date(2026, 3, 2), dt.time.fromisoformat(clock), tzinfo=dt.timezone.utc)
    with mock.patch("django.utils.timezone.now", return_value=frozen):
        found = checks.run_checks()
    assert [message.id for message in found if message.id == "fields.W161"] == []


def test_quiet_hours_defaults_are_still_21_and_8(db, store):
    from textpilot.delivery import service

    settings = service.compliance_settings(store)
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (dt.time(21, 0), dt.time(8, 0))
