"""Consent precedence: the one rule that decides a number's SMS status from its evidence.

An opt-out textpilot observed itself (a STOP or a clear "please stop" reply texted to us, a
carrier's opt-out report, a staff action, a privacy erase) *stands*: it is lifted only by an
opt-in that

  1. came through a channel that proves the person's intent — observed by textpilot (START /
     YES texted to us, a confirmed double opt-in, staff acting on the customer's request) or a
     form submission with evidence (the disclosure shown plus an IP or user agent); and
  2. happened after the opt-out — both by its own claimed time and by the server's clock.

Opt-ins that are merely *reported* (an API call without evidence, a CSV import, a platform
sync such as Shopify) never lift a standing opt-out; the code recording them refuses or skips
them and says why. Between reported changes the newest claimed time wins, as before.

Times: a client may say when a change happened (`occurred_at`) but never later than the server
recorded it, so a clock running ahead (or a forged timestamp) can't make an old opt-in look
newer than a STOP. Claims more than `FUTURE_SKEW` in the future are refused outright, and so
are absurdly old ones.

`step` is the rule for one new event; `fold` applies it to a whole trail in time order. The
service keeps `Profile.sms_status / sms_status_at / sms_opted_out_at` equal to `fold(trail)` by
calling `step` on every new event under a row lock (a property test checks they agree).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from textpilot.common.errors import FieldError
from textpilot.profiles.models import ConsentBasis, ConsentStatus

# A client clock this far ahead of ours is tolerated (the claim is clamped to "now").
FUTURE_SKEW = dt.timedelta(minutes=5)
# Nothing about SMS consent can predate SMS marketing; earlier dates are typos or junk.
EARLIEST_CLAIM = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
# The widest real UTC offset is +14:00 (Kiribati) and -12:00; allow a little slack, no more.
MAX_OFFSET = dt.timedelta(hours=14)

OPT_INS = frozenset({ConsentStatus.SUBSCRIBED, ConsentStatus.PENDING})
INTENT_BASES = frozenset({ConsentBasis.OBSERVED, ConsentBasis.EVIDENCED})


@dataclasses.dataclass(frozen=True)
class State:
    status: str = ConsentStatus.NEVER
    status_at: dt.datetime | None = None
    opted_out_at: dt.datetime | None = None  # server time of the standing observed opt-out


@dataclasses.dataclass(frozen=True)
class Change:
    status: str
    basis: str
    occurred_at: dt.datetime  # as claimed (already clamped to recorded_at)
    recorded_at: dt.datetime  # server time


@dataclasses.dataclass(frozen=True)
class Verdict:
    state: State
    refused: str = ""  # why an opt-in may not lift the standing opt-out ("" when it applied or was simply older)

    @property
    def changed_status(self) -> bool:
        return not self.refused


def effective_time(change: Change) -> dt.datetime:
    """When a change counts as having happened. Observed opt-outs count from the moment we
    recorded them (the sender can't pick their time); everything else from its claim, never
    later than the server's clock."""
    if change.status == ConsentStatus.UNSUBSCRIBED and change.basis == ConsentBasis.OBSERVED:
        return change.recorded_at
    return min(change.occurred_at, change.recorded_at)


def step(state: State, change: Change) -> Verdict:
    """The state after one more event. Never raises: an opt-in that may not apply leaves the
    state as it was and says why in `refused`."""
    at = effective_time(change)
    if change.status == ConsentStatus.UNSUBSCRIBED and change.basis == ConsentBasis.OBSERVED:
        # An observed opt-out wins at once, whatever the trail claims about later times.
        return Verdict(State(ConsentStatus.UNSUBSCRIBED, at, at))
    if change.status in OPT_INS and state.opted_out_at is not None:
        if change.basis not in INTENT_BASES:
            return Verdict(state, f"a {change.basis} opt-in can't lift that (only START texted to the store, a sign-up "
                                  "form with its disclosure and IP, a confirmed double opt-in or staff can)")
        if at <= state.opted_out_at:
            return Verdict(state, "this opt-in happened before that")
        if state.status_at is not None and at < state.status_at:
            return Verdict(state)  # a later change is already known
        # Pending (a sign-up awaiting its confirmation) keeps the opt-out standing: only the
        # confirmation itself may lift it, or a reported opt-in would slip through.
        return Verdict(State(change.status, at, None if change.status == ConsentStatus.SUBSCRIBED else state.opted_out_at))
    if state.status_at is not None and at < state.status_at:
        return Verdict(state)  # older than what we know: evidence only
    return Verdict(State(change.status, at, state.opted_out_at))


def fold(changes: Iterable[Change]) -> State:
    """The status a whole trail gives, taking events in the order they happened (ties: the
    order they were recorded in)."""
    state = State()
    # sorted() is stable: give the trail in recording order and exact ties keep it.
    for change in sorted(changes, key=lambda c: (effective_time(c), c.recorded_at)):
        state = step(state, change).state
    return state


def merged_state(trail: list[Change], stored: list[State]) -> State:
    """The status of profiles merged into one person: what their joint trail gives. Statuses
    stored without evidence (bulk loads) count only where they are safe: on their own when
    there is no trail at all, and as a newer opt-out otherwise."""
    if trail:
        state = fold(trail)
    else:
        state = max(stored, key=lambda s: (s.status_at is not None, s.status_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc)))
    for other in stored:
        newer = other.status_at is not None and (state.status_at is None or other.status_at > state.status_at)
        if other.status == ConsentStatus.UNSUBSCRIBED and newer:
            state = State(other.status, other.status_at, other.opted_out_at or state.opted_out_at)
    return state


def change_of(event) -> Change:
    """A stored ConsentEvent as a Change."""
    return Change(event.status, event.basis, event.occurred_at, event.recorded_at)


def state_of(profile) -> State:
    return State(profile.sms_status, profile.sms_status_at, profile.sms_opted_out_at)


def basis_of_client_report(*, consent_text: str = "", ip_address: str | None = None, user_agent: str = "", **_) -> str:
    """An API client's consent change counts as a form submission with evidence when it
    carries the disclosure shown and where it was accepted; otherwise it is only reported."""
    if (consent_text or "").strip() and (ip_address or (user_agent or "").strip()):
        return ConsentBasis.EVIDENCED
    return ConsentBasis.REPORTED


def clean_claimed_time(value: dt.datetime | None, now: dt.datetime, field: str = "occurred_at") -> dt.datetime:
    """A client's `occurred_at`, checked: a real offset, not absurdly old, not in the future
    beyond a small clock skew (then clamped to now). None means now."""
    if value is None:
        return now
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.timezone.utc)  # as everywhere in the API: no offset means UTC
    if abs(value.utcoffset()) > MAX_OFFSET:
        raise FieldError(f"time zone offset {value.utcoffset()} is beyond ±14 h", field=field)
    try:
        value = value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise FieldError("is out of range", field=field) from None
    if value < EARLIEST_CLAIM:
        raise FieldError(f"{value:%Y-%m-%d} is before {EARLIEST_CLAIM:%Y}: not a real consent time", field=field)
    if value > now + FUTURE_SKEW:
        raise FieldError(f"{value:%Y-%m-%d %H:%M} UTC is in the future (server time {now:%Y-%m-%d %H:%M} UTC)", field=field)
    return min(value, now)
