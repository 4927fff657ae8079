"""Query budget of one dispatcher batch: N marketing texts claimed, gated (with a daily spend
cap, so the spend counter is read and reserved), marked sending, handed to the provider and
recorded take a fixed number of SQL statements whatever N, plus the last look before each
provider call (one read of the recipients, one of their recent marketing).

The dispatcher does its database work in threads of its own, which Django's
CaptureQueriesContext (one connection, the calling thread's) would not see: the statements
are collected from every connection opened while a batch runs, by thread."""
import asyncio
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from test_dispatch import daytime_zone

from textpilot.common.bulk_write import POSTGRES_STAGE_FROM
from textpilot.delivery import loadgen, service
from textpilot.delivery.dispatch import MAX_TEXTS_PER_CALL, Dispatcher
from textpilot.delivery.models import Message, SimDelivery, Status
from textpilot.profiles.models import Profile

pytestmark = pytest.mark.django_db(transaction=True)

# The whole batch outside the last looks, whatever its size (10 statements):
#   claim: UPDATE … RETURNING, SELECT the claimed texts, SELECT their store;
#   gate: SELECT the compliance settings, SELECT recent marketing, SELECT today's spend (the counter);
#   mark sending: UPDATE, INSERT … ON CONFLICT DO UPDATE … RETURNING into the counter;
#   record: UPDATE … FROM (VALUES …), INSERT the attempts.
# SQLite adds a BEGIN IMMEDIATE per transaction (claim, mark sending, record); PostgreSQL's
# BEGIN/COMMIT don't go through a cursor.
BATCH_BUDGET = 10
TRANSACTIONS = 3
# On PostgreSQL, from common.bulk_write.POSTGRES_STAGE_FROM rows on, the attempts go in through
# a COPY-staged INSERT: CREATE TEMPORARY TABLE IF NOT EXISTS, SAVEPOINT, INSERT … SELECT,
# DELETE, RELEASE (the COPY itself is not a cursor.execute): 4 more statements, once per batch.
STAGED_INSERT = 4
LAST_LOOK_PER_CALL = 2


class StatementsOfEveryThread:
    """Every SQL statement run on a connection opened while this is active: (thread, sql)."""

    def __init__(self):
        self.statements: list[tuple[str, str]] = []
        self._wrapped = []

    def __enter__(self):
        connection_created.connect(self._instrument)
        return self

    def __exit__(self, *exc):
        connection_created.disconnect(self._instrument)
        for wrapped in self._wrapped:
            wrapped.execute_wrappers.remove(self._record)

    def _instrument(self, sender, connection, **kwargs):
        if self._record not in connection.execute_wrappers:
            connection.execute_wrappers.append(self._record)
            self._wrapped.append(connection)

    def _record(self, execute, sql, params, many, context):
        self.statements.append((threading.current_thread().name, sql))
        return execute(sql, params, many, context)

    def by_role(self) -> Counter:
        """Statements by who ran them: the batch's own threads, the last look's, the sim carrier's log."""
        roles = {"dispatch-db": "batch", "dispatch-check": "last look", "sim-carrier-log": "carrier"}
        return Counter(next((role for prefix, role in roles.items() if name.startswith(prefix)), name)
                       for name, _ in self.statements)


def one_batch(store, sender, texts: int) -> Counter:
    Message.objects.all().delete()
    SimDelivery.objects.all().delete()
    people = list(Profile.objects.filter(store=store))
    loadgen.queue_messages(store, sender, people, texts, kind="marketing")

    async def run():
        dispatcher = Dispatcher(batch_size=500)
        try:
            with StatementsOfEveryThread() as seen:
                handled = await dispatcher.dispatch_sender_once(sender)
        finally:
            await dispatcher.close()
        return handled, seen

    handled, seen = asyncio.run(run())
    assert handled == texts and Message.objects.filter(status=Status.SENT).count() == texts  # the whole batch went
    assert SimDelivery.objects.count() == texts
    return seen.by_role()


@pytest.fixture
def campaign(store, sim_sender):
    service.update_compliance_settings(store, daily_spend_cap="1000", smart_sending_hours=0)
    people = loadgen.synthetic_profiles(store, 200)
    Profile.objects.filter(pk__in=[p.pk for p in people]).update(timezone=daytime_zone())  # inside sending hours
    sim_sender.rate_per_second = 5000
    sim_sender.options = {**sim_sender.options, "dlr_delay_s": 3600}
    sim_sender.save()
    return store, sim_sender


def test_a_batch_costs_a_fixed_number_of_statements_plus_the_last_look_per_provider_call(campaign):
    store, sender = campaign
    small, full_call, four_calls = (one_batch(store, sender, n) for n in (10, MAX_TEXTS_PER_CALL, 4 * MAX_TEXTS_PER_CALL))
    assert small == full_call  # nothing per text
    begins = TRANSACTIONS if connection.vendor == "sqlite" else 0
    assert small["batch"] <= BATCH_BUDGET + begins, small
    staged = STAGED_INSERT if connection.vendor == "postgresql" and 4 * MAX_TEXTS_PER_CALL >= POSTGRES_STAGE_FROM else 0
    assert four_calls["batch"] == small["batch"] + staged, four_calls
    # The last look runs immediately before each provider call (one call per 50 texts here).
    assert small["last look"] == LAST_LOOK_PER_CALL
    assert four_calls["last look"] == 4 * LAST_LOOK_PER_CALL
    assert set(four_calls) <= {"batch", "last look", "carrier"}, four_calls  # no statement from anywhere else
