"""The sender's rate shared through Redis (ratelimit.SharedRateLimiter, the real Redis at
TEXTPILOT_TEST_REDIS_URL): dispatchers booking from one schedule together keep the sender's
rate whatever their number, and when one dies the others get its slots at once.

The schedule's slots are exact numbers on Redis's clock, so the limiter tests assert the
GCRA arithmetic itself (bookings never overlap, a survivor's bookings are back to back) rather
than wall-clock rates; the process test counts the sim carrier's log against a bound derived
from the same arithmetic."""
import asyncio
import datetime as dt
import signal
import sys
import time
import types
import uuid

import pytest
import redis
from concurrently import at_once
from realprocess import REDIS_URL, clear_rate_schedules, prepare, start_dispatcher, stop, template, wait_for_log, wait_until  # noqa: F401

from textpilot.delivery.dispatch import PACING_TICK_SECONDS
from textpilot.delivery.ratelimit import CATCH_UP_SECONDS, GCRA_SCRIPT, Limiters

RATE = 400
INTERVAL_US = 1_000_000 / RATE
BLOCK = int(RATE * PACING_TICK_SECONDS)  # texts per booking, as the dispatcher books them
SENDER = types.SimpleNamespace(pk=7, rate_per_second=RATE)


@pytest.fixture
def prefix():
    """A key prefix of this test's own in the test Redis; its keys are removed afterwards."""
    name = f"textpilot-test:{uuid.uuid4().hex}"
    yield name
    clear_rate_schedules(name)


def book_until(prefix: str, owner: str, seconds: float, bookings: list) -> None:
    """A dispatcher's pacing loop without the texts: book a block, sleep until its first slot,
    book the next, for `seconds` of Redis time. Records (owner, first slot µs, slots, wait)."""
    async def run():
        limiters = Limiters(owner, redis_url=REDIS_URL, prefix=prefix)
        limiter = limiters.for_sender(SENDER)
        try:
            until = None
            while True:
                wait = await limiter.reserve(BLOCK)
                bookings.append((owner, limiter.last_start_us, BLOCK, wait))
                until = until or limiter.last_start_us + seconds * 1e6
                if limiter.last_start_us >= until:
                    return
                await asyncio.sleep(wait)
        finally:
            await limiters.close()

    asyncio.run(run())


def run_bookers(prefix: str, seconds: dict[str, float]) -> list:
    bookings: list = []
    at_once(lambda owner: book_until(prefix, owner, seconds[owner], bookings), list(seconds))
    return sorted(bookings, key=lambda booking: booking[1])


def assert_never_overlapping(bookings: list) -> None:
    """The GCRA invariant: each booking starts no earlier than the previous one ends, so any
    window of W seconds holds at most W × rate + one block of slots, however many book."""
    for (_, start, count, _), (_, following, _, _) in zip(bookings, bookings[1:]):
        assert following >= start + count * INTERVAL_US - 1, (start, following)  # 1 µs: rounding of the µs clock


def test_two_dispatchers_booking_at_once_share_one_schedule_at_the_senders_rate(prefix):
    bookings = run_bookers(prefix, {"a": 1.5, "b": 1.5})
    assert_never_overlapping(bookings)
    by_owner = {owner: sum(count for who, _, count, _ in bookings if who == owner) for owner in "ab"}
    assert min(by_owner.values()) > 0, by_owner  # both booked: they really shared the schedule
    # Over the measured span the two together got the sender's rate, not twice it: every slot
    # from the first to the last is booked once (back to back while both keep asking).
    first, last = bookings[0], bookings[-1]
    span_slots = (last[1] + last[2] * INTERVAL_US - first[1]) / INTERVAL_US
    total = sum(count for _, _, count, _ in bookings)
    assert total <= span_slots + 1
    assert total >= span_slots - (CATCH_UP_SECONDS * RATE)  # no share was left idle beyond a stall's catch-up


def test_when_one_dispatcher_dies_the_other_gets_every_slot(prefix):
    # "a" stops booking after 0.5 s of slots (it died); "b" goes on for 1.5 s.
    bookings = run_bookers(prefix, {"a": 0.5, "b": 1.5})
    assert_never_overlapping(bookings)
    died_at = max(start + count * INTERVAL_US for who, start, count, _ in bookings if who == "a")
    after = [b for b in bookings if b[1] >= died_at]
    assert after and all(who == "b" for who, *_ in after)
    # From then on each of b's bookings starts where its previous one ended: b is never
    # made to wait for a share kept for the dead one (with static shares it would wait
    # twice as long). The only exception would be b itself falling behind (then it
    # books from "now" and waits nothing).
    for (_, start, count, _), (_, following, _, wait) in zip(after, after[1:]):
        assert abs(following - (start + count * INTERVAL_US)) <= 1 or wait == 0, (start, following, wait)
    b_alone = sum(count for _, _, count, _ in after)
    alone_slots = (after[-1][1] + after[-1][2] * INTERVAL_US - after[0][1]) / INTERVAL_US
    assert b_alone >= alone_slots - CATCH_UP_SECONDS * RATE  # b alone booked (nearly) every slot: the whole rate


def test_the_dispatcher_count_setting_is_ignored_with_redis(prefix, monkeypatch):
    monkeypatch.setenv("TEXTPILOT_DISPATCH_WORKERS", "4")  # a stale setting from a static-share setup
    bookings = run_bookers(prefix, {"a": 0.3})
    gaps = {following - start for (_, start, *_), (_, following, *_) in zip(bookings, bookings[1:])}
    assert gaps and all(abs(gap - BLOCK * INTERVAL_US) <= 1 for gap in gaps)  # the full rate, not a quarter of it


def test_without_redis_a_shared_limiter_paces_alone_at_its_last_known_share(prefix):
    async def run():
        limiters = [Limiters(owner, redis_url=REDIS_URL, prefix=prefix) for owner in "ab"]
        try:
            limiter = limiters[0].for_sender(SENDER)
            await limiters[1].for_sender(SENDER).reserve(1)
            await limiter.reserve(1)
            assert limiter.sharing == 2  # Redis counted both dispatchers
            dead = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
            limiter._script = dead.register_script(GCRA_SCRIPT)  # Redis stops answering
            waits = [await limiter.reserve(1) for _ in range(5)]
            await dead.aclose()
            return waits
        finally:
            for each in limiters:
                await each.close()

    waits = asyncio.run(run())
    # Paced in process memory at half the rate (the two seen sharing it), not at the full rate.
    steps = [b - a for a, b in zip(waits, waits[1:])]
    assert steps == pytest.approx([2 / RATE] * 4, abs=0.5e-3)


def test_schedule_keys_live_on_one_cluster_slot_and_expire(prefix):
    async def run():
        limiters = Limiters("a", redis_url=REDIS_URL, prefix=prefix)
        try:
            await limiters.for_sender(SENDER).reserve(BLOCK)
        finally:
            await limiters.close()

    asyncio.run(run())
    client = redis.Redis.from_url(REDIS_URL)
    keys = sorted(key.decode() for key in client.scan_iter(f"{prefix}:*"))
    assert keys == [f"{prefix}:{{7}}:next", f"{prefix}:{{7}}:who"]
    assert all(0 < client.pttl(key) <= 10_000 for key in keys)  # an idle sender leaves nothing behind


# --- real dispatcher processes ------------------------------------------------------------

PROCESS_RATE, PROCESS_TEXTS = 200, 1200
PROCESS_SETUP = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.delivery import loadgen, service
from textpilot.stores import service as stores
store = stores.create_store("Shared Rate", slug="shared-rate", timezone="America/New_York", country="US")
sender = service.create_sender(store, name="Sim", provider="sim", from_number="+14155550100", number_type="short_code",
                               rate_per_second=%d, options={"latency_ms": 5, "dlr_delay_s": 3600})
queued = loadgen.queue_messages(store, sender, loadgen.synthetic_profiles(store, 300), %d)
from django.utils import timezone
from textpilot.delivery.models import Message
Message.objects.update(send_after=timezone.now() + timezone.timedelta(hours=1))  # due when the test says so
print(queued)
"""


@pytest.fixture
def rate_database(template, tmp_path):
    clear_rate_schedules()
    db, printed = prepare(template, tmp_path, [sys.executable, "-c", PROCESS_SETUP % (PROCESS_RATE, PROCESS_TEXTS)])
    assert printed.split()[-1] == str(PROCESS_TEXTS)
    yield db
    db.drop()
    clear_rate_schedules()


def handed_over_times(db) -> list[float]:
    """When the sim carrier accepted each text (unix seconds), in order."""
    return sorted(_unix(at) for (at,) in db.conn.execute("SELECT accepted_at FROM delivery_simdelivery").fetchall())


def _unix(value) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def test_two_dispatcher_processes_keep_the_senders_rate_and_one_takes_all_of_it_when_the_other_dies(rate_database, tmp_path):
    """Two `textpilot dispatch` processes with REDIS_URL and no TEXTPILOT_DISPATCH_WORKERS (the
    setting a static share would need, forgotten), against one sender at 200/s; one is
    killed with SIGKILL part way."""
    db, env = rate_database, {"REDIS_URL": REDIS_URL, "TEXTPILOT_DISPATCH_LEASE_SECONDS": "5", "TEXTPILOT_LOG_LEVEL": "INFO"}
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [start_dispatcher(db, log, "--batch-size", "50", **env) for log in logs]
    try:
        for log in logs:  # both up and polling; nothing is due yet, so nothing booked a slot
            wait_for_log(log, "dispatcher.started", 60, *workers)
        started = time.time()
        db.make_due()
        wait_until(lambda: db.handed_over() >= 400, 60, "400 texts handed over", *workers)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        killed_at = time.time()
        wait_until(lambda: db.pending() == 0, 120, "the survivor to finish", workers[1])
    finally:
        stop(*workers)

    times = handed_over_times(db)
    assert len(times) == PROCESS_TEXTS == db.value("SELECT count(DISTINCT client_ref) FROM delivery_simdelivery")
    # The GCRA bound, from the schedule's arithmetic: every text's slot is at least 1/R after
    # the previous one, none before the texts became due, and a text leaves at most one
    # pacing tick before its slot. So the k-th text handed over (by the carrier's clock) left
    # no earlier than started + (k − 1)/R − tick, whoever sent it. Twice the rate (a static
    # share of 1 each) breaks this within the first second.
    for k, at in enumerate(times, start=1):
        assert at >= started + (k - 1) / PROCESS_RATE - PACING_TICK_SECONDS, (k, at - started)
    # While both ran, and after one died, the sender got (nearly) its whole rate: the
    # survivor is not left with a dead dispatcher's share kept for it (a static half share
    # would give 100/s). Measured over 2 s windows; 70 % leaves room for a busy machine.
    first = times[0]
    both = sum(1 for at in times if first + 0.2 <= at < first + 1.7)
    alone = sum(1 for at in times if killed_at + 0.5 <= at < killed_at + 2.5)
    assert both >= 0.7 * PROCESS_RATE * 1.5, both
    assert alone >= 0.7 * PROCESS_RATE * 2.0, alone
