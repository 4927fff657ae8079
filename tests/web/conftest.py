"""Fixtures of the dashboard tests: users with different roles, and a little store data
made through the domain services."""
import pytest


@pytest.fixture
def staff(store):
    from textpilot.stores import service

    return service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff")


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def outsider(db):
    """A logged-in-able user who belongs to no store."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("nobody@example.test", "nobody@example.test", "correct-horse-battery")


class ShopData:
    """Store data made through the domain services (what the dashboard reads)."""

    def customer(self, store, phone, **fields):
        from textpilot.profiles import service as profiles_service

        return profiles_service.create_profile(store, phone=phone, **fields)

    def subscribe(self, store, profile, **kwargs):
        from textpilot.profiles import service as profiles_service

        return profiles_service.record_consent(store, profile, "subscribed", kwargs.pop("source", "popup"), **kwargs)

    def order(self, store, external_id, total, profile=None, **kwargs):
        from textpilot.commerce import service as commerce_service

        return commerce_service.record_order(store, external_id=external_id, total=total, profile=profile, **kwargs)[0]

    def event(self, store, profile, name, properties=None, **kwargs):
        from textpilot.events import service as events_service

        return events_service.record_event(store, profile, name, properties or {}, **kwargs)[0]

    def abandoned_checkout(self, store, external_id, total="10.00", profile=None):
        # commerce.service has no checkout writer yet; the model is the only way to make one.
        from textpilot.commerce.models import Checkout

        return Checkout.objects.create(store=store, external_id=external_id, total=total, currency=store.currency,
                                       profile=profile, status=Checkout.Status.ABANDONED)


@pytest.fixture
def shop(db):
    return ShopData()
