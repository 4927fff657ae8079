"""A key of store A never reads or changes store B."""
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


def test_key_of_one_store_cannot_read_or_change_another(api, other_api, store, other_store):
    theirs = profiles.create_profile(other_store, phone="+4915123456789", first_name="Jonas")

    assert api.get(f"/api/v1/profiles/{theirs.pk}").status_code == 404
    assert api.patch(f"/api/v1/profiles/{theirs.pk}", {"first_name": "Hacked"}).status_code == 404
    assert api.post(f"/api/v1/profiles/{theirs.pk}/consent", {"status": "unsubscribed", "source": "api"}).status_code == 404
    assert api.get(f"/api/v1/profiles/{theirs.pk}/consent").status_code == 404
    assert api.get("/api/v1/profiles").json()["items"] == []
    theirs.refresh_from_db()
    assert theirs.first_name == "Jonas" and theirs.sms_status == "never"

    # Their own key still sees it.
    assert other_api.get(f"/api/v1/profiles/{theirs.pk}").json()["first_name"] == "Jonas"


def test_same_phone_may_exist_once_per_store(api, other_api):
    assert api.post("/api/v1/profiles", {"phone": "+14155552671"}).status_code == 201
    assert other_api.post("/api/v1/profiles", {"phone": "+14155552671"}).status_code == 201
    assert Profile.objects.filter(phone="+14155552671").count() == 2
