"""Fixtures shared by every test. The same suite runs on SQLite and on PostgreSQL: the
database is whatever DATABASE_URL names (`make test` runs it once for each)."""
import os

import pytest

os.environ.setdefault("REDIS_URL_FOR_TESTS", os.environ.get("TEXTPILOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of our own on PostgreSQL: several test runs (and the CI) may share
    one server, and a fixed name would make them drop each other's database."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"]:
        database.setdefault("TEST", {})["NAME"] = f"test_textpilot_{os.getpid()}"
    else:
        # A file, as in production: concurrent writers (the live server, the dispatcher's
        # threads) then wait for SQLite's lock (busy_timeout) instead of failing at once,
        # which an in-memory shared-cache database does ("database table is locked").
        import tempfile

        folder = tempfile.mkdtemp(prefix="textpilot-test-db-")
        database.setdefault("TEST", {})["NAME"] = os.path.join(folder, "test.sqlite3")


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected (not skipped) on SQLite: `make test` runs the
    suite on both databases, so each of them runs exactly where it means something."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgresql_only") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(autouse=True)
def huey_immediate():
    """Tasks run inline in tests unless a test starts a real worker itself."""
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = previous


@pytest.fixture
def store(db):
    from textpilot.stores import service

    return service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")


@pytest.fixture
def other_store(db):
    from textpilot.stores import service

    return service.create_store("Berlin Boutique", slug="berlin", timezone="Europe/Berlin", currency="EUR", country="DE")


@pytest.fixture
def api_key(store):
    from textpilot.stores import service

    return service.create_api_key(store, "tests")[1]


@pytest.fixture
def other_api_key(other_store):
    from textpilot.stores import service

    return service.create_api_key(other_store, "tests")[1]


class ApiClient:
    """Django test client that speaks JSON with a bearer key."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    def _headers(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}

    def get(self, path, **params):
        return self.client.get(path, params, **self._headers())

    def post(self, path, data=None, raw=None):
        import json

        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post(path, body, content_type="application/json", **self._headers())

    def patch(self, path, data):
        import json

        return self.client.patch(path, json.dumps(data), content_type="application/json", **self._headers())


@pytest.fixture
def refused():
    """Checks that an API answer refused a value: 422 whose detail names `loc`, the value's
    path in the request (["body", "profile", "phone"], ["query", "limit"], …)."""
    def check(response, *loc):
        assert response.status_code == 422, response.content
        locs = [detail["loc"] for detail in response.json()["detail"]]
        assert list(loc) in locs, locs
        return response.json()["detail"]
    return check


@pytest.fixture
def api(client, api_key):
    return ApiClient(client, api_key)


@pytest.fixture
def other_api(client, other_api_key):
    return ApiClient(client, other_api_key)


@pytest.fixture
def owner(store):
    from textpilot.stores import service

    return service.ensure_user("owner@acme.test", "correct-horse-battery", store, "owner")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- the real browser (Debian chromium through Playwright, never `playwright install`) ----

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--no-first-run", "--disable-sync"]


@pytest.fixture
def browser():
    """A headless chromium for `@pytest.mark.browser` tests. Make the test's data before
    asking for it: Playwright's event loop runs in the test thread from then on."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # ORM calls made while Playwright's event loop runs in this thread get a connection of
            # their own; close it, or PostgreSQL refuses to drop the test database at the end.
            from django.db import connections

            connections.close_all()


@pytest.fixture
def sim_sender(store):
    """The store's default sender on the simulated carrier: no latency, instant receipts."""
    from textpilot.delivery import service

    return service.create_sender(store, name="Sim", provider="sim", from_number="+14155550100", number_type="short_code",
                                 options={"latency_ms": 0, "dlr_delay_s": 0})


@pytest.fixture
def hook_log(django_capture_on_commit_callbacks):
    """Collects what every hook (common.hooks) announces, as (hook name, store id, records).
    Use inside `with hook_log.committing():` so on-commit callbacks run in the test transaction."""
    from textpilot.common import hooks

    class HookLog(list):
        def committing(self):
            return django_capture_on_commit_callbacks(execute=True)

        def of(self, name):
            return [record for hook, _, batch in self if hook == name for record in batch]

    log = HookLog()
    listeners = {hook: (lambda store_id, batch, hook=hook: log.append((hook.name, store_id, batch))) for hook in hooks.ALL}
    for hook, listener in listeners.items():
        hook.connect(listener)
    yield log
    for hook, listener in listeners.items():
        hook.disconnect(listener)
