"""Newest wins, per Shopify object. Shopify retries, reorders and duplicates webhooks, and a
backfill reads objects that webhooks are changing at the same moment; each object carries its
`updated_at`, and a version older than the one applied is skipped.

Call inside a transaction: the object's version row stays locked until it commits, so two
workers never apply changes to the same object at once (on SQLite every write transaction
is already exclusive)."""
from datetime import datetime

from django.db import IntegrityError, transaction

from textpilot.integrations.shopify.models import ShopifyObjectVersion
from textpilot.stores.models import Store


def _locked_row(store: Store, kind: str, external_id: str, updated_at: datetime | None) -> tuple[ShopifyObjectVersion, bool]:
    rows = ShopifyObjectVersion.objects.select_for_update()
    row = rows.filter(store=store, kind=kind, external_id=external_id).first()
    if row is not None:
        return row, False
    try:
        with transaction.atomic():
            return ShopifyObjectVersion.objects.create(store=store, kind=kind, external_id=external_id, updated_at=updated_at), True
    except IntegrityError:  # created by a concurrent transaction, which has committed by now
        return rows.get(store=store, kind=kind, external_id=external_id), False


def claim(store: Store, kind: str, external_id: str, updated_at: datetime | None) -> bool:
    """Lock the object and say whether a version stamped `updated_at` may be applied: yes
    unless a newer one already was. A version without a time cannot be ordered and applies."""
    assert transaction.get_connection().in_atomic_block, "versions.claim needs a transaction"
    row, created = _locked_row(store, kind, str(external_id), updated_at)
    if created or updated_at is None:
        return True
    if row.updated_at is not None and updated_at < row.updated_at:
        return False
    if row.updated_at != updated_at:
        ShopifyObjectVersion.objects.filter(pk=row.pk).update(updated_at=updated_at)
    return True


def lock(store: Store, kind: str, external_id: str) -> None:
    """Only serialise work on the object (e.g. a shipment update of an order)."""
    claim(store, kind, external_id, None)


def forget(store: Store) -> int:
    """Shop redacted: the versions say which objects existed, so they go too."""
    return ShopifyObjectVersion.objects.filter(store=store).delete()[0]


def forget_objects(store: Store, kind: str, external_ids) -> int:
    """A person erased: the versions of their Shopify objects (ids are personal identifiers)."""
    return ShopifyObjectVersion.objects.filter(store=store, kind=kind, external_id__in=list(external_ids)).delete()[0]
