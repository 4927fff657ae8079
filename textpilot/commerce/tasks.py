"""Background tasks of the commerce domain (named domain.action)."""
from huey.contrib.djhuey import db_task

from textpilot.commerce import service
from textpilot.stores.models import Store


@db_task(name="commerce.recompute_rollups")
def recompute_rollups(store_id: int) -> int:
    """Recompute every profile rollup of a store, e.g. after a bulk import of orders."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return service.recompute_all_rollups(store)
