"""Fixtures of the tenant-isolation tests: store A ("acme", the caller) and store B ("berlin",
the target), each with one of everything (tenant_world.py)."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Refuses(BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def refusing_shopify():
    """A Shopify Admin API on 127.0.0.1 that refuses every token: a backfill a probe starts
    fails at once instead of retrying an unreachable shop for a minute."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, name="refusing-shopify", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def world_a(client, store, django_capture_on_commit_callbacks, refusing_shopify):
    from tenant_world import build_world

    return build_world(client, store, "ACMEMARK", django_capture_on_commit_callbacks, shopify_api=refusing_shopify)


@pytest.fixture
def world_b(client, other_store, django_capture_on_commit_callbacks, refusing_shopify):
    from tenant_world import build_world

    return build_world(client, other_store, "BERLINMARK", django_capture_on_commit_callbacks, shopify_api=refusing_shopify)


@pytest.fixture
def worlds(world_a, world_b):
    return world_a, world_b
