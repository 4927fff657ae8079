"""`textpilot worker` raises the collector's young-generation threshold once, at process
start (not inside a task: the setting is process-wide). Why and what it saves: worker.py."""
import gc

import pytest
from django.core.management import call_command
from huey.contrib.djhuey.management.commands.run_huey import Command as RunHueyCommand

from textpilot.web.management.commands import worker


@pytest.fixture
def saved_gc_threshold():
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


@pytest.mark.django_db
def test_the_consumer_starts_with_the_raised_threshold(saved_gc_threshold, monkeypatch):
    seen = []
    # The consumer loop itself never returns: record what it would start with instead.
    monkeypatch.setattr(RunHueyCommand, "handle", lambda self, *args, **options: seen.append(gc.get_threshold()))
    assert saved_gc_threshold[0] < worker.GC_THRESHOLD
    call_command("worker")
    assert seen == [(worker.GC_THRESHOLD, *saved_gc_threshold[1:])]
