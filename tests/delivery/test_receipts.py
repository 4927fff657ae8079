"""Receipts move a message forward only: duplicates and late receipts never undo a final status."""
import pytest

from textpilot.common.errors import FieldError
from textpilot.delivery import service
from textpilot.delivery.models import DeliveryReport, Message, Status


@pytest.fixture
def sent(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    Message.objects.filter(pk=message.pk).update(status=Status.SENT, provider="sim", provider_message_id="SM1")
    return message


def test_delivered_then_late_sent_stays_delivered(store, sent):
    service.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="delivered")
    service.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="sent")
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED and sent.delivered_at is not None
    assert list(DeliveryReport.objects.order_by("id").values_list("status", "applied")) == [("delivered", True), ("sent", False)]


def test_duplicate_receipts_are_kept_once_applied(store, sent):
    for _ in range(3):
        service.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="delivered")
    assert DeliveryReport.objects.filter(applied=True).count() == 1
    assert DeliveryReport.objects.count() == 3


def test_undelivered_records_the_error(store, sent):
    service.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="undelivered",
                                  error_code="30003", reason="unreachable")
    sent.refresh_from_db()
    assert (sent.status, sent.error_code, sent.status_reason) == (Status.UNDELIVERED, "30003", "unreachable")


def test_unknown_message_is_reconciled_by_its_id(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Hi")
    Message.objects.filter(pk=message.pk).update(status=Status.UNKNOWN)
    service.apply_delivery_report(store, provider="sim", message_id=message.pk, provider_message_id="SM9", status="delivered")
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.provider_message_id == "SM9"


def test_receipt_of_another_store_changes_nothing(store, other_store, sent):
    service.apply_delivery_report(other_store, provider="sim", message_id=sent.pk, status="failed")
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_bad_status_is_refused(store, sent):
    with pytest.raises(FieldError):
        service.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="exploded")
    assert not DeliveryReport.objects.exists()
