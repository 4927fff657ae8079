"""Models of the messaging domain: short links and their clicks (see messaging/links.py)."""
from django.db import models
from django.utils.timezone import now as utc_now

from textpilot.stores.models import StoreOwned


class ShortLink(StoreOwned):
    """One link of one sent message: `https://<store domain>/l/<code>` redirects to
    `target_url` and counts the recipient's clicks. A row per (message, url), so a click
    names the person and the text that brought them."""

    code = models.CharField(max_length=16, unique=True, help_text="random, globally unique: the redirect finds the link by it alone")
    message = models.ForeignKey("delivery.Message", on_delete=models.CASCADE, related_name="+")
    # Profiles are erased or merged, never deleted (Message.profile is PROTECT too).
    profile = models.ForeignKey("profiles.Profile", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    target_url = models.TextField(help_text="an http(s) URL, as the text gave it")
    created_at = models.DateTimeField(default=utc_now)
    click_count = models.PositiveIntegerField(default=0, help_text="human clicks (bots, link previews and double clicks not counted)")
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # One row per (message, url) is kept by links.shorten_links, which shortens a message
        # once, inside the transaction that creates it. Not a database constraint: a unique
        # index on a URL of up to 1,600 characters can exceed PostgreSQL's btree row limit.
        indexes = [models.Index(fields=["store", "created_at"], name="shortlink_store_created")]

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.target_url}"
