"""Merge-tag rendering: renders/s of a compiled template over many recipients.

Each template is compiled once (`compile_template`) and rendered for every recipient context
(10,000 synthetic profiles, built once with `build_context`; no database). Measured:
  - a typical campaign text (3 tags, one `default` filter) — served by the plain-template path;
  - the seed documents' {FirstName}-style text (translated to Liquid);
  - a text with {% if %} / {% case %}, which Python-liquid renders itself;
  - build_context + render per recipient (what a send loop does per message).
Baselines, same run, same contexts: python-liquid 2 directly with the template parsed once
(the figure notes/performance.md quotes ≈ 100,000/s) and parsed anew for every recipient
(what not to do). The median of the rounds is reported.

    .venv/bin/python bench/render_bench.py [--quick]
"""
import os
import random
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
from segment_counter_bench import load_note  # noqa: E402
from liquid import Environment  # noqa: E402

from textpilot.messaging.merge_context import build_context  # noqa: E402
from textpilot.messaging.templates import compile_template  # noqa: E402

NAME = "render"
TITLE = "Merge tags: renders/s of compiled templates vs python-liquid parsed once / every time"
TARGET = 100_000
SIZES = {"quick": {"recipients": 2_000, "rounds": 3}, "default": {"recipients": 10_000, "rounds": 7}}

TYPICAL = "{{ store.name }}: Hi {{ first_name | default: \"there\" }}, 20% off everything with {{ discount_code }}. Reply STOP to opt out"
SEED = "{SiteName}: Hi {FirstName}! We miss you. Free shipping for 48h: {DiscountCodeUrl} Code {DiscountCode}. Reply STOP to opt out"
BRANCHING = (
    "{{ store.name }}: {% if first_name != blank %}Hi {{ first_name }}{% else %}Hello{% endif %}! "
    "{% case order.shipping.carrier %}{% when 'UPS' %}UPS{% else %}Your carrier{% endcase %} has your order {{ order.number }}: "
    "{{ order.shipping.tracking_url }}"
)
FIRST_NAMES = ("Ann", "Bo", "Carmen", "Dmitri", "Eve", "Fatima", "Gus", "", "", "Hiroko")


def recipients(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    store = SimpleNamespace(name="Acme Outdoors", sender_name="Acme", domain="acme.example")
    contexts = []
    for i in range(count):
        profile = SimpleNamespace(first_name=rng.choice(FIRST_NAMES), last_name="Lee")
        extra = {
            "discount_code": f"SAVE{rng.randrange(10, 40)}",
            "discount_url": f"https://acme.example/l/{i:06x}",
            "order": {"id": str(5_500_000 + i), "number": f"#{1000 + i}", "total": "49.90", "currency": "USD",
                      "shipping": {"carrier": rng.choice(("UPS", "USPS")), "tracking_url": f"https://t.example/{i}"}},
        }
        contexts.append((store, profile, extra, build_context(store, profile, extra)))
    return contexts


def per_second(function, items, rounds: int) -> float:
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for item in items:
            function(item)
        rates.append(len(items) / (time.perf_counter() - started))
    return statistics.median(rates)


def run(quick: bool = False, full: bool = False) -> dict:
    size = SIZES["quick" if quick else "default"]
    started_at, started, load_before = harness.machine_info()["date"], time.perf_counter(), os.getloadavg()[0]
    people = recipients(size["recipients"])
    contexts = [context for *_, context in people]
    rounds = size["rounds"]
    liquid = Environment()

    metrics = []
    for label, text in (("typical campaign text", TYPICAL), ("seed {FirstName} style", SEED), ("with if/case (Liquid renders)", BRANCHING)):
        compiled = compile_template(text)
        parsed_once = liquid.from_string(compiled.translation.source)
        once = per_second(parsed_once.render, contexts, rounds)
        metrics.append(harness.metric(
            f"{label}: compile once, render", per_second(compiled.render, contexts, rounds), "renders/s",
            f"≥ {TARGET:,} renders/s" if text is TYPICAL else "", once, "python-liquid, parsed once",
        ))
        if text is TYPICAL:
            sample = contexts[: max(200, len(contexts) // 20)]
            every = per_second(lambda context, compiled=compiled: liquid.from_string(compiled.translation.source).render(context), sample, rounds)
            metrics.append(harness.metric(f"{label}: python-liquid parsing for every recipient", every, "renders/s"))
    typical = compile_template(TYPICAL)
    metrics.append(harness.metric(
        "typical: build_context + render per recipient",
        per_second(lambda person: typical.render(build_context(*person[:3])), people, rounds), "renders/s",
    ))
    return {
        "name": NAME,
        "title": TITLE,
        "description": __doc__.split("\n\n")[1],
        "params": {"recipients": len(contexts), "rounds": rounds},
        "machine": harness.machine_info(),
        "started_at": started_at,
        "seconds": time.perf_counter() - started,
        "notes": ["One process, one core; contexts are plain dicts built once (except in the build_context line).",
                  load_note(load_before)],
        "runs": [{"label": "in-process, one core", "database": {"vendor": "Python", "version": harness.machine_info()["python"]}, "metrics": metrics}],
    }


if __name__ == "__main__":
    sys.exit(harness.run_standalone(run, __doc__))
