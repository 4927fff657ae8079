"""Who may see what: login, stores the user belongs to, owners versus staff."""
import pytest
from django.urls import reverse

from textpilot.stores.middleware import SESSION_KEY

DASHBOARD_PAGES = ["web:home", "web:profiles", "web:settings", "web:api_keys", "web:segments", "web:campaigns",
                   "web:flows", "web:growth", "web:analytics", "delivery:messages", "delivery:inbox",
                   "delivery:phone", "delivery:senders", "delivery:compliance"]


@pytest.mark.parametrize("name", DASHBOARD_PAGES)
def test_pages_require_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={url}"


def test_login_page_renders_and_logs_in(client, owner):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content and b"textpilot" in page.content
    response = client.post(reverse("web:login"), {"username": "owner@acme.test", "password": "correct-horse-battery"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_wrong_password_shows_an_error(client, owner):
    response = client.post(reverse("web:login"), {"username": "owner@acme.test", "password": "wrong"})
    assert response.status_code == 200
    assert b"flash-error" in response.content


def test_logout_is_a_post(owner_client):
    page = owner_client.get(reverse("web:home"))
    assert b'action="/logout/"' in page.content
    response = owner_client.post(reverse("web:logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("web:home")).status_code == 302


@pytest.mark.parametrize("name", DASHBOARD_PAGES)
def test_every_page_renders_for_an_owner(owner_client, name):
    response = owner_client.get(reverse(name))
    assert response.status_code == 200
    assert b"Acme Outdoors" in response.content
    assert b"/api/v1/docs" in response.content  # the nav is there


def test_user_without_a_store_gets_a_friendly_page(client, outsider):
    client.force_login(outsider)
    for name in ("web:home", "web:profiles", "web:settings"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert b"have a store yet" in response.content


def test_switching_to_a_store_of_mine(client, owner, store, other_store):
    from textpilot.stores import service

    service.add_member(other_store, owner, "staff")
    client.force_login(owner)
    assert b"Acme Outdoors</h1>" in client.get(reverse("web:home")).content
    response = client.post(reverse("web:switch_store"), {"store_id": other_store.pk, "next": "/profiles/"})
    assert response.status_code == 302 and response["Location"] == "/profiles/"
    assert client.session[SESSION_KEY] == other_store.pk
    assert b"Berlin Boutique</h1>" in client.get(reverse("web:home")).content


def test_switching_to_a_store_i_am_not_a_member_of_is_refused(owner_client, other_store, store):
    response = owner_client.post(reverse("web:switch_store"), {"store_id": other_store.pk})
    assert response.status_code == 403
    assert SESSION_KEY not in owner_client.session
    assert b"Acme Outdoors</h1>" in owner_client.get(reverse("web:home")).content
    assert owner_client.post(reverse("web:switch_store"), {"store_id": "nope"}).status_code == 403
    assert owner_client.get(reverse("web:switch_store")).status_code == 405


def test_switch_ignores_an_offsite_next(owner_client, store):
    response = owner_client.post(reverse("web:switch_store"), {"store_id": store.pk, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_a_stale_session_store_falls_back_to_a_store_of_mine(owner_client, other_store):
    session = owner_client.session
    session[SESSION_KEY] = other_store.pk  # e.g. membership removed since
    session.save()
    assert b"Acme Outdoors</h1>" in owner_client.get(reverse("web:home")).content
