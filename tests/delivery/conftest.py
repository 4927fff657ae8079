"""Fixtures for delivery tests. Dispatcher tests need `transactional_db`: the dispatcher
reads and writes from its own threads, which can't see a test's open transaction."""
import pytest


@pytest.fixture
def subscribed(store):
    """A subscribed customer in New York (the store's country)."""
    from textpilot.profiles import service as profiles
    from textpilot.profiles.models import ConsentStatus

    profile = profiles.create_profile(store, phone="+12125550123", first_name="Ann", timezone="America/New_York")
    profiles.record_consent(store, profile, ConsentStatus.SUBSCRIBED, source="test")
    return profile

