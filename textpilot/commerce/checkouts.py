"""Checkout rules: a checkout is open, becomes abandoned when left idle, and ends completed
(ordered) or recovered (ordered after it was abandoned). The end states are final: a late or
replayed checkout update never reopens a checkout that became an order."""
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from textpilot.commerce.models import Checkout, Order
from textpilot.commerce.service import parse_money
from textpilot.common.errors import FieldError, NotFound
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

# Abandoned-cart texts start 15 min to 1 h after the checkout (COMPLIANCE.md); an hour idle
# is when the checkout counts as abandoned in segments and reports.
ABANDON_AFTER = timedelta(hours=1)
FINAL_STATUSES = (Checkout.Status.COMPLETED, Checkout.Status.RECOVERED)
URL_LIMIT = Checkout._meta.get_field("checkout_url").max_length


def _next_status(current: str | None, *, completed: bool, abandoned: bool) -> str:
    if current in FINAL_STATUSES:
        return current
    was_abandoned = abandoned or current == Checkout.Status.ABANDONED
    if completed:
        return Checkout.Status.RECOVERED if was_abandoned else Checkout.Status.COMPLETED
    return Checkout.Status.ABANDONED if was_abandoned else Checkout.Status.OPEN


def _clean_line_items(line_items: list | None) -> list[dict]:
    clean = []
    for index, item in enumerate(line_items or []):
        if not isinstance(item, dict):
            raise FieldError(f"line_items[{index}] must be an object", field=f"line_items[{index}]")
        quantity = item.get("quantity") or 1
        if not isinstance(quantity, int) or quantity < 1:
            raise FieldError(f"line_items[{index}].quantity must be a whole number of at least 1", field=f"line_items[{index}].quantity")
        clean.append({
            "title": str(item.get("title") or "")[:255],
            "quantity": quantity,
            "price": str(parse_money(item.get("price") or 0, f"line_items[{index}].price")),
            "sku": str(item.get("sku") or "")[:64],
            "product_id": str(item.get("product_id") or ""),
        })
    return clean


@transaction.atomic
def record_checkout(
    store: Store,
    *,
    external_id: str,
    total=0,
    profile: Profile | None = None,
    currency: str | None = None,
    checkout_url: str = "",
    line_items: list | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    abandoned: bool = False,
) -> tuple[Checkout, bool]:
    """Create or update a checkout by its external id; returns (checkout, created).

    `abandoned=True` says the platform already considers it abandoned (e.g. its abandoned
    checkouts list). A completed or recovered checkout keeps that state and its order."""
    if not (external_id := str(external_id or "").strip()):
        raise FieldError("external_id is required", field="external_id")
    if profile is not None and profile.store_id != store.pk:
        raise NotFound("no such profile in this store", field="profile_id")
    checkout_url = (checkout_url or "").strip()
    values = {
        "total": parse_money(total or 0, "total"),
        "currency": (currency or store.currency).upper()[:3],
        "checkout_url": checkout_url if len(checkout_url) <= URL_LIMIT else "",
        "line_items": _clean_line_items(line_items),
        "started_at": started_at or timezone.now(),
    }
    existing = Checkout.objects.select_for_update().filter(store=store, external_id=external_id).first()
    if existing is None:
        checkout = Checkout.objects.create(
            store=store, external_id=external_id, profile=profile, completed_at=completed_at,
            status=_next_status(None, completed=completed_at is not None, abandoned=abandoned), **values,
        )
        return checkout, True
    for name, value in values.items():
        setattr(existing, name, value)
    existing.profile = profile or existing.profile
    existing.completed_at = existing.completed_at or completed_at
    existing.status = _next_status(existing.status, completed=existing.completed_at is not None, abandoned=abandoned)
    existing.save()
    return existing, False


@transaction.atomic
def complete_checkout(store: Store, external_id: str, order: Order) -> Checkout:
    """The order placed from this checkout arrived: the checkout is completed, or recovered if
    it had been abandoned. When the order comes before the checkout itself, the checkout is
    created from the order, and the checkout's own data fills in when it arrives."""
    if order.store_id != store.pk:
        raise NotFound("no such order in this store", field="order_id")
    external_id = str(external_id or "").strip()
    if not external_id:
        raise FieldError("external_id is required", field="external_id")
    checkout = Checkout.objects.select_for_update().filter(store=store, external_id=external_id).first()
    if checkout is None:
        return Checkout.objects.create(
            store=store, external_id=external_id, profile=order.profile, total=order.total, currency=order.currency,
            status=Checkout.Status.COMPLETED, started_at=order.placed_at, completed_at=order.placed_at, order=order,
        )
    checkout.completed_at = checkout.completed_at or order.placed_at
    checkout.status = _next_status(checkout.status, completed=True, abandoned=False)
    checkout.order = order
    checkout.profile = checkout.profile or order.profile
    checkout.save()
    return checkout


def abandon_idle_checkouts(store: Store, now: datetime | None = None, idle: timedelta = ABANDON_AFTER) -> int:
    """Mark open checkouts idle for longer than `idle` as abandoned; returns how many."""
    cutoff = (now or timezone.now()) - idle
    return Checkout.objects.filter(
        store=store, status=Checkout.Status.OPEN, completed_at__isnull=True, started_at__lt=cutoff
    ).update(status=Checkout.Status.ABANDONED)


def stores_with_open_checkouts() -> list[int]:
    return list(Checkout.objects.filter(status=Checkout.Status.OPEN).values_list("store_id", flat=True).distinct())
