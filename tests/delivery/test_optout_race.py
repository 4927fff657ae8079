"""An opt-out always wins, with real processes: a `textpilot dispatch` sends marketing at 100
texts/s while another process texts STOP for recipients whose texts are queued or already
claimed and waiting to be paced out. Counted at the sim carrier's own log:

- no marketing text reached the carrier more than 250 ms after the STOP was recorded
  (recorded_at is taken just before the commit, so the lag measured is an upper bound);
- none reached it after the STOP's confirmation did, and every STOP got one confirmation,
  quickly (it jumps the batches already claimed);
- everyone else got their text exactly once, and texts claimed before the STOP were held at
  the last look before the provider call (the wanted thing did happen, not just "nothing bad").

The full-size run (2,000 texts, 300 STOPs) is bench/optout_race_bench.py."""
import json
import subprocess
import sys

import pytest
from realprocess import prepare, start_dispatcher, stop, template, wait_until  # noqa: F401 (template is a fixture)

from textpilot.delivery import optout_race

RACE = [sys.executable, "-m", "textpilot.delivery.optout_race"]
MESSAGES, STOPS = 1000, 80  # 10 s of sending: time for the STOPs even on a loaded machine
RATE = 100


@pytest.fixture
def database(template, tmp_path):
    db, printed = prepare(template, tmp_path, [*RACE, "setup", "--messages", str(MESSAGES), "--rate", str(RATE)])
    assert printed.split()[-1] == str(MESSAGES)
    yield db
    db.drop()


def test_no_text_reaches_the_carrier_after_a_stop(database, tmp_path):
    # The stopper starts first: it waits for the carrier's first texts, so its own start-up
    # (seconds on a loaded machine) cannot make the STOPs arrive after everything went.
    ready = tmp_path / "stopper.ready"
    stopper = subprocess.Popen([*RACE, "stop", "--stops", str(STOPS), "--interval", "0.03", "--ready-file", str(ready)],
                               env=database.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(ready.exists, 120, "the stopper to start", stopper)
    dispatcher = start_dispatcher(database, tmp_path / "dispatch.log")
    try:
        out, err = stopper.communicate(timeout=300)
        assert stopper.returncode == 0, err[-3000:]
        wait_until(lambda: database.pending() == 0, 300, "the dispatcher to finish", dispatcher)
    finally:
        if stopper.poll() is None:
            stopper.kill()
        stop(dispatcher)
    stopped = {pid for pid, _ in json.loads(out.strip().splitlines()[-1])}
    report = optout_race.measure(database.conn)

    # The stopper tries STOPS while texts are still waiting; on a loaded machine each STOP takes
    # it longer and the last ones find nothing left to race. Half of them racing is plenty.
    assert len(stopped) >= STOPS // 2, f"the STOPs came too late to race anything: {len(stopped)}"
    assert set(report["stops"]) == stopped
    # Nothing after the STOP (beyond the 250 ms bar), nothing after its confirmation.
    assert report["late_texts"] == [], report["late_texts"][:10]
    assert report["after_confirmation"] == [], report["after_confirmation"][:10]
    # Each STOP: one confirmation, fast even though hundreds of texts were claimed ahead of it.
    assert report["confirmations_per_stop"] == {pid: 1 for pid in stopped}
    assert report["confirmation_lag_max_s"] < 2.0, str({k: v for k, v in report.items() if k not in ("stops", "confirmations_per_stop")})
    # The race was real: texts already claimed when their STOP came were held at the last look.
    assert report["held_at_last_look"] >= 5, report
    # And everything that should go went, exactly once.
    assert report["handed_over_twice"] == 0
    assert report["unstopped_not_sent"] == 0
    assert report["stopped_neither_sent_nor_suppressed"] == 0
