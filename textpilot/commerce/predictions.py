"""Predictions of each store's customer-lifetime-value model (`CustomerPrediction`, 1:1
with a profile; the store's fit in `StoreClvModel`), for segments (`predicted.clv`,
`predicted.next_order_at`, `predicted.churn_risk`) and the profile page. Written only by
the nightly fit (commerce.clv_fitting, which says how and from which orders); a store has
predictions exactly while its model is "fitted", all from the same fit. No row: no
prediction (too little history, or the customer has no counted order).

Kept apart from the fitting so that reading and the privacy handlers do not import numpy
and scipy into every web process."""
from __future__ import annotations

from django.db import transaction

from textpilot.commerce import stats
from textpilot.commerce.models import CustomerPrediction, StoreClvModel
from textpilot.common import bulk_write
from textpilot.stores.models import Store

PREDICTION_COLUMNS = ("profile_id", "expected_purchases_12m", "p_alive", "churn_risk", "expected_order_value",
                      "predicted_clv", "next_order_at")


@transaction.atomic
def replace(store: Store, rows: list[tuple], **fields) -> StoreClvModel:
    """Replace the store's model row and all its predictions (`rows`: tuples in the order
    of PREDICTION_COLUMNS), in one transaction: readers see the old set until it commits."""
    model, _ = StoreClvModel.objects.update_or_create(store=store, defaults=fields)
    CustomerPrediction.objects.filter(store=store).delete()
    bulk_write.insert_rows(CustomerPrediction, PREDICTION_COLUMNS, rows,
                           constants={"store_id": store.pk, "currency": store.currency, "fitted_at": fields["fitted_at"]})
    return model


# --- reading ------------------------------------------------------------------------------------

def model_of(store: Store) -> StoreClvModel | None:
    return StoreClvModel.objects.filter(store=store).first()


def for_profile(store: Store, profile_id: int) -> CustomerPrediction | None:
    return CustomerPrediction.objects.filter(store=store, pk=profile_id).first()


def for_profiles(store: Store, profile_ids) -> dict[int, CustomerPrediction]:
    """profile id -> prediction, for the ids that have one (no row: no prediction)."""
    return {row.pk: row for row in CustomerPrediction.objects.filter(store=store, pk__in=list(profile_ids))}


def stats_with_predictions(store: Store, profile_ids) -> dict:
    """Customer stats (commerce.stats.for_profiles) each carrying `predicted` (the
    prediction or None), for the profile API's `stats`: two queries for a whole page."""
    ids = list(profile_ids)
    found = stats.for_profiles(store, ids)
    predicted = for_profiles(store, ids)
    for pk, row in found.items():
        row.predicted = predicted.get(pk)
    return found


# --- privacy ---------------------------------------------------------------------------------------

def export_for_profiles(store: Store, profile_ids: list[int]) -> dict:
    rows = (CustomerPrediction.objects.filter(store=store, pk__in=profile_ids).order_by("pk")
            .values("profile_id", *PREDICTION_COLUMNS[1:], "currency", "fitted_at"))
    return {"customer_predictions": list(rows)}


def forget(store: Store, profile_ids) -> int:
    """Drop the predictions of these profiles (erased, or merged into another: the survivor's
    is recomputed by the next nightly fit)."""
    deleted, _ = CustomerPrediction.objects.filter(store=store, pk__in=list(profile_ids)).delete()
    return deleted
