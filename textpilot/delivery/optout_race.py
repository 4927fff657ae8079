"""The opt-out race, for tests/delivery/test_optout_race.py and bench/optout_race_bench.py:
marketing texts queued in bulk, a second process texting STOP while a dispatcher sends them,
and the measurement, read from the sim carrier's own log.

    python -m textpilot.delivery.optout_race setup --messages 600 --rate 100
    python -m textpilot.delivery.optout_race stop --stops 80 --interval 0.03   # prints the stopped [profile id, phone] pairs

`measure` takes a plain DB-API connection (sqlite3 or psycopg) to the same database, so the
measuring process needs no Django settings of its own. Not used by the product itself."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
from pathlib import Path

SLUG = "optout-race"
SHORT_CODE = "+14155550100"
# The STOPs: mostly the exact keyword, in the spellings people send.
STOP_BODIES = ("STOP", "stop", "Stop.", "QUIT", "Unsubscribe", "STOP!")
LAG_LIMIT_S = 0.25


def setup(messages: int, rate: float) -> int:
    """A store whose sending window is open all day (the race must not wait for 8:00), a sim
    sender at `rate` texts/s, and one marketing text queued per subscribed profile."""
    import datetime

    from textpilot.delivery import loadgen, service
    from textpilot.delivery.models import Kind, PRIORITY_MARKETING
    from textpilot.stores import service as stores

    store = stores.create_store("Opt-out Race", slug=SLUG, timezone="America/New_York", country="US")
    service.update_compliance_settings(store, quiet_hours_start=datetime.time(23, 59), quiet_hours_end=datetime.time(0, 0),
                                       smart_sending_hours=0)
    sender = service.create_sender(store, name="Sim", provider="sim", from_number=SHORT_CODE, number_type="short_code",
                                   rate_per_second=rate, options={"latency_ms": 5, "dlr_delay_s": 3600})
    profiles = loadgen.synthetic_profiles(store, messages)
    return loadgen.queue_messages(store, sender, profiles, messages, kind=Kind.MARKETING, priority=PRIORITY_MARKETING,
                                  body="Acme: 20% off all tents this weekend. Reply STOP to opt out")


def stop_while_sending(stops: int, interval: float, seed: int = 7, ready_file: str | None = None) -> list[tuple[int, str]]:
    """Once the carrier has the first texts, text STOP from `stops` recipients whose marketing
    text has not gone yet — every other one from a batch the dispatcher already claimed
    (status `sending`), the others still queued — one every `interval` seconds."""
    from textpilot.delivery import inbound
    from textpilot.delivery.models import Kind, Message, SimDelivery, Status
    from textpilot.stores.models import Store

    store = Store.objects.get(slug=SLUG)
    if ready_file:  # the caller starts the dispatcher only now: the race can't begin before we watch
        Path(ready_file).write_text("ready")
    deadline = time.monotonic() + 120
    while SimDelivery.objects.filter(store_id=store.pk).count() < 20:
        if time.monotonic() > deadline:
            raise SystemExit("the dispatcher never started sending")
        time.sleep(0.01)
    rng = random.Random(seed)
    stopped: list[tuple[int, str]] = []
    done: set[int] = set()
    while len(stopped) < stops:
        wanted = Status.SENDING if len(stopped) % 2 == 0 else Status.QUEUED
        waiting = Message.objects.filter(store=store, kind=Kind.MARKETING).exclude(profile_id__in=done)
        candidates = list(waiting.filter(status=wanted).values_list("profile_id", "to_phone")[:50]) or \
            list(waiting.filter(status__in=(Status.SENDING, Status.QUEUED)).values_list("profile_id", "to_phone")[:50])
        if not candidates:
            break
        profile_id, phone = rng.choice(candidates)
        inbound.receive_inbound(store, from_phone=phone, to_phone=SHORT_CODE, body=rng.choice(STOP_BODIES), provider="sim")
        stopped.append((profile_id, phone))
        done.add(profile_id)
        time.sleep(interval)
    return stopped


def measure(conn) -> dict:
    """What the carrier got, against when each STOP was recorded (sqlite3 or psycopg: both
    answer the same SQL)."""
    def rows(sql: str) -> list[tuple]:
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor.fetchall()

    stops = {pid: _time(at) for pid, at in rows(
        "SELECT profile_id, recorded_at FROM profiles_consentevent WHERE status = 'unsubscribed' AND basis = 'observed'")}
    marketing: list[tuple[int, dt.datetime, int]] = []  # (profile, handed over at, message) per carrier-log row
    confirmations: dict[int, dt.datetime] = {}  # profile -> first keyword reply handed over
    confirmation_counts: dict[int, int] = {}  # profile -> keyword replies handed over
    for pid, kind, origin, at, mid in rows("SELECT m.profile_id, m.kind, m.origin, s.accepted_at, m.id FROM delivery_simdelivery s "
                                           "JOIN delivery_message m ON s.client_ref = CAST(m.id AS VARCHAR(64))"):
        at = _time(at)
        if kind == "marketing":
            marketing.append((pid, at, mid))
        elif origin == "keyword_reply":
            confirmations[pid] = min(at, confirmations.get(pid, at))
            confirmation_counts[pid] = confirmation_counts.get(pid, 0) + 1
    after_stop = [(pid, mid, (at - stops[pid]).total_seconds()) for pid, at, mid in marketing if pid in stops and at > stops[pid]]
    confirmation_lags = sorted((at - stops[pid]).total_seconds() for pid, at in confirmations.items() if pid in stops)
    final = {pid: (status, rule, attempts) for pid, status, rule, attempts in
             rows("SELECT profile_id, status, hold_rule, attempts FROM delivery_message WHERE kind = 'marketing'")}
    held = [pid for pid in stops if final.get(pid, ("",))[0] == "suppressed" and final[pid][1] == "opted_out"]
    handed: dict[int, int] = {}
    for _, _, mid in marketing:
        handed[mid] = handed.get(mid, 0) + 1
    sent_to = {pid for pid, _, _ in marketing}
    return {
        "stops": sorted(stops),
        "marketing_handed_over": len(handed),
        "handed_over_twice": sum(1 for n in handed.values() if n > 1),
        "late_texts": [(pid, mid, round(lag, 3)) for pid, mid, lag in after_stop if lag > LAG_LIMIT_S],
        "after_stop_within_limit": sum(1 for _, _, lag in after_stop if lag <= LAG_LIMIT_S),
        "worst_lag_after_stop_s": round(max((lag for _, _, lag in after_stop), default=0.0), 4),
        "after_confirmation": [(pid, mid) for pid, at, mid in marketing if pid in confirmations and at > confirmations[pid]],
        "confirmations_per_stop": {pid: confirmation_counts.get(pid, 0) for pid in stops},
        "confirmation_lag_p50_s": round(_pct(confirmation_lags, 50), 4),
        "confirmation_lag_p95_s": round(_pct(confirmation_lags, 95), 4),
        "confirmation_lag_max_s": round(max(confirmation_lags, default=0.0), 4),
        # Held after being marked `sending` (its attempt counted): the last look stopped it.
        "held_at_last_look": sum(1 for pid in held if final[pid][2] >= 1),
        "suppressed_at_claim": sum(1 for pid in held if final[pid][2] == 0),
        "unstopped_not_sent": sum(1 for pid in final if pid not in stops and pid not in sent_to),
        "stopped_neither_sent_nor_suppressed": sum(1 for pid in stops if pid not in sent_to and pid not in held),
    }


def _time(value) -> dt.datetime:
    """Datetimes as either driver returns them (SQLite: text in UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m textpilot.delivery.optout_race")
    sub = parser.add_subparsers(dest="command", required=True)
    setup_cmd = sub.add_parser("setup")
    setup_cmd.add_argument("--messages", type=int, default=600)
    setup_cmd.add_argument("--rate", type=float, default=100)
    stop_cmd = sub.add_parser("stop")
    stop_cmd.add_argument("--stops", type=int, default=80)
    stop_cmd.add_argument("--interval", type=float, default=0.03)
    stop_cmd.add_argument("--ready-file", help="written once this process is up and watching the carrier")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
    import django

    django.setup()
    if args.command == "setup":
        print(setup(args.messages, args.rate))
    else:
        print(json.dumps(stop_while_sending(args.stops, args.interval, ready_file=args.ready_file)))


if __name__ == "__main__":
    main()
