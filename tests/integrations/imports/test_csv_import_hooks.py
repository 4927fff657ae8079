"""A CSV import announces the consent it changes (consent_changed), once per changed
profile and batch, like record_consent does for a single change; a row that changes no
status announces nothing."""
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


def test_consent_changed_by_an_import_is_announced(store, import_csv, hook_log):
    already = profiles.create_profile(store, phone="+14155552672")
    profiles.record_consent(store, already, "subscribed", "popup")
    hook_log.clear()
    import_csv(store, "phone,sms consent,consent date\n+14155552671,yes,2024-03-01T10:00:00Z\n"
                      "+14155552672,yes,2024-03-01T10:00:00Z\n+14155552673,,\n")
    new = Profile.objects.get(store=store, phone="+14155552671")
    announced = hook_log.of("consent_changed")
    assert [(c.profile_id, c.channel, c.status, c.source) for c in announced] == [(new.pk, "sms", "subscribed", "import")]
    assert announced[0].occurred_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert {store_id for name, store_id, _ in hook_log if name == "consent_changed"} == {store.pk}
