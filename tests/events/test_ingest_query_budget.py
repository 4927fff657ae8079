"""SQL statements per ingest request: a budget that fails when someone adds a query per event.

Steady state: the API key was seen (cached per process) and the profiles are known. Counted
with Django's CaptureQueriesContext, which sees every statement the request sends (Django's
per-request connection health check on a persistent connection is not among them; it runs
in production only and costs the same for any endpoint)."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


def event(i: int, **extra) -> dict:
    return {"name": "viewed_product", "profile": {"email": f"shopper{i}@example.com"},
            "properties": {"product_id": str(i), "price": "24.90"}, "idempotency_key": f"evt-{i}", **extra}


@pytest.fixture
def known(store):
    return [profiles.create_profile(store, email=f"shopper{i}@example.com").pk for i in range(120)]


@pytest.fixture
def warm_api(api, known):
    """The key checked once, as every process does at its first request."""
    assert api.post("/api/v1/events", event(119)).status_code == 201
    return api


def statements(api, path, body, status):
    with CaptureQueriesContext(connection) as queries:
        response = api.post(path, body)
    assert response.status_code == status, response.content
    return [q["sql"] for q in queries.captured_queries], response


def test_single_event_is_one_statement(warm_api, known):
    sql, response = statements(warm_api, "/api/v1/events", event(1), 201)
    assert len(sql) == 1, sql
    assert sql[0].startswith("INSERT"), sql
    stored = Event.objects.get(idempotency_key="evt-1")
    assert response.json()["id"] == stored.pk and stored.profile_id == known[1]


def test_repeated_single_event_costs_two_statements_and_records_once(warm_api, known):
    first = warm_api.post("/api/v1/events", event(2)).json()
    sql, response = statements(warm_api, "/api/v1/events", event(2), 200)
    assert len(sql) == 2, sql  # the insert that skips the key, then reading the stored event
    assert response.json()["id"] == first["id"] and response.json()["created"] is False
    assert Event.objects.filter(idempotency_key="evt-2").count() == 1


@pytest.mark.parametrize("size", [10, 100])
def test_batch_is_two_statements_whatever_its_size(warm_api, known, size):
    sql, response = statements(warm_api, "/api/v1/events/batch", {"events": [event(i) for i in range(size)]}, 200)
    assert len(sql) == 2, sql  # the profiles of the batch, then one multi-row insert
    assert response.json() == {"recorded": size, "duplicates": 0, "profiles_created": 0}
    assert sorted(Event.objects.filter(idempotency_key__startswith="evt-").exclude(idempotency_key="evt-119")
                  .values_list("profile_id", flat=True)) == sorted(known[:size])


def test_batch_of_duplicates_is_still_two_statements(warm_api, known):
    batch = {"events": [event(i) for i in range(100)]}
    assert warm_api.post("/api/v1/events/batch", batch).json()["recorded"] == 100
    sql, response = statements(warm_api, "/api/v1/events/batch", batch, 200)
    assert len(sql) == 2, sql
    assert response.json() == {"recorded": 0, "duplicates": 100, "profiles_created": 0}
    assert Event.objects.count() == 101


def test_first_request_of_a_process_checks_the_key(api, known):
    sql, _ = statements(api, "/api/v1/events", event(3), 201)
    # key lookup, its last-used stamp (at most once a minute), the insert
    assert len(sql) == 3, sql
    assert "stores_apikey" in sql[0] and sql[1].startswith("UPDATE") and sql[2].startswith("INSERT")


def test_new_profiles_take_the_exact_path_and_are_created(warm_api):
    """Not budgeted per event (identify may merge), but the result is right."""
    response = warm_api.post("/api/v1/events/batch", {"events": [event(1000 + i) for i in range(5)]})
    assert response.json() == {"recorded": 5, "duplicates": 0, "profiles_created": 5}
    assert Profile.objects.filter(email__in=[f"shopper{1000 + i}@example.com" for i in range(5)]).count() == 5
    # Once known, the same people cost the steady-state two statements.
    sql, _ = statements(warm_api, "/api/v1/events/batch",
                        {"events": [event(1000 + i, idempotency_key=f"again-{i}") for i in range(5)]}, 200)
    assert len(sql) == 2, sql
