"""Models of the messaging domain: tracked short links and their clicks (see messaging/links.py)."""
from django.db import models
from django.db.models import Q
from django.utils.timezone import now as utc_now

from textpilot.stores.models import StoreOwnedIndexedByComposite


class LinkOrigin(models.TextChoices):
    """What a tracked link is for. Only a message's links name a message (and its recipient);
    the others are shared by everyone who sees them, so a click names no person."""

    MESSAGE = "message", "Link in a text"
    SOCIAL = "social", "Shared link (social post, bio, email)"
    QR = "qr", "QR code"


class ShortLink(StoreOwnedIndexedByComposite):
    """A tracked link: `https://<store domain>/l/<code>` redirects to `target_url` and counts
    clicks. A message's links are one row per (message, url), so a click names the person and
    the text that brought them; a QR or social link has no message and no profile, and is
    told apart by its `label` and `origin_id` (the growth feature's row, e.g. a keyword)."""

    code = models.CharField(max_length=16, help_text="random, globally unique: the redirect finds the link by it alone")
    origin = models.CharField(max_length=16, choices=LinkOrigin.choices, default=LinkOrigin.MESSAGE)
    origin_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="the row that owns a message-less link (keyword, popup…)")
    label = models.CharField(max_length=100, blank=True, help_text="what staff call a message-less link, e.g. 'Instagram bio'")
    message = models.ForeignKey("delivery.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # Profiles are erased or merged, never deleted (Message.profile is PROTECT too).
    profile = models.ForeignKey("profiles.Profile", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    target_url = models.TextField(help_text="an http(s) URL, as the text gave it")
    created_at = models.DateTimeField(default=utc_now)
    click_count = models.PositiveIntegerField(default=0, help_text="human clicks (bots, link previews and double clicks not counted)")
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # One row per (message, url) is kept by the code that shortens a message's links
        # (links.plan_links + links.store_links), once per message, inside the transaction
        # that creates it. Not a database constraint: a unique index on a URL of up to 1,600
        # characters can exceed PostgreSQL's btree row limit.
        constraints = [
            # A constraint rather than unique=True: on PostgreSQL that would add a second,
            # varchar_pattern_ops index for LIKE queries nobody makes (measured ~4 µs a link
            # on bulk enqueue's insert path).
            models.UniqueConstraint(fields=["code"], name="shortlink_unique_code"),
            models.CheckConstraint(
                condition=Q(origin=LinkOrigin.MESSAGE, message__isnull=False) | (~Q(origin=LinkOrigin.MESSAGE) & Q(message__isnull=True)),
                name="shortlink_message_iff_message_origin",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "created_at"], name="shortlink_store_created"),
        ]

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.target_url}"
