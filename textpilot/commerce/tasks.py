"""Background tasks of the commerce domain (named domain.action)."""
import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from textpilot.commerce import checkouts, stats
from textpilot.stores.models import Store

log = logging.getLogger(__name__)


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


@db_periodic_task(crontab(minute="30", hour="3"), name="commerce.fit_clv_models")
def fit_clv_models() -> dict[str, int]:
    """Nightly (03:30 UTC): fit each store's customer-lifetime-value model on its orders and
    replace its predictions (commerce.clv_fitting). One store's failure is recorded on its
    model row and logged; the other stores are still fitted. Returns how many stores ended
    in each status."""
    from textpilot.commerce import clv_fitting  # numpy and scipy: only in the worker that runs this

    outcome: dict[str, int] = {}
    for store in Store.objects.order_by("pk"):
        try:
            status = clv_fitting.fit_store(store).status
        except Exception:  # a bug or a database error in one store must not stop the others
            log.exception("CLV fit of store %s raised", store.pk)
            status = "error"
        outcome[status] = outcome.get(status, 0) + 1
    return outcome
