"""send_message: the one way to send. It validates, renders for the recipient, prices and
queues; nothing is handed to a provider until the dispatcher runs."""
import pytest

from textpilot.common.errors import FieldError, NotFound
from textpilot.delivery import service
from textpilot.delivery.models import Message, Sender, Status
from textpilot.messaging.templates import TemplateError
from textpilot.profiles.models import Profile


def test_queues_rendered_text_with_cost(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Hi {{ first_name }}, your order shipped!")
    assert message.status == Status.QUEUED
    assert message.body == "Hi Ann, your order shipped!"
    assert (message.encoding, message.segments) == ("GSM-7", 1)
    assert message.estimated_cost is not None and message.estimated_cost > 0
    assert message.sender_id == sim_sender.pk and message.from_phone == sim_sender.from_number
    assert message.to_phone == subscribed.phone


def test_unicode_text_is_ucs2_and_costs_more_segments(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Ваш заказ отправлен! " * 5)
    assert message.encoding == "UCS-2" and message.segments == 2


def test_phone_number_creates_profile(store, sim_sender):
    message = service.send_message(store, to="(212) 555-0199", body="Hello")
    profile = Profile.objects.get(pk=message.profile_id)
    assert profile.phone == "+12125550199" and message.to_phone == "+12125550199"


def test_bad_phone_is_a_field_error_and_nothing_is_stored(store, sim_sender):
    with pytest.raises(FieldError) as error:
        service.send_message(store, to="12", body="Hello")
    assert error.value.field == "phone"
    assert not Message.objects.exists()


def test_broken_template_is_refused_before_anything_is_stored(store, sim_sender, subscribed):
    with pytest.raises(TemplateError):
        service.send_message(store, profile=subscribed, body="Hi {{ first_name ")
    assert not Message.objects.exists()


def test_template_failing_for_one_recipient_fails_only_that_message(store, sim_sender, subscribed):
    # The checkout URL is unknown for this send: that message fails with the reason.
    failed = service.send_message(store, profile=subscribed, body="Finish here: {{ checkout_url }}")
    assert failed.status == Status.FAILED and failed.status_reason.startswith("template:")
    ok = service.send_message(store, profile=subscribed, body="Finish here: {{ checkout_url }}",
                              context={"checkout_url": "https://acme.test/c/1"})
    assert ok.status == Status.QUEUED and ok.body == "Finish here: https://acme.test/c/1"


def test_origin_key_makes_it_idempotent(store, sim_sender, subscribed):
    first = service.send_message(store, profile=subscribed, body="Once", origin="flow", origin_key="flow:1:step:2:p:9")
    again = service.send_message(store, profile=subscribed, body="Once", origin="flow", origin_key="flow:1:step:2:p:9")
    assert first.pk == again.pk and Message.objects.count() == 1


def test_no_sender_gives_a_failed_message_with_the_reason(store, subscribed):
    message = service.send_message(store, profile=subscribed, body="Hello")
    assert message.status == Status.FAILED and "no sender" in message.status_reason


def test_profile_of_another_store_is_not_found(store, other_store, sim_sender):
    from textpilot.profiles import service as profiles

    stranger = profiles.create_profile(other_store, phone="+4915112345678")
    with pytest.raises(NotFound):
        service.send_message(store, profile=stranger, body="Hello")


def test_literal_reply_keeps_braces(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Use code {SAVE10} {{x}}", render=False)
    assert message.body == "Use code {SAVE10} {{x}}"


@pytest.mark.parametrize("field,value", [("kind", "spam"), ("origin", "inbound"), ("body", "  "),
                                         ("media_urls", ["ftp://x"])])
def test_bad_arguments_name_the_field(store, sim_sender, subscribed, field, value):
    kwargs = {"profile": subscribed, "body": "Hello", field: value}
    with pytest.raises(FieldError) as error:
        service.send_message(store, **kwargs)
    assert error.value.field == field
    assert not Message.objects.exists()


def test_sender_rules(store):
    first = service.create_sender(store, name="Main", provider="sim", from_number="+14155550100", number_type="toll_free")
    assert first.is_default and first.rate_per_second == 3.0
    second = service.create_sender(store, name="Short", provider="sim", from_number="12345", number_type="short_code",
                                   is_default=True)
    first.refresh_from_db()
    assert second.is_default and not first.is_default and second.rate_per_second == 100.0
    with pytest.raises(FieldError) as error:
        service.create_sender(store, name="X", provider="carrier-pigeon", from_number="+14155550101")
    assert error.value.field == "provider"
    with pytest.raises(FieldError):
        service.create_sender(store, name="Y", provider="sim", from_number="+14155550101", rate_per_second=0)
    assert Sender.objects.filter(store=store).count() == 2


def test_compliance_settings_are_validated_and_nothing_is_saved_on_error(store):
    import datetime as dt

    settings = service.update_compliance_settings(store, quiet_hours_start="22:30", quiet_hours_end=dt.time(7, 0))
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (dt.time(22, 30), dt.time(7, 0))
    for field, value in [("quiet_hours_start", "late"), ("quiet_hours_end", "25:00"), ("smart_sending_hours", 500),
                         ("allowed_countries", ["USA"]), ("daily_spend_cap", -1), ("help_reply", "x" * 481),
                         ("surprise", 1)]:
        with pytest.raises(FieldError) as error:
            service.update_compliance_settings(store, **{"daily_spend_cap": 5, field: value})
        assert error.value.field == field
    stored = service.compliance_settings(store)
    assert stored.smart_sending_hours == 16 and stored.daily_spend_cap is None
    assert stored.quiet_hours_start == dt.time(22, 30)
