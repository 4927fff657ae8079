"""A client for the public intake that speaks like the storefront snippet: JSON sent as
text/plain, the public key in the body, from a given client IP and origin."""
import json

import pytest

STOREFRONT = "https://shop.example"


class PublicClient:
    def __init__(self, client, key):
        self.client, self.key = client, key

    def post(self, endpoint, data=None, *, key=..., raw=None, ip="203.0.113.7", origin=STOREFRONT, headers=None):
        body = dict(data or {})
        if key is ...:
            key = self.key
        if key is not None:
            body.setdefault("key", key)
        return self.client.post(
            f"/api/public/v1/{endpoint}",
            raw if raw is not None else json.dumps(body),
            content_type="text/plain",
            REMOTE_ADDR=ip,
            headers={"Origin": origin, **(headers or {})},
        )

    def track(self, visitor, name, properties=None, **kwargs):
        return self.post("track", {"anonymous_id": visitor, "name": name, "properties": properties or {}}, **kwargs)

    def identify(self, visitor, **traits):
        return self.post("identify", {"anonymous_id": visitor, **traits})

    @staticmethod
    def error_fields(response) -> list:
        """The fields a 4xx answer names."""
        return [detail["loc"][-1] for detail in response.json()["detail"]]


@pytest.fixture
def public(client, store):
    return PublicClient(client, store.public_key)
