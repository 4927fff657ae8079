"""Privacy actions on the profile page: export download and owner-only erase."""
import json

import pytest
from django.urls import reverse

from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile
from textpilot.stores import service as stores


@pytest.fixture
def ann(store):
    person = profiles.create_profile(store, phone="+14155552671", email="ann@example.com", first_name="Ann")
    profiles.record_consent(store, person, "subscribed", "popup")
    return person


def test_export_downloads_json(owner_client, ann):
    response = owner_client.get(reverse("web:profile_export", args=[ann.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ann@example.com" and data["consent"][0]["source"] == "popup"


def test_owner_can_erase(owner_client, ann):
    page = owner_client.get(reverse("web:profile", args=[ann.pk]))
    assert b"Erase personal data" in page.content
    response = owner_client.post(reverse("web:profile_erase", args=[ann.pk]), follow=True)
    assert response.status_code == 200 and b"Personal data erased" in response.content
    ann.refresh_from_db()
    assert (ann.phone, ann.email, ann.first_name) == (None, None, "")


def test_staff_cannot_erase(client, store, ann):
    staff = stores.ensure_user("staff@acme.test", "a-long-password", store, "staff")
    client.force_login(staff)
    assert b"Erase personal data" not in client.get(reverse("web:profile", args=[ann.pk])).content
    assert client.post(reverse("web:profile_erase", args=[ann.pk])).status_code == 403
    assert Profile.objects.get(pk=ann.pk).phone == "+14155552671"


def test_erase_needs_post_and_same_store(owner_client, other_store):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    assert owner_client.get(reverse("web:profile_erase", args=[theirs.pk])).status_code == 405
    assert owner_client.post(reverse("web:profile_erase", args=[theirs.pk])).status_code == 404
    assert owner_client.get(reverse("web:profile_export", args=[theirs.pk])).status_code == 404
    assert Profile.objects.get(pk=theirs.pk).phone == "+4915123456789"


@pytest.mark.parametrize("number_removed_first", [False, True])
def test_an_erased_profile_shows_that_it_is_erased_not_a_consent_status(owner_client, store, ann, number_removed_first):
    """Its consent no longer reaches anyone: the page says "Erased", never "Subscribed" (also
    when the number had been removed before the erase and the SMS status stayed)."""
    import re

    from textpilot.profiles import privacy

    if number_removed_first:
        profiles.update_profile(store, ann.pk, phone=None)
    privacy.erase_profile(store, ann)
    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    head = html[html.index("<h1"):html.index("</h1>")]
    assert re.search(r'<span class="pill pill-muted"[^>]*>Erased</span>', head), head
    assert "Subscribed" not in head and "Unsubscribed" not in head
    assert f"Erased profile {ann.pk}" in head  # not "visitor N"
    assert "Personal data erased" in html
