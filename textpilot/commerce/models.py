"""What the store sells and what customers bought or left behind. Money is Decimal + currency."""
from decimal import Decimal

from django.db import models
from django.utils import timezone

from textpilot.profiles.models import Profile
from textpilot.stores.models import Store, StoreOwned, StoreOwnedIndexedByComposite


class Product(StoreOwnedIndexedByComposite):
    external_id = models.CharField(max_length=128)
    title = models.CharField(max_length=255)
    handle = models.CharField(max_length=255, blank=True)
    url = models.URLField(max_length=500, blank=True)
    image_url = models.URLField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="product_unique_external_id")]

    def __str__(self) -> str:
        return self.title


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"


# Orders in these states count towards a customer's orders and spend.
COUNTED_PAYMENT_STATUSES = (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)


class Order(StoreOwnedIndexedByComposite):
    class FulfillmentStatus(models.TextChoices):
        UNFULFILLED = "unfulfilled", "Unfulfilled"
        PARTIAL = "partial", "Partially fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        DELIVERED = "delivered", "Delivered"

    # Indexed by order_profile_placed, which leads with it.
    profile = models.ForeignKey(Profile, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders", db_index=False)
    external_id = models.CharField(max_length=128)
    order_number = models.CharField(max_length=64, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    payment_status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    fulfillment_status = models.CharField(max_length=16, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED)
    discount_codes = models.JSONField(default=list, blank=True)
    shipping = models.JSONField(default=dict, blank=True, help_text="address, carrier, tracking number and URL")
    source = models.CharField(max_length=32, blank=True, help_text="shopify, api, demo, …")
    placed_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True, help_text="updated_at from the store platform")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="order_unique_external_id")]
        indexes = [
            models.Index(fields=["store", "placed_at"], name="order_store_placed"),
            models.Index(fields=["profile", "placed_at"], name="order_profile_placed"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_number or self.external_id}"

    @property
    def counts_towards_rollups(self) -> bool:
        return self.cancelled_at is None and self.payment_status in COUNTED_PAYMENT_STATUSES


class OrderLine(StoreOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=255)
    sku = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=12, decimal_places=2)


class Checkout(StoreOwnedIndexedByComposite):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ABANDONED = "abandoned", "Abandoned"
        RECOVERED = "recovered", "Recovered"
        COMPLETED = "completed", "Completed"

    profile = models.ForeignKey(Profile, on_delete=models.SET_NULL, null=True, blank=True, related_name="checkouts")
    external_id = models.CharField(max_length=128)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    checkout_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    line_items = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="checkout_unique_external_id")]
        indexes = [models.Index(fields=["store", "status", "started_at"], name="checkout_store_status")]


class CustomerStats(StoreOwned):
    """A customer's order rollups, owned by commerce and kept true by `commerce.customer_stats`.

    One row per profile that has at least one order (no row = no orders: read it as zeros).
    Amounts are in `currency`, the store's currency when the row was computed; only orders in
    that currency count (docs/decisions.md, "One currency rule"): a counted order in another
    currency is left out of every figure here and counted in `other_currency_orders`."""

    profile = models.OneToOneField(Profile, on_delete=models.CASCADE, primary_key=True, related_name="customer_stats")
    # No index of its own: every composite index below starts with the store.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    orders_count = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    average_order_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, help_text="the store's currency the amounts are in")
    other_currency_orders = models.PositiveIntegerField(
        default=0, help_text="counted orders in another currency: left out of the figures above")

    class Meta:
        verbose_name_plural = "customer stats"
        indexes = [
            # What segments filter on ("spent more than", "ordered since", "at least N orders").
            models.Index(fields=["store", "total_spent"], name="stats_store_spent"),
            models.Index(fields=["store", "last_order_at"], name="stats_store_last_order"),
            models.Index(fields=["store", "orders_count"], name="stats_store_orders"),
        ]

    def __str__(self) -> str:
        return f"stats of profile {self.profile_id}"


class StoreClvModel(StoreOwned):
    """The store's latest customer-lifetime-value fit (commerce.predictions): one row per
    store, replaced every night. Parameters are those of BG/NBD (r, alpha in weeks, a, b)
    and Gamma-Gamma (p, q, gamma, in the store's currency); `diagnostics` holds the
    log-likelihoods, customers fitted and convergence. Only a "fitted" store has
    predictions."""

    class Status(models.TextChoices):
        FITTED = "fitted", "Fitted"
        NOT_ENOUGH_DATA = "not_enough_data", "Not enough data"
        FAILED = "failed", "Failed"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices)
    detail = models.CharField(max_length=255, blank=True, help_text="why there are no numbers, in plain words")
    parameters = models.JSONField(default=dict, blank=True)
    diagnostics = models.JSONField(default=dict, blank=True)
    customers = models.PositiveIntegerField(default=0, help_text="buyers with counted orders in the store's currency")
    history_days = models.PositiveIntegerField(default=0, help_text="days from the first such order to the last")
    currency = models.CharField(max_length=3)
    fitted_at = models.DateTimeField()

    class Meta:
        verbose_name = "store CLV model"

    def __str__(self) -> str:
        return f"CLV model of store {self.store_id}: {self.status}"


class CustomerPrediction(StoreOwned):
    """What the store's CLV model predicts for one customer (1:1 with the profile), as of
    `fitted_at`. Rows exist only for live profiles with counted orders in the store's
    currency, and only while the store's model is "fitted"; amounts are in `currency`."""

    class ChurnRisk(models.TextChoices):
        HIGH = "high", "High"  # P(alive) < 0.3
        LOW = "low", "Low"

    profile = models.OneToOneField(Profile, on_delete=models.CASCADE, primary_key=True, related_name="customer_prediction")
    # No index of its own: every composite index below starts with the store.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    expected_purchases_12m = models.FloatField(help_text="expected orders in the next 12 months (BG/NBD)")
    p_alive = models.FloatField(help_text="probability the customer still buys (BG/NBD)")
    churn_risk = models.CharField(max_length=8, choices=ChurnRisk.choices, help_text="high when p_alive < 0.3")
    expected_order_value = models.DecimalField(max_digits=14, decimal_places=2, help_text="Gamma-Gamma")
    predicted_clv = models.DecimalField(max_digits=14, decimal_places=2,
                                        help_text="value of the next 12 months' orders, discounted at 10 % a year")
    currency = models.CharField(max_length=3)
    next_order_at = models.DateTimeField(null=True, blank=True,
                                         help_text="when the customer has more likely than not ordered again; "
                                                   "empty when the model never gives even odds (within 5 years)")
    fitted_at = models.DateTimeField()

    class Meta:
        indexes = [
            # What segments filter on: predicted.clv, predicted.next_order_at, predicted.churn_risk.
            models.Index(fields=["store", "predicted_clv"], name="prediction_store_clv"),
            models.Index(fields=["store", "next_order_at"], name="prediction_store_next_order"),
            models.Index(fields=["store", "churn_risk"], name="prediction_store_churn"),
        ]

    def __str__(self) -> str:
        return f"prediction for profile {self.profile_id}"
