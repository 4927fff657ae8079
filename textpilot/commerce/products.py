"""Product catalogue rules: products are upserted by the store platform's id."""
from django.db import transaction

from textpilot.commerce.models import Product
from textpilot.commerce.service import parse_money
from textpilot.common.errors import FieldError
from textpilot.stores.models import Store

URL_LIMIT = Product._meta.get_field("url").max_length


def _fit_url(value: str | None) -> str:
    # A link longer than the column is useless cut short: keep none rather than a broken one.
    value = (value or "").strip()
    return value if len(value) <= URL_LIMIT else ""


@transaction.atomic
def record_product(
    store: Store,
    *,
    external_id: str,
    title: str,
    handle: str = "",
    url: str = "",
    image_url: str = "",
    price=0,
    currency: str | None = None,
) -> tuple[Product, bool]:
    """Create or update a product by its external id; returns (product, created)."""
    if not (external_id := str(external_id or "").strip()):
        raise FieldError("external_id is required", field="external_id")
    if not (title := str(title or "").strip()):
        raise FieldError("title is required", field="title")
    values = {
        "title": title[:255],
        "handle": str(handle or "")[:255],
        "url": _fit_url(url),
        "image_url": _fit_url(image_url),
        "price": parse_money(price or 0, "price"),
        "currency": (currency or store.currency).upper()[:3],
    }
    product, created = Product.objects.select_for_update().get_or_create(store=store, external_id=external_id, defaults=values)
    if not created:
        for name, value in values.items():
            setattr(product, name, value)
        product.save()
    return product, created


def products_count(store: Store) -> int:
    return Product.objects.filter(store=store).count()
