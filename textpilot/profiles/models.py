"""Customers (profiles) and the append-only consent evidence trail."""
from django.db import models
from django.db.models import Q
from django.utils.timezone import now as utc_now

from textpilot.stores.models import StoreOwnedIndexedByComposite


class ConsentStatus(models.TextChoices):
    NEVER = "never", "Never subscribed"
    PENDING = "pending", "Pending confirmation"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Gender(models.TextChoices):
    UNKNOWN = "", "Unknown"
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"


class Profile(StoreOwnedIndexedByComposite):
    phone = models.CharField(max_length=20, null=True, blank=True, help_text="E.164")
    email = models.EmailField(max_length=254, null=True, blank=True)
    external_id = models.CharField(max_length=128, null=True, blank=True, help_text="id in the store platform")
    anonymous_id = models.CharField(max_length=64, null=True, blank=True, help_text="storefront visitor id (snippet cookie)")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    gender = models.CharField(max_length=8, choices=Gender.choices, blank=True, default="")
    language = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=100, blank=True)
    # State or province (ISO 3166-2 subdivision code without the country, e.g. "TX"): the gate
    # holds a number to the rules of its area code's state *and* of the address's state.
    region = models.CharField(max_length=8, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64, blank=True, help_text="where the profile came from")
    created_at = models.DateTimeField(default=utc_now)
    updated_at = models.DateTimeField(auto_now=True)

    # Set when this profile was merged into another (identify found both were one person).
    # The row stays so its consent evidence keeps pointing at the profile it was given for.
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_profiles")
    erased_at = models.DateTimeField(null=True, blank=True, help_text="personal data erased on request")

    # Current SMS consent, derived from the newest ConsentEvent (the trail is the evidence).
    sms_status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.NEVER)
    sms_status_at = models.DateTimeField(null=True, blank=True)
    # Server time of the opt-out textpilot itself observed (STOP, carrier, staff, erase) that
    # still stands: only an opt-in with proof of intent made after it can lift it (profiles/consent.py).
    sms_opted_out_at = models.DateTimeField(null=True, blank=True)
    # Order rollups (orders, spent, first/last order) are commerce's: commerce.CustomerStats.

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "phone"], condition=Q(phone__isnull=False), name="profile_unique_phone"),
            models.UniqueConstraint(fields=["store", "email"], condition=Q(email__isnull=False), name="profile_unique_email"),
            models.UniqueConstraint(
                fields=["store", "external_id"], condition=Q(external_id__isnull=False), name="profile_unique_external_id"
            ),
            models.UniqueConstraint(
                fields=["store", "anonymous_id"], condition=Q(anonymous_id__isnull=False), name="profile_unique_anonymous_id"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "created_at"], name="profile_store_created"),
            models.Index(fields=["store", "sms_status"], name="profile_store_sms_status"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.erased_at is not None:
            return f"Erased profile {self.pk}"
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.phone or self.email or self.external_id or f"visitor {self.pk}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("consent events are append-only evidence; they cannot be changed")

    def delete(self):
        raise PermissionError("consent events are append-only evidence; they cannot be deleted")


class ConsentBasis(models.TextChoices):
    """How textpilot knows of a consent change; decides what it may overturn (profiles/consent.py).
    Set by the code that records it, never by the client."""

    OBSERVED = "observed", "Observed by textpilot"  # a keyword texted to us, a carrier report, staff, erase, a confirmed double opt-in
    EVIDENCED = "evidenced", "Form submission with evidence"  # disclosure text plus IP or user agent
    REPORTED = "reported", "Reported by a client"  # API without evidence, CSV import, platform sync


class ConsentEvent(StoreOwnedIndexedByComposite):
    """One change of consent, kept as legal evidence (TCPA: at least 4 years). Never updated or deleted."""

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="consent_events")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    phone = models.CharField(max_length=64, blank=True, help_text="the number consent was given for (a keyed hash once erased)")
    source = models.CharField(max_length=64, help_text="popup, keyword, checkout, import, api, inbound_stop, …")
    keyword = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    consent_text = models.TextField(blank=True, help_text="the exact disclosure shown")
    basis = models.CharField(max_length=12, choices=ConsentBasis.choices, default=ConsentBasis.REPORTED)
    occurred_at = models.DateTimeField(default=utc_now)
    recorded_at = models.DateTimeField(default=utc_now, help_text="server time; consent precedence reads it")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["store", "profile", "occurred_at"], name="consent_store_profile_time")]
        ordering = ["occurred_at", "id"]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("consent events are append-only evidence; they cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("consent events are append-only evidence; they cannot be deleted")


class ProfileIdentifier(StoreOwnedIndexedByComposite):
    """Every identifier a profile has had (phone, email, external id, visitor id), with when it
    was first and last seen. A profile row holds only the current ones; an erase request must
    also find the old ones (an email that `identify` overwrote still sits in stored webhooks)."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="identifier_history")
    kind = models.CharField(max_length=16, help_text="phone, email, external_id or anonymous_id")
    value = models.CharField(max_length=254)
    first_seen_at = models.DateTimeField(default=utc_now)
    last_seen_at = models.DateTimeField(default=utc_now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "profile", "kind", "value"], name="profile_identifier_unique"),
        ]
