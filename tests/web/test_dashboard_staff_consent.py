"""Staff unsubscribe / resubscribe on the profile page: a required reason, a confirmation box
for a resubscribe, recorded as observed evidence with who did it; errors on the page, not 500s."""
import pytest
from django.urls import reverse

from textpilot.common.errors import Conflict
from textpilot.profiles import privacy as profile_privacy
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentEvent, ConsentStatus


@pytest.fixture
def ann(store):
    person = profiles.create_profile(store, phone="+14155552671", first_name="Ann", last_name="Lee")
    profiles.record_consent(store, person, ConsentStatus.SUBSCRIBED, "popup")
    return person


def _post(client, profile, **data):
    return client.post(reverse("web:profile_sms_consent", args=[profile.pk]), data)


def _staff_events(profile):
    return ConsentEvent.objects.filter(profile=profile, source="staff")


def test_profile_page_offers_unsubscribe_for_a_subscriber(owner_client, ann):
    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    assert 'data-staff-consent="unsubscribe"' in html and "Unsubscribe from texts" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'name="reason"' in html and 'maxlength="500"' in html
    assert "The customer asked to receive texts again" not in html


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_owner_or_staff_unsubscribes_with_a_reason(client, owner, staff, ann, who):
    user = owner if who == "owner" else staff
    client.force_login(user)
    response = _post(client, ann, status="unsubscribed", reason="Asked by phone on May 3 to stop")
    assert response.status_code == 302 and response["Location"] == reverse("web:profile", args=[ann.pk])
    ann.refresh_from_db()
    assert ann.sms_status == ConsentStatus.UNSUBSCRIBED
    event = _staff_events(ann).get()
    assert (event.status, event.basis, event.consent_text) == (
        "unsubscribed", "observed", f"Staff {user.email}: Asked by phone on May 3 to stop")
    page = client.get(response["Location"]).content.decode()
    assert "Ann Lee is now unsubscribed" in page
    assert 'data-staff-consent="resubscribe"' in page  # the form now offers the way back


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_an_empty_reason_is_an_error_and_records_nothing(owner_client, ann, reason):
    response = _post(owner_client, ann, status="unsubscribed", reason=reason)
    assert response.status_code == 422
    html = response.content.decode()
    assert "a reason is required" in html and 'aria-invalid="true"' in html
    assert not _staff_events(ann).exists()
    ann.refresh_from_db()
    assert ann.sms_status == ConsentStatus.SUBSCRIBED


def test_a_reason_over_500_characters_is_an_error(owner_client, ann):
    response = _post(owner_client, ann, status="unsubscribed", reason="x" * 501)
    assert response.status_code == 422 and "keep the reason to 500 characters (it has 501)" in response.content.decode()
    assert not _staff_events(ann).exists()
    assert _post(owner_client, ann, status="unsubscribed", reason="y" * 500).status_code == 302
    assert _staff_events(ann).get().consent_text.endswith("y" * 500)


def test_resubscribe_needs_the_customer_asked_box(owner_client, owner, ann):
    _post(owner_client, ann, status="unsubscribed", reason="Asked by email")
    html = owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    assert "The customer asked to receive texts again" in html and "Resubscribe to texts" in html

    refused = _post(owner_client, ann, status="subscribed", reason="Called back, wants deals again")
    assert refused.status_code == 422 and "tick the box" in refused.content.decode()
    assert _staff_events(ann).count() == 1
    ann.refresh_from_db()
    assert ann.sms_status == ConsentStatus.UNSUBSCRIBED

    done = _post(owner_client, ann, status="subscribed", reason="Called back, wants deals again", confirmed="on")
    assert done.status_code == 302
    ann.refresh_from_db()
    assert ann.sms_status == ConsentStatus.SUBSCRIBED
    event = _staff_events(ann).last()
    assert (event.status, event.basis, event.consent_text) == (
        "subscribed", "observed", f"Staff {owner.email}: Called back, wants deals again")


def test_staff_only_resubscribe_a_customer_who_opted_out(owner_client, store):
    bob = profiles.create_profile(store, phone="+14155552672")
    response = _post(owner_client, bob, status="subscribed", reason="Said yes at the till", confirmed="on")
    assert response.status_code == 422 and "only an unsubscribed customer can be resubscribed" in response.content.decode()
    bob.refresh_from_db()
    assert bob.sms_status == ConsentStatus.NEVER and not _staff_events(bob).exists()


def test_a_refused_opt_in_shows_its_message_not_a_500(owner_client, ann, monkeypatch):
    def refuse(*args, **kwargs):
        raise Conflict("an opt-out observed later stands: the customer must opt in again", field="status")

    _post(owner_client, ann, status="unsubscribed", reason="Asked by email")
    monkeypatch.setattr(profiles, "record_consent", refuse)
    response = _post(owner_client, ann, status="subscribed", reason="Wants texts", confirmed="on")
    assert response.status_code == 422
    assert "an opt-out observed later stands" in response.content.decode()


def test_an_erased_profile_cannot_be_changed_and_says_why(owner_client, store, ann):
    profile_privacy.erase_profile(store, ann)
    assert 'data-staff-consent' not in owner_client.get(reverse("web:profile", args=[ann.pk])).content.decode()
    response = _post(owner_client, ann, status="unsubscribed", reason="Asked by email")
    assert response.status_code == 422 and "SMS consent needs a profile with a phone number" in response.content.decode()


def test_another_stores_profile_is_404_and_untouched(owner_client, other_store):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    profiles.record_consent(other_store, theirs, ConsentStatus.SUBSCRIBED, "popup")
    assert _post(owner_client, theirs, status="unsubscribed", reason="nope").status_code == 404
    theirs.refresh_from_db()
    assert theirs.sms_status == ConsentStatus.SUBSCRIBED and not _staff_events(theirs).exists()


def test_not_logged_in_is_sent_to_login_and_get_is_refused(client, owner_client, ann):
    assert owner_client.get(reverse("web:profile_sms_consent", args=[ann.pk])).status_code == 405
    owner_client.logout()
    response = _post(client, ann, status="unsubscribed", reason="Asked by email")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not _staff_events(ann).exists()


def test_the_form_needs_csrf(ann, owner):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert _post(strict, ann, status="unsubscribed", reason="Asked by email").status_code == 403
    assert not _staff_events(ann).exists()
