"""common/leasing.py on a real table (messages, as the dispatcher leases them): claims never
overlap, even from concurrent threads; a lost lease writes nothing; a lease that ran out is
taken again; renewing pushes the expiry."""
import datetime as dt

import pytest
from concurrently import at_once
from django.utils import timezone

from textpilot.common.leasing import Leases
from textpilot.delivery import loadgen
from textpilot.delivery.models import Message, Status

pytestmark = pytest.mark.django_db(transaction=True)

LEASES = Leases(Message, seconds=30)


@pytest.fixture
def queued(store, sim_sender):
    people = loadgen.synthetic_profiles(store, 20)
    loadgen.queue_messages(store, sim_sender, people, 200)
    return Message.objects.filter(status=Status.QUEUED)


def test_concurrent_claims_take_disjoint_rows_until_none_are_left(queued):
    claimed: list[list[int]] = []

    def worker(name):
        while True:
            _, ids = LEASES.claim(queued.order_by("id"), limit=7, owner=name, now=timezone.now())
            if not ids:
                return
            claimed.append(ids)

    at_once(worker, [f"w{i}" for i in range(4)])
    every = [pk for ids in claimed for pk in ids]
    assert len(every) == len(set(every)) == 200  # each row claimed exactly once
    assert all(len(ids) <= 7 for ids in claimed)
    # Each claim wrote its own token and an expiry into exactly its rows.
    tokens = Message.objects.order_by().values_list("lease_owner", flat=True).distinct()
    assert len(tokens) == len(claimed) and all(token.startswith("w") for token in tokens)


def test_claim_takes_due_rows_in_order_and_names_them(queued):
    now = timezone.now()
    token, ids = LEASES.claim(queued.order_by("-id"), limit=5, owner="host:1", now=now)
    assert sorted(ids) == sorted(queued.order_by("-id").values_list("pk", flat=True)[:5])
    rows = Message.objects.filter(pk__in=ids)
    assert {row.lease_owner for row in rows} == {token} and token.startswith("host:1:")
    assert {row.lease_expires_at for row in rows} == {now + dt.timedelta(seconds=30)}


def test_a_lost_lease_writes_nothing_and_release_frees_the_row(queued):
    now = timezone.now()
    token, ids = LEASES.claim(queued.order_by("id"), limit=1, owner="a", now=now)
    assert LEASES.release(LEASES.held("someone-else", ids), status=Status.FAILED) == 0
    assert Message.objects.get(pk=ids[0]).status == Status.QUEUED
    assert LEASES.release(LEASES.held(token, ids), status_reason="done") == 1
    row = Message.objects.get(pk=ids[0])
    assert (row.lease_owner, row.lease_expires_at, row.status_reason) == ("", None, "done")
    assert not LEASES.held(token).exists()


def test_a_lease_that_ran_out_is_claimed_again_and_renewing_keeps_it(queued):
    start = timezone.now()
    first, ids = LEASES.claim(queued.order_by("id"), limit=2, owner="a", now=start)
    LEASES.renew(LEASES.held(first, ids[:1]), now=start + dt.timedelta(seconds=25))  # one of them renewed
    later = start + dt.timedelta(seconds=31)  # the other's lease ran out
    expired = LEASES.expired(Message.objects.filter(pk__in=ids), later)
    assert list(expired.values_list("pk", flat=True)) == ids[1:]
    second, again = LEASES.claim(queued.filter(pk__in=ids), limit=10, owner="b", now=later)
    assert again == ids[1:]
    assert LEASES.held(first).count() == 1 and LEASES.held(second).count() == 1
