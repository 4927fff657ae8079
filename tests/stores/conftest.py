"""Fixtures of the tenant-isolation tests: store A ("acme", the caller) and store B ("berlin",
the target), each with one of everything (tests/tenant_world.py).

The two worlds take a second or two to build, and some 140 tests use them: they are built
once per test module inside a transaction that is rolled back after the module, and each
test runs in a savepoint of it (pytest-django's `db`), rolled back after the test."""
import pytest


@pytest.fixture(scope="module")
def module_worlds(django_db_setup, django_db_blocker, refusing_shopify):
    from django.db import transaction
    from django.test import Client
    from tenant_world import build_world

    from textpilot.stores import service

    with django_db_blocker.unblock(), transaction.atomic():
        client = Client()
        acme = service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")
        berlin = service.create_store("Berlin Boutique", slug="berlin", timezone="Europe/Berlin", currency="EUR", country="DE")
        yield build_world(client, acme, "ACMEMARK", refusing_shopify), build_world(client, berlin, "BERLINMARK", refusing_shopify)
        transaction.set_rollback(True)


@pytest.fixture
def worlds(module_worlds, db):
    """(A, B). `db` after `module_worlds`: the test's savepoint opens inside the worlds' transaction."""
    return module_worlds
