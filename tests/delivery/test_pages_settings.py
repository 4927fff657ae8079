"""Senders and compliance settings pages: owners change, staff read, credentials are never
shown again, bad input names the field and saves nothing, a sending window can't be set
backwards (an overnight one is ticked and confirmed), the rules that keep their own hours are
listed, and the demo gets a sim sender."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from form_errors import assert_plain, field_errors, label_of

from textpilot.delivery import service
from textpilot.delivery.models import MAX_REPLY_CHARACTERS, ComplianceSettings, Message, Origin, Sender

TWILIO = {
    "provider": "twilio", "name": "US long code", "from_number": "+14155550111", "number_type": "10dlc",
    "rate_per_second": "", "credential_account_sid": "AC" + "a" * 32, "credential_auth_token": "tok-very-secret-123",
    "option_base_url": "", "option_messaging_service_sid": "", "option_request_timeout_s": "", "option_max_connections": "",
}


@pytest.fixture
def staff_client(client, store):
    from textpilot.stores import service as stores_service

    client.force_login(stores_service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff"))
    return client


# --- senders -------------------------------------------------------------------------------

def test_add_form_is_generated_from_the_provider_class(owner_client, store):
    html = owner_client.get(reverse("delivery:senders"), {"provider": "twilio"}).content.decode()
    assert re.search(r'<input type="password" name="credential_auth_token"', html)
    assert re.search(r'<input type="password" name="credential_account_sid"', html)
    assert re.search(r'name="option_request_timeout_s" value="15.0"', html)
    assert re.search(r'name="option_base_url" value="https://api.twilio.com"', html)
    fields = owner_client.get(reverse("delivery:sender_fields"), {"provider": "sim"}).content.decode()
    assert fields.lstrip().startswith('<fieldset id="provider-fields"')
    assert 'name="option_latency_ms" value="50"' in fields and "credential_" not in fields


def test_owner_adds_a_sender_and_its_credentials_are_never_shown_again(owner_client, store):
    response = owner_client.post(reverse("delivery:senders"), TWILIO)
    assert response.status_code == 302
    sender = Sender.objects.get(store=store)
    assert (sender.provider, sender.from_number, sender.is_default, sender.rate_per_second) == ("twilio", "+14155550111", True, 4.0)
    assert service.sender_credentials(sender)["auth_token"] == "tok-very-secret-123"
    assert "tok-very-secret-123" not in sender.credentials_encrypted
    assert sender.options["request_timeout_s"] == 15.0  # empty option: the provider's default
    html = owner_client.get(reverse("delivery:senders")).content.decode()
    assert "US long code" in html and "won&#x27;t be shown again" in html
    assert "tok-very-secret-123" not in html and "a" * 32 not in html


def test_bad_sender_input_names_the_field_and_saves_nothing(owner_client, store):
    cases = [
        ({"credential_auth_token": ""}, "credential_auth_token", "Auth token is required"),
        ({"name": "  "}, "name", "a sender needs a name"),
        ({"from_number": "+12"}, "from_number", "is not a"),
        ({"option_base_url": "ftp://x"}, "option_base_url", "Base URL must be an http(s) URL"),
        ({"option_max_connections": "lots"}, "option_max_connections", "Enter a whole number"),
        ({"rate_per_second": "-1"}, "rate_per_second", "greater than or equal to"),
    ]
    for change, field, message in cases:
        response = owner_client.post(reverse("delivery:senders"), {**TWILIO, **change})
        html = response.content.decode()
        assert response.status_code == 422, field
        assert message in html, field
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
        assert "tok-very-secret-123" not in html  # a refused form doesn't echo the secret either
    assert not Sender.objects.filter(store=store).exists()


def test_every_sender_error_is_reported_at_once_in_plain_words(owner_client, store):
    bad = {**TWILIO, "name": " ", "from_number": "+12", "credential_account_sid": "", "credential_auth_token": "",
           "rate_per_second": "-1", "option_max_connections": "lots"}
    response = owner_client.post(reverse("delivery:senders"), bad)
    html = response.content.decode()
    assert response.status_code == 422
    errors = field_errors(html)
    assert errors.keys() == {"name", "from_number", "credential_account_sid", "credential_auth_token", "rate_per_second",
                             "option_max_connections"}, errors
    assert errors["credential_account_sid"].startswith("Account SID is required for Twilio")
    assert errors["credential_auth_token"].startswith("Auth token is required for Twilio")
    assert_plain(errors)
    assert not Sender.objects.filter(store=store).exists()


def test_providers_report_every_refused_setting_at_once():
    from textpilot.delivery.providers.base import ProviderConfigError, provider_class

    with pytest.raises(ProviderConfigError) as error:
        provider_class("twilio").validate_config({"account_sid": "AC1", "auth_token": "has space"},
                                                 {"base_url": "ftp://x", "max_connections": 0})
    assert [e.field for e in error.value.errors] == ["account_sid", "auth_token", "base_url", "max_connections"]
    with pytest.raises(ProviderConfigError) as error:
        provider_class("kannel").validate_config({}, {"base_url": "", "max_messages": 0})
    assert {"webhook_token", "base_url", "max_messages"} <= {e.field for e in error.value.errors}
    with pytest.raises(ProviderConfigError) as error:
        provider_class("smpp").validate_config({}, {"host": "", "window": 0})
    assert {"host", "system_id", "password", "window"} <= {e.field for e in error.value.errors}


def test_deactivate_make_default_and_activate(owner_client, store, sim_sender):
    other = service.create_sender(store, name="Backup sim", provider="sim", from_number="+14155550122")
    assert owner_client.post(reverse("delivery:sender_default", args=[other.pk])).status_code == 302
    other.refresh_from_db(), sim_sender.refresh_from_db()
    assert other.is_default and not sim_sender.is_default
    owner_client.post(reverse("delivery:sender_active", args=[other.pk]), {"active": "0"})
    other.refresh_from_db()
    assert not other.active and other.is_default  # it stays the default while off ...
    assert service.default_sender(store) == sim_sender  # ... and texts go through the active one meanwhile
    html = owner_client.get(reverse("delivery:senders")).content.decode()
    assert 'id="default-inactive"' in html and "texts go out through “Sim” until it is activated again" in html
    response = owner_client.post(reverse("delivery:sender_default", args=[other.pk]), follow=True)
    assert "activate it first" in response.content.decode()
    owner_client.post(reverse("delivery:sender_active", args=[other.pk]), {"active": "1"})
    other.refresh_from_db(), sim_sender.refresh_from_db()
    assert other.active and other.is_default and not sim_sender.is_default
    assert service.default_sender(store) == other
    assert 'id="default-inactive"' not in owner_client.get(reverse("delivery:senders")).content.decode()


def test_the_only_sender_switched_off_and_on_is_the_default_again_and_the_phone_finds_it(owner_client, store, sim_sender):
    owner_client.post(reverse("delivery:sender_active", args=[sim_sender.pk]), {"active": "0"})
    assert "no active" in owner_client.get(reverse("delivery:phone")).content.decode()
    owner_client.post(reverse("delivery:sender_active", args=[sim_sender.pk]), {"active": "1"})
    sim_sender.refresh_from_db()
    assert sim_sender.active and sim_sender.is_default
    phone = owner_client.get(reverse("delivery:phone"))
    assert phone.status_code == 200 and "no active" not in phone.content.decode()


def test_activating_a_sender_in_a_store_without_a_default_makes_it_the_default(store, sim_sender):
    Sender.objects.filter(pk=sim_sender.pk).update(active=False, is_default=False)  # as deactivation used to leave it
    assert service.set_sender_active(store, sim_sender.pk, True).is_default
    sim_sender.refresh_from_db()
    assert sim_sender.is_default


def test_send_test_message_through_a_sender(owner_client, store, sim_sender):
    response = owner_client.post(reverse("delivery:sender_test", args=[sim_sender.pk]), {"to": "+12125550123"}, follow=True)
    message = Message.objects.get(store=store)
    assert (message.origin, message.kind, message.sender_id, message.to_phone) == (Origin.TEST, "transactional", sim_sender.pk, "+12125550123")
    assert reverse("delivery:message", args=[message.pk]) in response.content.decode()
    assert Message.objects.filter(store=store).count() == 1


def test_the_built_in_test_message_is_gsm7_in_one_segment(store, sim_sender):
    """Curly quotes would force UCS-2 (70 characters a segment) and double the cost."""
    from textpilot.messaging.encoding import count_segments, is_gsm7

    body = service.sender_test_text(store, sim_sender)
    assert body == 'Acme Outdoors: test message from textpilot through sender "Sim".'
    assert is_gsm7(body) and count_segments(body).segments == 1
    assert is_gsm7(service.SENDER_TEST_TEXT.format(brand="", sender=""))


def test_a_refused_test_number_redirects_and_is_shown_in_its_row(owner_client, store, sim_sender):
    """POST/redirect/GET: the address bar never stays on the test's POST URL, so a reload
    posts nothing; the refusal is shown once, next to the number, in the sender's row."""
    response = owner_client.post(reverse("delivery:sender_test", args=[sim_sender.pk]), {"to": "12"})
    assert response.status_code == 302 and response["Location"] == reverse("delivery:senders") + f"#sender-{sim_sender.pk}"
    html = owner_client.get(reverse("delivery:senders")).content.decode()
    errors = field_errors(html)
    assert "is not a" in errors["to"] and set(errors) == {"to"}
    assert_plain(errors)
    assert re.search(rf'id="test-{sim_sender.pk}-to"[^>]*aria-invalid="true"', html) or re.search(
        rf'aria-invalid="true"[^>]*id="test-{sim_sender.pk}-to"', html)
    assert 'value="12"' in html  # what was typed is kept
    assert "field-error" not in owner_client.get(reverse("delivery:senders")).content.decode()  # shown once
    assert not Message.objects.filter(store=store).exists()


def test_staff_see_senders_but_cannot_change_them(staff_client, store, sim_sender):
    html = staff_client.get(reverse("delivery:senders")).content.decode()
    assert "Sim" in html and "Only owners can change senders" in html and "Add a sender" not in html
    assert staff_client.post(reverse("delivery:senders"), TWILIO).status_code == 403
    assert staff_client.post(reverse("delivery:sender_active", args=[sim_sender.pk]), {"active": "0"}).status_code == 403
    assert staff_client.post(reverse("delivery:sender_test", args=[sim_sender.pk]), {"to": "+12125550123"}).status_code == 403
    sim_sender.refresh_from_db()
    assert sim_sender.active and Sender.objects.filter(store=store).count() == 1 and not Message.objects.exists()


def test_another_stores_sender_is_404(owner_client, store, other_store):
    theirs = service.create_sender(other_store, name="Berlin sim", provider="sim", from_number="+4915123450000")
    for name, data in (("delivery:sender_active", {"active": "0"}), ("delivery:sender_default", {}),
                       ("delivery:sender_test", {"to": "+12125550123"})):
        assert owner_client.post(reverse(name, args=[theirs.pk]), data).status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.active and not Message.objects.exists()
    assert "Berlin sim" not in owner_client.get(reverse("delivery:senders")).content.decode()


# --- compliance ----------------------------------------------------------------------------

VALID = {
    "window_start": "09:00", "window_end": "20:30", "smart_sending_hours": "24",
    "allowed_countries": "us, ca", "daily_spend_cap": "150.00", "stop_reply": "", "start_reply": "", "help_reply": "Text us!",
}


def saved_window(store) -> tuple:
    settings = ComplianceSettings.objects.get(store=store)
    return settings.quiet_hours_end, settings.quiet_hours_start, settings.overnight_window


def test_compliance_shows_defaults_as_placeholders_and_saves(owner_client, store):
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    defaults = service.reply_texts(store)
    assert f'placeholder="{defaults["stop"]}"'.replace("'", "&#x27;") in html
    assert "Marketing may be sent between" in html and "in the recipient's local time." in html
    assert 'name="window_start" value="08:00"' in html and 'name="window_end" value="21:00"' in html
    response = owner_client.post(reverse("delivery:compliance"), VALID)
    assert response.status_code == 302
    settings = ComplianceSettings.objects.get(store=store)
    # The window is kept as quiet hours: they start where the window ends.
    assert (str(settings.quiet_hours_start), str(settings.quiet_hours_end), settings.smart_sending_hours) == ("20:30:00", "09:00:00", 24)
    assert settings.overnight_window is False
    assert settings.allowed_countries == ["CA", "US"] and settings.daily_spend_cap == Decimal("150.00")
    assert service.reply_texts(store)["help"] == "Text us!" and service.reply_texts(store)["stop"] == defaults["stop"]
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    assert "Compliance settings saved." in html and 'value="CA, US"' in html
    assert 'name="window_start" value="09:00"' in html and 'name="window_end" value="20:30"' in html


def test_bad_compliance_input_names_the_field_and_saves_nothing(owner_client, store):
    cases = [
        ({"window_end": "25:99"}, "window_end", "Enter a valid time", "window-error"),
        ({"window_start": ""}, "window_start", "start of the sending window is required", "window-error"),
        ({"smart_sending_hours": "500"}, "smart_sending_hours", "Smart sending (hours) must be a whole number of hours from 0 to 168",
         "smart_sending_hours-error"),
        ({"allowed_countries": "US, Canada"}, "allowed_countries", "&#x27;Canada&#x27; is not a two-letter ISO 3166 country code",
         "allowed_countries-error"),
        ({"allowed_countries": "US, XX"}, "allowed_countries", "&#x27;XX&#x27; is not a two-letter ISO 3166 country code",
         "allowed_countries-error"),
        ({"daily_spend_cap": "-5"}, "daily_spend_cap", "Daily spend cap (USD) cannot be negative", "daily_spend_cap-error"),
        ({"daily_spend_cap": "lots"}, "daily_spend_cap", "Enter a number", "daily_spend_cap-error"),
    ]
    for change, field, message, error_id in cases:
        response = owner_client.post(reverse("delivery:compliance"), {**VALID, **change})
        html = response.content.decode()
        assert response.status_code == 422, field
        assert message in html, field
        assert f'id="{error_id}"' in html, field
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
    settings = service.compliance_settings(store)
    assert settings.smart_sending_hours == 16 and settings.allowed_countries == [] and settings.daily_spend_cap is None
    assert settings.help_reply == ""
    assert (settings.quiet_hours_end, settings.quiet_hours_start, settings.overnight_window) == (dt.time(8), dt.time(21), False)


@pytest.mark.parametrize("start, end, message", [
    ("21:00", "08:00", "“End” (08:00) is before “Start” (21:00), so marketing would go out overnight."),
    ("09:00", "09:00", "“End” and “Start” are both 09:00: that leaves no time to send."),
])
def test_a_window_that_ends_before_it_starts_is_refused_unless_overnight(owner_client, store, start, end, message):
    response = owner_client.post(reverse("delivery:compliance"), {**VALID, "window_start": start, "window_end": end})
    html = response.content.decode()
    assert response.status_code == 422 and message in html
    assert "“Overnight window”" in html  # the way out is named
    for field in ("window_start", "window_end"):  # both fields are marked and point at the message
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html), field
        assert re.search(rf'name="{field}"[^>]*aria-describedby="window-error"', html), field
    assert 'id="window-error"' in html
    assert saved_window(store) == (dt.time(8), dt.time(21), False)  # nothing changed
    assert service.compliance_settings(store).smart_sending_hours == 16


def test_an_overnight_window_is_saved_after_confirmation(owner_client, store):
    overnight = {**VALID, "window_start": "20:00", "window_end": "02:00", "overnight_window": "on"}
    asked = owner_client.post(reverse("delivery:compliance"), overnight)
    html = asked.content.decode()
    assert asked.status_code == 200 and 'id="overnight-confirm"' in html
    assert "from 20:00 until 02:00 the next morning" in html and "Nothing is saved yet." in html
    assert 'name="window_start" value="20:00"' in html  # the form keeps what was typed
    assert saved_window(store) == (dt.time(8), dt.time(21), False)
    saved = owner_client.post(reverse("delivery:compliance"), {**overnight, "confirm_overnight": "1"})
    assert saved.status_code == 302
    assert saved_window(store) == (dt.time(20), dt.time(2), True)
    # Saving it again as it is asks no more; unticking the box refuses it.
    assert owner_client.post(reverse("delivery:compliance"), overnight).status_code == 302
    refused = owner_client.post(reverse("delivery:compliance"), {**overnight, "overnight_window": ""})
    assert refused.status_code == 422 and "is before “Start” (20:00)" in refused.content.decode()
    assert saved_window(store) == (dt.time(20), dt.time(2), True)


def test_the_service_refuses_a_backwards_window_too(store):
    from textpilot.common.errors import FieldError

    with pytest.raises(FieldError) as error:
        service.update_compliance_settings(store, quiet_hours_start=dt.time(8), quiet_hours_end=dt.time(21))
    assert error.value.field == "quiet_hours_start" and "overnight_window" in error.value.message
    with pytest.raises(FieldError):
        service.update_compliance_settings(store, quiet_hours_start="09:00", quiet_hours_end="09:00")
    with pytest.raises(FieldError):
        service.update_compliance_settings(store, overnight_window="yes")
    assert saved_window(store) == (dt.time(8), dt.time(21), False)
    service.update_compliance_settings(store, quiet_hours_start=dt.time(8), quiet_hours_end=dt.time(21), overnight_window=True)
    assert saved_window(store) == (dt.time(21), dt.time(8), True)
    service.update_compliance_settings(store, stop_reply="Bye")  # other settings don't re-check the window


def test_the_page_lists_the_rules_that_keep_their_own_hours(owner_client, store):
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    note = html[html.index('id="stricter-rules"'):]
    note = note[:note.index("</div>")]
    for name in ("Florida FTSA", "Oklahoma OTSA", "Connecticut PA 23-98", "Texas SB 140", "France SMS marketing code"):
        assert name in note, name
    assert "New Jersey" not in note  # 8–21, the same as the store's default window
    assert "Mon–Sat 09:00–21:00, Sun 12:00–21:00" in note
    # A window no wider than any daily rule leaves only the closed days (Texas Sunday mornings, France).
    owner_client.post(reverse("delivery:compliance"), {**VALID, "window_start": "12:00", "window_end": "19:00"})
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    note = html[html.index('id="stricter-rules"'):]
    assert "France SMS marketing code" in note[:note.index("</div>")] and "Florida" not in note[:note.index("</div>")]


def test_an_old_window_that_runs_past_midnight_unconfirmed_is_pointed_out(owner_client, store):
    ComplianceSettings.objects.update_or_create(store=store, defaults={"quiet_hours_start": dt.time(1), "quiet_hours_end": dt.time(6)})
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    assert 'id="overnight-unconfirmed"' in html


def test_staff_read_compliance_but_cannot_change_it(staff_client, store):
    html = staff_client.get(reverse("delivery:compliance")).content.decode()
    assert "Read only" in html and re.search(r'name="smart_sending_hours"[^>]*disabled', html)
    assert re.search(r'name="window_start"[^>]*disabled', html)
    assert staff_client.post(reverse("delivery:compliance"), VALID).status_code == 403
    assert service.compliance_settings(store).smart_sending_hours == 16


def test_compliance_is_per_store(owner_client, store, other_store):
    owner_client.post(reverse("delivery:compliance"), VALID)
    assert service.compliance_settings(other_store).smart_sending_hours == 16


# --- sidebar and demo ----------------------------------------------------------------------

def test_sidebar_links_the_delivery_pages(owner_client, store):
    html = owner_client.get(reverse("delivery:inbox")).content.decode()
    for url in ("/messages/", "/inbox/", "/phone/", "/settings/senders/", "/settings/compliance/", "/integrations/shopify/", "/imports/"):
        assert f'href="{url}"' in html, url
    assert re.search(r'href="/inbox/" aria-current="page"', html)


def test_demo_store_gets_one_default_sim_sender(db):
    from textpilot.demo.seed import seed_demo

    seed_demo("demo", profiles=20, orders=10, events=20, seed=1)
    seed_demo("demo", profiles=20, orders=10, events=20, seed=1)  # re-seeding keeps the one sender
    seed_demo("demo", profiles=20, orders=10, events=20, seed=1, reset=True)
    sender = Sender.objects.get(store__slug="demo")
    assert (sender.provider, sender.is_default, sender.active) == ("sim", True, True)
    assert (sender.options["latency_ms"], sender.options["dlr_delay_s"]) == (50, 2.0)


def test_every_compliance_error_is_reported_at_once_in_plain_words(owner_client, store):
    """Type errors (the form) and rule errors (the service) of one submit, each next to its
    field, in words with the field's label; the spend cap's label keeps its currency."""
    bad = {**VALID, "window_end": "25:99", "smart_sending_hours": "500", "daily_spend_cap": "-5",
           "stop_reply": "x" * (MAX_REPLY_CHARACTERS + 1), "allowed_countries": "US, XX"}
    response = owner_client.post(reverse("delivery:compliance"), bad)
    html = response.content.decode()
    assert response.status_code == 422
    errors = field_errors(html)
    assert {"window", "smart_sending_hours", "daily_spend_cap", "stop_reply", "allowed_countries"} <= errors.keys(), errors
    assert errors["smart_sending_hours"].startswith("Smart sending (hours) must be")
    assert errors["daily_spend_cap"].startswith("Daily spend cap (USD) cannot be negative")
    assert_plain(errors)
    assert label_of(html, "id_daily_spend_cap") == "Daily spend cap (USD)"
    assert service.compliance_settings(store).smart_sending_hours == 16  # nothing saved


def test_reply_boxes_allow_exactly_the_services_limit(owner_client, store):
    assert MAX_REPLY_CHARACTERS == 480
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    for name in ("stop_reply", "start_reply", "help_reply"):
        assert re.search(rf'<textarea name="{name}"[^>]*maxlength="480"', html), name
    longest = "y" * MAX_REPLY_CHARACTERS
    assert owner_client.post(reverse("delivery:compliance"), {**VALID, "stop_reply": longest}).status_code == 302
    assert service.compliance_settings(store).stop_reply == longest
    refused = owner_client.post(reverse("delivery:compliance"), {**VALID, "stop_reply": longest + "y"})
    assert refused.status_code == 422 and "stop_reply" in field_errors(refused.content.decode())


def test_the_service_reports_every_refused_compliance_field_at_once(store):
    from textpilot.common.errors import FieldErrors

    with pytest.raises(FieldErrors) as error:
        service.update_compliance_settings(store, smart_sending_hours=500, daily_spend_cap=-1, stop_reply="z" * 481,
                                           allowed_countries=["US", "XX"])
    assert [e.field for e in error.value.errors] == ["smart_sending_hours", "daily_spend_cap", "stop_reply", "allowed_countries"]
    assert [d["loc"] for d in error.value.as_detail()] == [["body", "smart_sending_hours"], ["body", "daily_spend_cap"],
                                                           ["body", "stop_reply"], ["body", "allowed_countries"]]
    assert service.compliance_settings(store).smart_sending_hours == 16


# --- subscribers the country allowlist leaves out --------------------------------------------

@pytest.fixture
def subscribers_abroad(store):
    """Subscribed customers in the US (the store's country), Canada (+1 too), Germany and the UK,
    and some who don't count: unsubscribed, merged away, erased."""
    from textpilot.profiles import service as profiles
    from textpilot.profiles.models import Profile

    subscribed = ["+14155550101", "+14155550102", "+14165550103", "+4915123456701", "+4915123456702", "+447400123456"]
    others = {"+4915123456703": {}, "+4915123456704": {"merged": True}, "+4915123456705": {"erased": True}}
    made = {phone: profiles.create_profile(store, phone=phone) for phone in [*subscribed, *others]}
    Profile.objects.filter(pk__in=[made[p].pk for p in subscribed]).update(sms_status="subscribed")
    Profile.objects.filter(pk=made["+4915123456704"].pk).update(sms_status="subscribed", merged_into=made["+14155550101"])
    Profile.objects.filter(pk=made["+4915123456705"].pk).update(sms_status="subscribed", erased_at="2025-01-01T00:00:00Z")
    return made


def test_compliance_shows_subscribers_no_text_can_reach_per_country(owner_client, store, subscribers_abroad):
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    note = html[html.index('id="countries-left-out"'):]
    note = note[:note.index("</div>")]
    assert "4 subscribed customers can never get a text" in note and "allowed now: US" in note
    assert re.findall(r'<li data-country="(\w*)">([^<]*)</li>', note) == [
        ("DE", "Germany (DE): 2"), ("CA", "Canada (CA): 1"), ("GB", "United Kingdom (GB): 1")]
    owner_client.post(reverse("delivery:compliance"), {**VALID, "allowed_countries": "US, CA, DE"})
    html = owner_client.get(reverse("delivery:compliance")).content.decode()
    assert "1 subscribed customer can never get a text" in html and 'data-country="GB"' in html
    owner_client.post(reverse("delivery:compliance"), {**VALID, "allowed_countries": "US, CA, DE, GB"})
    assert 'id="countries-left-out"' not in owner_client.get(reverse("delivery:compliance")).content.decode()


def test_the_count_per_country_is_the_gates_country_even_where_a_prefix_does_not_decide(store, subscribers_abroad, monkeypatch):
    """Groups whose deciding digits don't fit the prefix are read number by number: same answer."""
    from textpilot.delivery import reach

    expected = {"US": 2, "CA": 1, "DE": 2, "GB": 1}
    assert dict(reach.subscribed_by_country(store)) == expected
    monkeypatch.setattr(reach, "PREFIX", 3)
    assert dict(reach.subscribed_by_country(store)) == expected
