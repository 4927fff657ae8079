"""Fixtures of the segment tests: one store with the fixed population (population.py),
built once per test module inside a transaction rolled back after it (like the
tenant-isolation worlds), and its facts loaded once at population.NOW."""
import pytest


@pytest.fixture(scope="module")
def module_population(django_db_setup, django_db_blocker):
    from django.db import transaction
    from population import NOW, build

    from textpilot.segments.facts import load_facts
    from textpilot.stores import service

    with django_db_blocker.unblock(), transaction.atomic():
        store = service.create_store("Segment Shop", slug="segment-shop", timezone="America/New_York", currency="USD", country="US")
        ids = build(store)
        facts = load_facts(store, ids, NOW)
        yield store, ids, facts
        transaction.set_rollback(True)


@pytest.fixture
def population(module_population, db):
    """(store, every profile id, {id: facts}); each test runs in a savepoint inside it."""
    return module_population
