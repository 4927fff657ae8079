"""Per-IP rate limit of the public intake: in the database without Redis, in Redis with it,
shared by every process, and keyed by the real client address."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.test import RequestFactory

from textpilot.events import ratelimit
from textpilot.events.models import Event, PublicRateCounter

VISITOR = "0d9f3c1e-visitor-under-test"
REDIS_URL = os.environ["REDIS_URL_FOR_TESTS"]
WINDOW_START = 1_800_000_000.0  # a whole minute: 30_000_000 * 60


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the test Redis; its keys are removed afterwards."""
    prefix = f"textpilot-test:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def small_limit(settings):
    settings.PUBLIC_RATE_PER_MIN = 3
    settings.REDIS_URL = ""
    return 3


def test_the_limit_answers_429_with_retry_after_and_other_ips_go_on(public, store, small_limit):
    for _ in range(small_limit):
        assert public.track(VISITOR, "Viewed Product", ip="203.0.113.7").status_code == 201
    refused = public.track(VISITOR, "Viewed Product", ip="203.0.113.7")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "too many requests" in refused.json()["detail"][0]["msg"]
    assert Event.objects.filter(store=store).count() == small_limit

    assert public.track("another-visitor-id", "Viewed Product", ip="198.51.100.9").status_code == 201
    assert public.identify(VISITOR, email="ann@example.com", ip="203.0.113.7").status_code == 429


def test_requests_with_a_bad_key_count_too(public, small_limit):
    for _ in range(small_limit):
        assert public.track(VISITOR, "Viewed Product", key="pk_guess").status_code == 401
    assert public.track(VISITOR, "Viewed Product").status_code == 429


def test_the_limit_is_read_from_settings(public, settings):
    settings.REDIS_URL = ""
    settings.PUBLIC_RATE_PER_MIN = 1
    assert public.track(VISITOR, "Viewed Product").status_code == 201
    assert public.track(VISITOR, "Viewed Product").status_code == 429
    settings.PUBLIC_RATE_PER_MIN = 0  # off
    assert public.track(VISITOR, "Viewed Product").status_code == 201


def test_forwarded_for_from_an_untrusted_peer_is_ignored(public, small_limit, settings):
    settings.TRUSTED_PROXIES = []
    for hop in range(small_limit):
        response = public.track(VISITOR, "Viewed Product", headers={"X-Forwarded-For": f"192.0.2.{hop}"})
        assert response.status_code == 201
    assert public.track(VISITOR, "Viewed Product", headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(public, small_limit, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for _ in range(small_limit):
        assert public.track(VISITOR, "Viewed Product", ip="10.0.0.2", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 201
    assert public.track(VISITOR, "Viewed Product", ip="10.0.0.3", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    assert public.track(VISITOR, "Viewed Product", ip="10.0.0.2", headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 201


@pytest.mark.parametrize(
    "peer, forwarded, trusted, expected",
    [
        ("203.0.113.7", "", [], "203.0.113.7"),
        ("203.0.113.7", "192.0.2.1", [], "203.0.113.7"),
        ("10.0.0.2", "192.0.2.1", ["10.0.0.2"], "192.0.2.1"),
        # The client wrote the left part; the proxy appended the address it saw.
        ("10.0.0.2", "1.1.1.1, 192.0.2.1", ["10.0.0.2"], "192.0.2.1"),
        # Two trusted proxies in a row: skip both.
        ("10.0.0.2", "192.0.2.1, 10.0.0.9", ["10.0.0.0/8"], "192.0.2.1"),
        ("10.0.0.2", "not-an-ip", ["10.0.0.2"], "10.0.0.2"),
        ("10.0.0.2", "", ["10.0.0.2"], "10.0.0.2"),
        ("2001:db8::1", "192.0.2.1", ["2001:db8::/32"], "192.0.2.1"),
    ],
)
def test_client_ip(settings, peer, forwarded, trusted, expected):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_ip(request) == expected


def test_ipv6_clients_are_counted_per_64_network():
    assert ratelimit.rate_key("2001:db8:1:2::1") == ratelimit.rate_key("2001:db8:1:2:ffff::9") == "ip6:2001:db8:1:2::"
    assert ratelimit.rate_key("2001:db8:1:3::1") != ratelimit.rate_key("2001:db8:1:2::1")
    assert ratelimit.rate_key("::ffff:203.0.113.7") == ratelimit.rate_key("203.0.113.7") == "ip:203.0.113.7"


def test_database_counter_counts_per_key_and_window_and_drops_old_windows(db):
    backend = ratelimit.DatabaseCounter()
    decisions = [ratelimit.hit("ip:a", 2, now=WINDOW_START + 5, backend=backend) for _ in range(3)]
    assert [(d.allowed, d.count) for d in decisions] == [(True, 1), (True, 2), (False, 3)]
    assert decisions[-1].retry_after == 55
    assert ratelimit.hit("ip:b", 2, now=WINDOW_START + 6, backend=backend).allowed

    next_window = ratelimit.hit("ip:a", 2, now=WINDOW_START + 61, backend=backend)
    assert (next_window.allowed, next_window.count) == (True, 1)
    assert list(PublicRateCounter.objects.values_list("key", "count")) == [("ip:a", 1)]


def test_redis_counter_counts_per_key_and_window_and_expires(redis_prefix):
    backend = ratelimit.RedisCounter(REDIS_URL, prefix=redis_prefix)
    decisions = [ratelimit.hit("ip:a", 2, now=WINDOW_START + 10, backend=backend) for _ in range(3)]
    assert [(d.allowed, d.count) for d in decisions] == [(True, 1), (True, 2), (False, 3)]
    assert decisions[-1].retry_after == 50
    assert ratelimit.hit("ip:b", 2, now=WINDOW_START + 10, backend=backend).count == 1
    assert ratelimit.hit("ip:a", 2, now=WINDOW_START + 60, backend=backend).count == 1

    client = redis.Redis.from_url(REDIS_URL)
    keys = sorted(key.decode() for key in client.scan_iter(f"{redis_prefix}:*"))
    window = int(WINDOW_START // 60)
    assert keys == [f"{redis_prefix}:{window}:ip:a", f"{redis_prefix}:{window}:ip:b", f"{redis_prefix}:{window + 1}:ip:a"]
    assert all(0 < client.ttl(key) <= 120 for key in keys)


def test_the_intake_counts_in_redis_when_redis_url_is_set(public, store, settings, monkeypatch, redis_prefix):
    settings.REDIS_URL = REDIS_URL
    settings.PUBLIC_RATE_PER_MIN = 2
    monkeypatch.setattr(ratelimit, "REDIS_KEY_PREFIX", redis_prefix)
    assert [public.track(VISITOR, "Viewed Product").status_code for _ in range(3)] == [201, 201, 429]
    assert public.track(VISITOR, "Viewed Product", ip="198.51.100.9").status_code == 201
    assert not PublicRateCounter.objects.exists()
    client = redis.Redis.from_url(REDIS_URL)
    counted = {key.decode().rsplit(":", 1)[-1]: int(client.get(key)) for key in client.scan_iter(f"{redis_prefix}:*")}
    assert counted == {"203.0.113.7": 3, "198.51.100.9": 1}


def test_without_redis_the_database_counts_when_redis_is_down(db, caplog):
    unreachable = ratelimit.RedisCounter("redis://127.0.0.1:1/0")
    assert ratelimit.hit("ip:a", 1, now=WINDOW_START, backend=unreachable).allowed
    assert not ratelimit.hit("ip:a", 1, now=WINDOW_START, backend=unreachable).allowed
    assert PublicRateCounter.objects.get(key="ip:a").count == 2
    assert "counting in the database" in caplog.text


COUNTING_PROCESS = """
import sys
import django
django.setup()
from textpilot.events import ratelimit
backend = ratelimit.RedisCounter(sys.argv[1], prefix=sys.argv[2]) if sys.argv[1] else ratelimit.DatabaseCounter()
print(max(ratelimit.hit("ip:shared", 10**9, now=1_800_000_000.0, backend=backend).count for _ in range(int(sys.argv[3]))))
"""
REPO = Path(__file__).resolve().parents[3]


def count_in_processes(processes: int, per_process: int, env: dict, redis_url: str = "", prefix: str = "") -> int:
    """Run `processes` Python processes hitting one shared key; the highest count any saw."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "textpilot.settings", **env}
    workers = [
        subprocess.Popen([sys.executable, "-c", COUNTING_PROCESS, redis_url, prefix, str(per_process)],
                         env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * processes
    return max(int(output.strip().splitlines()[-1]) for output in outputs)


def test_the_redis_count_is_exact_across_processes(redis_prefix):
    assert count_in_processes(4, 200, {}, REDIS_URL, redis_prefix) == 800


def test_the_database_count_is_exact_across_processes(transactional_db, tmp_path):
    from django.db import connection

    database = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test database lives in this process's memory: give the processes a file of their own,
        # set up like production's (WAL, busy timeout, immediate transactions).
        env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'rate.sqlite3'}", "TEXTPILOT_DATA_DIR": str(tmp_path)}
        subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v0"], check=True, cwd=REPO,
                       env={**os.environ, "DJANGO_SETTINGS_MODULE": "textpilot.settings", **env})
    else:
        credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
        env = {"DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT'] or 5432}/{database['NAME']}"}
    assert count_in_processes(4, 100, env) == 400
