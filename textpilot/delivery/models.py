"""Every text in or out: messages, each provider call, senders and the store's compliance settings."""
import datetime

from django.db import models
from django.db.models import Q
from django.utils.timezone import now as utc_now

from textpilot.stores.models import StoreOwned, StoreOwnedIndexedByComposite


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class Kind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    TRANSACTIONAL = "transactional", "Transactional"


class Origin(models.TextChoices):
    """What sent a text. With `Message.origin_id` it names the sending thing as columns
    (campaign 12, flow step 40, popup 3), for progress and attribution queries."""

    CAMPAIGN = "campaign", "Campaign"  # origin_id: the campaign
    FLOW = "flow", "Flow step"  # origin_id: the flow step (a node of a flow version) that sent it
    GROWTH = "growth", "Sign-up"  # origin_id: the popup / keyword / link whose sign-up sent it (confirmations, welcome codes)
    API = "api", "API"
    KEYWORD_REPLY = "keyword_reply", "Keyword reply"
    INBOX = "inbox", "Inbox answer"
    TEST = "test", "Test message"
    INBOUND = "inbound", "Received"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    UNKNOWN = "unknown", "Unknown (reconciling)"
    RECEIVED = "received", "Received"


# A status only ever moves to a higher rank, so a late or duplicate receipt can't undo a final one.
STATUS_RANK = {
    Status.QUEUED: 0, Status.SENDING: 1, Status.UNKNOWN: 2, Status.SENT: 3,
    Status.DELIVERED: 4, Status.UNDELIVERED: 4, Status.FAILED: 4, Status.SUPPRESSED: 4, Status.RECEIVED: 4,
}

# Lower is sooner: transactional texts and keyword replies jump ahead of bulk marketing.
PRIORITY_REPLY = 0
PRIORITY_TRANSACTIONAL = 10
PRIORITY_MARKETING = 50


class NumberType(models.TextChoices):
    SHORT_CODE = "short_code", "Short code"
    TOLL_FREE = "toll_free", "Toll-free"
    TEN_DLC = "10dlc", "10DLC long code"
    LONG_CODE = "long_code", "Long code (outside the US)"
    ALPHANUMERIC = "alphanumeric", "Alphanumeric sender ID"


# Messages per second by number type (COMPLIANCE.md); a sender may set its own.
DEFAULT_RATE_PER_SECOND = {
    NumberType.SHORT_CODE: 100.0,
    NumberType.TOLL_FREE: 3.0,
    NumberType.TEN_DLC: 4.0,  # AT&T's lowest standard tier; raise it to the campaign's real tier
    NumberType.LONG_CODE: 1.0,
    NumberType.ALPHANUMERIC: 10.0,
}

# Longest STOP/START/HELP reply a store may set (the service's rule and the form's maxlength):
# three segments; a reply text longer than that is a mistake.
MAX_REPLY_CHARACTERS = 480


class Sender(StoreOwnedIndexedByComposite):
    """A number (or sender id) of a store at one provider, with its credentials and speed."""

    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=32, help_text="sim, twilio, kannel, smpp")
    from_number = models.CharField(max_length=32, help_text="E.164 number, short code or sender id")
    number_type = models.CharField(max_length=16, choices=NumberType.choices, default=NumberType.TEN_DLC)
    rate_per_second = models.FloatField(help_text="messages per second this sender may send")
    # Secrets (auth tokens, passwords) encrypted with TEXTPILOT_ENCRYPTION_KEY; never shown again.
    credentials_encrypted = models.TextField(blank=True)
    # Non-secret provider options (base URL, system id, latency of the simulator, …).
    options = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=utc_now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="sender_unique_name"),
            models.UniqueConstraint(fields=["store"], condition=Q(is_default=True), name="sender_one_default"),
        ]
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider} {self.from_number})"


class Message(StoreOwnedIndexedByComposite):
    profile = models.ForeignKey("profiles.Profile", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # Indexed by message_due, which leads with it.
    sender = models.ForeignKey(Sender, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    to_phone = models.CharField(max_length=32)
    from_phone = models.CharField(max_length=32, blank=True)
    body = models.TextField()
    media_urls = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSACTIONAL)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.API)
    # The row of the thing that sent it (campaign, flow step, popup…; see Origin), null for
    # one-off texts. An integer, not text: every sender of bulk texts is a row, and analytics
    # joins messages to campaigns (and flow steps) on it without a cast.
    origin_id = models.PositiveBigIntegerField(null=True, blank=True)
    # The A/B variant of a campaign or flow split ("A", "B", …), blank when there is none.
    variant = models.CharField(max_length=16, blank=True)
    # The idempotency key, nothing more: "campaign:12:p:9", an API caller's key, …
    # Unique per store, so asking twice for the same message creates it once.
    origin_key = models.CharField(max_length=200, null=True, blank=True)
    encoding = models.CharField(max_length=8, blank=True)
    segments = models.PositiveSmallIntegerField(default=1)
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    actual_cost = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    status_reason = models.CharField(max_length=255, blank=True)
    # The rule (and its version) that suppressed or deferred this text, e.g. "quiet_hours:US-TX@2025-09-01".
    hold_rule = models.CharField(max_length=96, blank=True)
    # Inbound texts staff should look at, e.g. "possible_opt_out" (an unclear request to stop).
    review_flag = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    provider_message_id = models.CharField(max_length=128, null=True, blank=True)

    priority = models.PositiveSmallIntegerField(default=PRIORITY_MARKETING)
    send_after = models.DateTimeField(default=utc_now)
    # Claim of one dispatcher: the message is theirs until the lease expires.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(default=utc_now)
    status_at = models.DateTimeField(default=utc_now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "origin_key"], condition=Q(origin_key__isnull=False), name="message_unique_origin"),
            # Per store: providers of different stores may hand out the same ids (an SMSC's
            # counter), and one store must not be able to block another's texts by using them.
            models.UniqueConstraint(
                fields=["store", "provider", "provider_message_id"], condition=Q(provider_message_id__isnull=False),
                name="message_unique_provider_id",
            ),
        ]
        indexes = [
            # The dispatcher's claim: due queued messages, most urgent first.
            models.Index(fields=["sender", "status", "priority", "send_after"], name="message_due"),
            models.Index(fields=["status", "lease_expires_at"], name="message_lease"),
            # The dispatcher's many-times-a-second look for keyword replies to send first.
            models.Index(fields=["send_after"], condition=Q(status="queued", priority=0), name="message_urgent_due"),
            models.Index(fields=["store", "profile", "created_at"], name="message_profile_time"),
            models.Index(fields=["store", "to_phone", "created_at"], name="message_phone_time"),
            models.Index(fields=["store", "created_at"], name="message_store_time"),
            # A campaign's (or flow step's) progress by status and its attribution: messages of one sender.
            models.Index(fields=["store", "origin", "origin_id", "status"], name="message_origin_status"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.to_phone} {self.status}"


class DeliveryAttempt(StoreOwned):
    """One provider call for a message: what was asked, what came back, how long it took."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        TRANSIENT = "transient", "Transient error (retried)"
        PERMANENT = "permanent", "Permanent error"
        UNKNOWN = "unknown", "Unknown (the call may have succeeded)"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts_made")
    provider = models.CharField(max_length=32)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=utc_now)

    class Meta:
        ordering = ["started_at", "id"]


class DeliveryReport(StoreOwned):
    """Every receipt (DLR / status callback) as received, applied or not: the audit trail."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    provider = models.CharField(max_length=32)
    provider_message_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=12)
    error_code = models.CharField(max_length=32, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    applied = models.BooleanField(default=False, help_text="False when it came late or repeated a known status")
    received_at = models.DateTimeField(default=utc_now)


def _default_allowed_countries() -> list:
    return []


class ComplianceSettings(StoreOwned):
    """Per-store rules the gate enforces; defaults follow COMPLIANCE.md."""

    quiet_hours_start = models.TimeField(default=datetime.time(21, 0), help_text="marketing stops at this local time")
    quiet_hours_end = models.TimeField(default=datetime.time(8, 0), help_text="marketing may start again at this local time")
    smart_sending_hours = models.PositiveSmallIntegerField(default=16, help_text="0 turns smart sending off")
    # A sending window whose end is before its start runs past midnight; only when asked for.
    overnight_window = models.BooleanField(default=False)
    # Empty means: only the store's own country.
    allowed_countries = models.JSONField(default=_default_allowed_countries, blank=True)
    daily_spend_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    stop_reply = models.TextField(blank=True)
    start_reply = models.TextField(blank=True)
    help_reply = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="compliance_one_per_store")]


class DailySpend(StoreOwnedIndexedByComposite):
    """What a store spends on texts in one day of its own time zone (delivery.spend): the
    daily spend cap reads this row instead of summing the day's messages for every batch.
    A text adds its estimated cost when it is marked `sending` and gives it back if it
    leaves `sending` without reaching the provider (held at the last look, retried later,
    failed, or found missing after a crash)."""

    day = models.DateField(help_text="the local date in the store's time zone")
    spent = models.DecimalField(max_digits=16, decimal_places=5, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="daily_spend_one_per_store_day")]


class SimDelivery(models.Model):
    """The simulated carrier's own log, the provider side of the `sim` provider: one row per
    accepted submission, never deduplicated, so a text handed over twice shows up twice."""

    store_id = models.BigIntegerField()
    client_ref = models.CharField(max_length=64, db_index=True, help_text="textpilot message id")
    provider_message_id = models.CharField(max_length=64, unique=True)
    to_phone = models.CharField(max_length=32)
    from_phone = models.CharField(max_length=32)
    body = models.TextField()
    accepted_at = models.DateTimeField(default=utc_now)
    receipt_status = models.CharField(max_length=12, default="delivered")
    receipt_due_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["receipt_sent_at", "receipt_due_at"], name="simdelivery_receipts_due")]

