"""Tenants. Every domain row elsewhere points at a Store and every query filters by it."""
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from textpilot.common.errors import NotFound


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"unknown time zone {value!r}")


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


class Store(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD")
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166 alpha-2; default region for phone numbers")
    domain = models.CharField(max_length=255, blank=True, help_text="public domain for short links")
    # Sender settings: what recipients see and which number sends.
    sender_name = models.CharField(max_length=64, blank=True, help_text="brand name used in texts")
    sender_phone = models.CharField(max_length=20, blank=True, help_text="E.164 number or short code")
    support_email = models.EmailField(blank=True)
    # Public key for the storefront snippet: can only write events, rate-limited per IP.
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def brand(self) -> str:
        return self.sender_name or self.name


class StoreOwned(models.Model):
    """Base for every per-store row: the `store` column and a manager scoped by it."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    def ensure_in(self, store: Store, field: str) -> None:
        """Refuse (404, naming `field`) a row of another store handed to a service of
        `store`: services that take a model instance, not an id, check it with this."""
        if self.store_id != store.pk:
            raise NotFound(f"no such {self._meta.verbose_name} in this store", field=field)


class StoreOwnedIndexedByComposite(StoreOwned):
    """A StoreOwned model whose composite indexes or unique keys lead with `store`: those
    serve every lookup by store (and the cascade when a store is deleted), so the column gets
    no index of its own, which every insert would otherwise pay for
    (tests/stores/test_index_prefixes.py checks both halves)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        abstract = True


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    # Indexed by the unique (store, user) key.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "user"], name="membership_unique_store_user")]


class ApiKey(StoreOwned):
    """A secret API key. Only a SHA-256 digest is stored; the key is shown once at creation."""

    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, help_text="first characters, to recognise a key in lists")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
