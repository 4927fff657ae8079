"""The nightly fit of each store's customer-lifetime-value model on its orders, and the
predictions it writes per customer (commerce.predictions).

Which orders: the ones customer stats count (commerce.stats: placed, not cancelled, not
refunded or voided), in the store's currency only (the one currency rule), up to now, of
orders with a customer. Each counts on its day in the store's time zone (clv/summary.py).
The fit uses every such customer (erased ones too: their orders stay as anonymous
history); predictions are written only for live profiles (not merged, not erased).

A store gets numbers only with enough history (clv.fit.too_little_data): at least 200
buyers and 90 days from its first such order to its last, and 20 customers with a paid
repeat order (the spend model learns only from those). Otherwise its
model row says "not enough data", with the reason, and the store has no predictions; a fit
that does not converge says "failed" and leaves none either. Predictions exist exactly
while the store's model is "fitted", all from the same fit.

A big store is fitted on `FIT_SAMPLE` customers drawn at random (seeded by the store, so a
re-run gives the same model): four population parameters are pinned down well by 50,000
customers, and a fit on a million would cost minutes of CPU every night for the same
answer. Predictions are computed for every customer, vectorised."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from textpilot.commerce import predictions, stats
from textpilot.commerce.clv import fit as clv_fit
from textpilot.commerce.clv.summary import Summary, summarise
from textpilot.commerce.models import CustomerPrediction, StoreClvModel
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

log = logging.getLogger(__name__)

FIT_SAMPLE = 50_000
MAX_NEXT_ORDER_WEEKS = 5 * 365.25 / 7  # beyond 5 years: no date
CENT = Decimal("0.01")
Status = StoreClvModel.Status


# --- fitting ----------------------------------------------------------------------------------

def fit_store(store: Store, now: datetime | None = None) -> StoreClvModel:
    """Fit the store's model on its orders up to `now` and replace its predictions."""
    now = now or timezone.now()
    summary = store_summary(store, now)
    row = {"customers": len(summary), "history_days": summary.history_days, "currency": store.currency,
           "fitted_at": now, "parameters": {}, "diagnostics": {}}
    short = clv_fit.too_little_data(summary)
    if short:
        return predictions.replace(store, [], status=Status.NOT_ENOUGH_DATA, detail=short, **row)
    sample = None
    if len(summary) > FIT_SAMPLE:
        sample = np.sort(np.random.default_rng(store.pk).choice(len(summary), FIT_SAMPLE, replace=False))
    try:
        fitted = clv_fit.fit(summary, sample)
    except (ValueError, FloatingPointError, ArithmeticError) as exc:  # numerical trouble in a store's data
        log.warning("CLV fit of store %s failed: %s", store.pk, exc)
        return predictions.replace(store, [], status=Status.FAILED, detail=f"the fit raised an error: {exc}"[:255], **row)
    row.update(parameters={**fitted.purchases.as_dict(), **(fitted.spend.as_dict() if fitted.spend else {})},
               diagnostics=_diagnostics(fitted.report(), sample))
    if not fitted.converged:
        return predictions.replace(store, [], status=Status.FAILED, detail="the model did not converge on this store's orders",
                                   **row)
    predicted = clv_fit.predict(fitted, summary)
    unusable = int((~predicted.finite).sum())
    if unusable:
        return predictions.replace(store, [], status=Status.FAILED,
                                   detail=f"the model gave no finite prediction for {unusable} customers", **row)
    return predictions.replace(store, _prediction_rows(store, summary, predicted, now), status=Status.FITTED, detail="",
                               **row)


def _diagnostics(report: dict, sample) -> dict:
    keys = ("log_likelihood", "customers", "converged", "evaluations", "at_bound")
    spend = report["gamma_gamma"] or {}
    return {"converged": report["converged"], "sampled": sample is not None, "unit": report["unit"],
            "bgnbd": {key: report["bgnbd"][key] for key in keys},
            "gamma_gamma": {key: spend[key] for key in keys} if spend else None,
            "mean_order_value": spend.get("mean_order_value")}


def store_summary(store: Store, now: datetime) -> Summary:
    """The store's customers summarised from its counted orders up to `now` (by profile id),
    one row per customer and day of the store's time zone, summed in SQL."""
    tz = ZoneInfo(store.timezone or "UTC")
    days = (stats.revenue_orders(store).filter(profile__isnull=False, placed_at__lte=now)
            .annotate(day=TruncDate("placed_at", tzinfo=tz)).values("profile_id", "day")
            .annotate(amount=Sum("total")).values_list("profile_id", "day", "amount").order_by())
    return summarise(days.iterator(chunk_size=10_000), now.astimezone(tz).date())


def _prediction_rows(store: Store, summary: Summary, predicted: clv_fit.Predictions, now: datetime) -> list[tuple]:
    # Few profiles are merged or erased (and merged ones have no orders left): read those.
    gone = set(Profile.objects.filter(Q(merged_into__isnull=False) | Q(erased_at__isnull=False), store=store)
               .values_list("pk", flat=True))
    rows = []
    for i, profile_id in enumerate(summary.customers):
        if profile_id in gone:
            continue
        wait = predicted.next_order_wait[i]
        next_order_at = None
        if np.isfinite(wait) and wait <= MAX_NEXT_ORDER_WEEKS:  # to the second: more would be false precision
            next_order_at = (now + timedelta(weeks=float(wait))).replace(microsecond=0)
        rows.append((
            profile_id, float(predicted.expected_purchases[i]), float(predicted.p_alive[i]),
            CustomerPrediction.ChurnRisk.HIGH if predicted.at_risk[i] else CustomerPrediction.ChurnRisk.LOW,
            _money(predicted.expected_order_value[i]), _money(predicted.clv[i]), next_order_at,
        ))
    return rows


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_EVEN)
