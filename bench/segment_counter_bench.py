"""Segment counter: bodies/s of `count_segments` on a realistic mix, vs a naive codec count.

The mix (fixed seed): short and long marketing texts in plain ASCII, texts with extension
characters and GSM-7 accents (€, [ ], é, ü), texts with typographic quotes and non-Latin
scripts (UCS-2), texts with emoji, and texts sitting on the 160/153/70/67 limits. Each round
counts every body once; the figure is the median of the rounds (the best one is noted).

Baseline, same run, same bodies: the obvious implementation — `text.encode("gsm03.38")`
with the gsm0338 codec (septets = encoded length; on UnicodeEncodeError count UTF-16 units),
then ceil(units / 153 or 67). It also gets segment counts wrong at escape/surrogate
boundaries; the number of such bodies in the mix is reported.
Also measured: `split_segments` on the multi-part bodies (what the SMPP provider calls).

    .venv/bin/python bench/segment_counter_bench.py [--quick]
"""
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402

from textpilot.messaging.encoding import count_segments, split_segments  # noqa: E402

NAME = "segment_counter"
TITLE = "Segment counter: count_segments bodies/s on a realistic mix vs a naive gsm0338 codec count"
TARGET = 200_000
SIZES = {"quick": {"bodies": 2_000, "rounds": 5}, "default": {"bodies": 20_000, "rounds": 15}}

WORDS = ("sale", "today", "only", "your", "cart", "is", "waiting", "free", "shipping", "on", "orders", "over", "new",
         "arrivals", "just", "dropped", "use", "code", "at", "checkout", "hi", "thanks", "for", "order", "shipped")
MIX = (  # (share, kind)
    (0.45, "ascii_short"), (0.12, "ascii_long"), (0.10, "gsm_extension"), (0.08, "gsm_accents"),
    (0.10, "ucs2_quotes"), (0.05, "ucs2_script"), (0.07, "emoji"), (0.03, "boundary"),
)


def make_body(kind: str, rng: random.Random) -> str:
    def words(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    brand, opt_out, link = "Acme: ", " Reply STOP to opt out", f" https://acme.co/l/{rng.randrange(36**6):06x}"
    if kind == "ascii_short":
        return brand + words(rng.randint(6, 16)) + link + opt_out
    if kind == "ascii_long":
        return brand + words(rng.randint(40, 90)) + link + opt_out
    if kind == "gsm_extension":
        return brand + words(rng.randint(5, 40)) + f" [{rng.randint(5, 50)}€ off] {{VIP}} ~ " + words(5) + opt_out
    if kind == "gsm_accents":
        return brand + "Grüße! Ihr Rabatt: " + words(rng.randint(5, 30)) + " für Sie, café é à ñ" + opt_out
    if kind == "ucs2_quotes":
        return brand + "It’s “back” — " + words(rng.randint(5, 35)) + "…" + opt_out
    if kind == "ucs2_script":
        return rng.choice(("Акме: скидка 20% на всё сегодня ", "아크미: 오늘만 20% 할인 ", "أكمي: خصم ٢٠٪ اليوم ")) * rng.randint(1, 4) + "STOP"
    if kind == "emoji":
        return brand + words(rng.randint(4, 30)) + " " + rng.choice("🎉👋🔥🛒❤️✨") + link + opt_out
    filler = rng.choice(("a" * 159 + "€", "a" * 152 + "€" + "a" * 152, "ж" * 66 + "😀" + "ж" * 66, "a" * 160, "ж" * 70))
    return filler


def corpus(count: int, seed: int = 42) -> list[str]:
    rng = random.Random(seed)
    kinds = rng.choices([kind for _, kind in MIX], weights=[share for share, _ in MIX], k=count)
    return [make_body(kind, rng) for kind in kinds]


def naive_count(text: str) -> tuple[str, int, int]:
    try:
        units = len(text.encode("gsm03.38"))
        encoding, single, per_part = "GSM-7", 160, 153
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, per_part = "UCS-2", 70, 67
    return encoding, units, 1 if units <= single else -(-units // per_part)


def bodies_per_second(function, bodies: list[str], rounds: int) -> tuple[float, float]:
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for body in bodies:
            function(body)
        rates.append(len(bodies) / (time.perf_counter() - started))
    return statistics.median(rates), max(rates)


def run(quick: bool = False, full: bool = False) -> dict:
    size = SIZES["quick" if quick else "default"]
    started_at, started, load_before = harness.machine_info()["date"], time.perf_counter(), os.getloadavg()[0]
    bodies = corpus(size["bodies"])
    multipart = [body for body in bodies if count_segments(body).segments > 1]

    ours, ours_best = bodies_per_second(count_segments, bodies, size["rounds"])
    split, _ = bodies_per_second(split_segments, multipart, max(3, size["rounds"] // 3))
    metrics = [
        harness.metric("count_segments (median of rounds)", ours, "bodies/s", f"≥ {TARGET:,} bodies/s"),
        harness.metric("count_segments (best round)", ours_best, "bodies/s"),
        harness.metric("split_segments, multi-part bodies only", split, "bodies/s"),
    ]
    notes = [f"{len(bodies):,} bodies, {len(multipart):,} of them multi-part; {size['rounds']} rounds."]
    notes.append(load_note(load_before))
    try:
        import gsm0338  # noqa: F401 - registers the codec; a test dependency
    except ImportError:
        notes.append("baseline skipped: gsm0338 is not installed (pip install gsm0338==1.1.0)")
    else:
        naive, _ = bodies_per_second(naive_count, bodies, max(2, size["rounds"] // 5))
        metrics[0]["baseline"], metrics[0]["baseline_label"] = naive, "gsm0338 codec encode, same bodies"
        metrics.append(harness.metric("speed-up over the codec count", ours / naive, "×"))
        counts = [(naive_count(body), count_segments(body)) for body in bodies]
        disagreements = sum(1 for naive, ours_count in counts if naive[:2] != (ours_count.encoding, ours_count.units))
        wrong_segments = sum(1 for naive, ours_count in counts if naive[2] != ours_count.segments)
        notes.append(
            f"encoding/units disagreements with the codec: {disagreements}; bodies where the naive ceil() "
            f"segment count is wrong (escape or surrogate pair at a part boundary): {wrong_segments}."
        )
    return {
        "name": NAME,
        "title": TITLE,
        "description": __doc__.split("\n\n")[1],
        "params": {"bodies": len(bodies), "rounds": size["rounds"], "mix": {kind: share for share, kind in MIX}},
        "machine": harness.machine_info(),
        "started_at": started_at,
        "seconds": time.perf_counter() - started,
        "notes": notes,
        "runs": [{"label": "in-process, one core", "database": {"vendor": "Python", "version": harness.machine_info()["python"]}, "metrics": metrics}],
    }


def load_note(load_before: float) -> str:
    # Other work on a shared machine slows every figure (baselines too): say how busy it was.
    return f"1-minute load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores."


if __name__ == "__main__":
    sys.exit(harness.run_standalone(run, __doc__))
