"""Background tasks of the commerce domain (named domain.action)."""
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from textpilot.commerce import checkouts, stats
from textpilot.stores.models import Store


@db_task(name="commerce.recompute_rollups")
def recompute_rollups(store_id: int) -> int:
    """Recompute the customer stats of a whole store (commerce.stats), e.g. after a bulk
    import of orders or a change of the store's currency."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return 0
    return stats.recompute_store(store)


@db_periodic_task(crontab(minute="*/5"), name="commerce.abandon_idle_checkouts")
def abandon_idle_checkouts() -> int:
    """Checkouts from Shopify webhooks become abandoned once idle (see commerce.checkouts)."""
    return sum(checkouts.abandon_idle_checkouts(store) for store in Store.objects.filter(pk__in=checkouts.stores_with_open_checkouts()))
