"""common/bulk_write.py on both databases: conflicts skipped by the named key only, ids of
what was really inserted, values the same for every row, statements split under SQLite's
variable limit, COPY/executemany loads, and ids reserved that nobody else is given."""
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from textpilot.common import bulk_write
from textpilot.delivery.models import Message
from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile

COLUMNS = ("id", "profile_id", "to_phone", "origin_key", "body", "estimated_cost")


@pytest.fixture
def ann(store):
    return profiles.create_profile(store, phone="+12125550101", first_name="Ann")


def constants(store, now):
    names = [name for name, value in bulk_write.column_defaults(Message, now).items()
             if name not in COLUMNS and value is not None]
    values = {**bulk_write.column_defaults(Message, now), "store_id": store.pk, "created_at": now, "status_at": now,
              "send_after": now, "kind": "marketing"}
    return dict(zip(names + ["store_id"], bulk_write.prepared_rows(Message, names + ["store_id"], [values])[0]))


def test_on_conflict_skips_rows_of_the_named_key_and_returns_the_ids_inserted(store, ann):
    now = timezone.now()
    ids = bulk_write.reserve_ids(Message, 3)
    rows = [(ids[0], ann.pk, ann.phone, "k:1", "one", Decimal("0.011")), (ids[1], ann.pk, ann.phone, "k:2", "two", None)]
    with transaction.atomic():
        first = bulk_write.insert_rows(Message, COLUMNS, rows, constants=constants(store, now), conflict="message_unique_origin",
                                       returning="id")
        again = bulk_write.insert_rows(Message, COLUMNS, [(ids[2], ann.pk, ann.phone, "k:2", "two again", None)],
                                       constants=constants(store, now), conflict="message_unique_origin", returning="id")
    assert sorted(first) == ids[:2] and again == []
    stored = {m.origin_key: m for m in Message.objects.filter(store=store)}
    assert (stored["k:1"].body, stored["k:1"].estimated_cost, stored["k:1"].kind) == ("one", Decimal("0.011"), "marketing")
    assert stored["k:1"].created_at == now and stored["k:2"].body == "two" and len(stored) == 2
    # Another key is not covered by the named conflict: a repeated id is an error, not a skip.
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_write.insert_rows(Message, COLUMNS, [(ids[0], ann.pk, ann.phone, "k:3", "x", None)], constants=constants(store, now),
                               conflict="message_unique_origin")


def test_an_unknown_conflict_name_is_refused(store):
    with pytest.raises(ValueError, match="no unique constraint"):
        bulk_write.insert_rows(Message, COLUMNS, [(1, None, "", "k", "", None)], conflict="message_unique_typo")


def test_many_rows_are_split_into_statements_sqlite_accepts(store, ann):
    now = timezone.now()
    count = 2_345
    ids = bulk_write.reserve_ids(Message, count)
    rows = [(i, ann.pk, ann.phone, f"many:{i}", f"text {i}", None) for i in ids]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        inserted = bulk_write.insert_rows(Message, COLUMNS, rows, constants=constants(store, now), conflict="message_unique_origin",
                                          returning="id")
    assert sorted(inserted) == ids and Message.objects.filter(store=store).count() == count
    width = len(COLUMNS) + len(constants(store, now))
    expected = -(-count // min(bulk_write.SQLITE_ROWS_PER_STATEMENT, bulk_write._sqlite_variable_limit(connection) // width)) \
        if connection.vendor == "sqlite" else -(-count // bulk_write.POSTGRES_ROWS_PER_STATEMENT)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "delivery_message"')]
    assert len(inserts) == expected
    if connection.vendor == "postgresql":  # that many rows are COPYed into a temporary table first
        assert sum(q["sql"].startswith("COPY tp_stage_delivery_message") for q in queries.captured_queries) == expected


def test_json_columns_and_ignore_conflicts(store, ann):
    now = timezone.now()
    row = (store.pk, ann.pk, "viewed_product", json.dumps({"title": "Jacket", "price": 129.9}), now, now, "api", "view:1")
    columns = ("store_id", "profile_id", "name", "properties", "occurred_at", "recorded_at", "source", "idempotency_key")
    bulk_write.insert_rows(Event, columns, [row, row], json_columns=("properties",), ignore_conflicts=True)
    [event] = Event.objects.filter(store=store)
    assert event.properties == {"title": "Jacket", "price": 129.9} and event.occurred_at == now


def test_copy_rows_loads_prepared_python_values(store):
    now = timezone.now().replace(microsecond=0)
    [pk] = bulk_write.reserve_ids(Profile, 1)
    values = {**bulk_write.column_defaults(Profile, now), "id": pk, "store_id": store.pk, "phone": "+12125550199",
              "properties": {"tags": ["vip"], "size": "M"}, "latitude": 40.7128, "created_at": now - timedelta(days=3)}
    columns = [f.attname for f in Profile._meta.concrete_fields]
    with transaction.atomic():
        bulk_write.copy_rows(Profile, columns, bulk_write.prepared_rows(Profile, columns, [values]))
    profile = Profile.objects.get(pk=pk)
    assert (profile.properties, profile.latitude, profile.created_at, profile.updated_at) == (
        {"tags": ["vip"], "size": "M"}, 40.7128, now - timedelta(days=3), now)
    with pytest.raises(IntegrityError), transaction.atomic():  # a load must be new rows only
        bulk_write.copy_rows(Profile, columns, bulk_write.prepared_rows(Profile, columns, [values]))


def test_reserved_ids_are_never_given_to_anyone_else(store):
    first = bulk_write.reserve_ids(Profile, 5)
    second = bulk_write.reserve_ids(Profile, 3)
    block = bulk_write.reserve_id_block(Profile, 4)
    assert len(set(first + second)) == 8 and not set(first + second) & set(range(block, block + 4))
    # The ORM's next insert (AUTOINCREMENT / the identity sequence) lands after all of them,
    # even though none was used.
    made = profiles.create_profile(store, phone="+12125550123")
    assert made.pk > max(first + second + [block + 3])
    assert bulk_write.reserve_ids(Profile, 0) == []


def test_missing_defaults_fill_what_a_loader_does_not_write():
    now = timezone.now()
    names, values = bulk_write.missing_defaults(Profile, ["store_id", "phone", "created_at"], now)
    defaults = dict(zip(names, values))
    assert defaults["first_name"] == "" and defaults["gender"] == "" and defaults["sms_status"] == "never"
    assert "store_id" not in defaults and "email" not in defaults  # written, or NULL by default
