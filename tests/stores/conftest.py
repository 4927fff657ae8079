"""Fixtures of the tenant-isolation tests: store A ("acme", the caller) and store B ("berlin",
the target), each with one of everything (tenant_world.py)."""
import pytest


@pytest.fixture
def world_a(client, store, django_capture_on_commit_callbacks):
    from tenant_world import build_world

    return build_world(client, store, "ACMEMARK", django_capture_on_commit_callbacks)


@pytest.fixture
def world_b(client, other_store, django_capture_on_commit_callbacks):
    from tenant_world import build_world

    return build_world(client, other_store, "BERLINMARK", django_capture_on_commit_callbacks)


@pytest.fixture
def worlds(world_a, world_b):
    return world_a, world_b
