"""The nightly CLV fit of a store (commerce.clv_fitting, task commerce.fit_clv_models): which
orders it reads, the predictions it writes for live buyers, the "not enough data" and
"failed" outcomes (no numbers), sampling of big stores, and the privacy handlers."""
import dataclasses
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import numpy as np
import pytest

from textpilot.commerce import clv_fitting, predictions
from textpilot.commerce import tasks as commerce_tasks
from textpilot.commerce.clv import bgnbd
from textpilot.commerce.clv import fit as clv_fit
from textpilot.commerce.models import CustomerPrediction, Order, StoreClvModel
from textpilot.profiles.models import Profile

NOW = datetime(2026, 6, 1, 16, 0, tzinfo=dt_timezone.utc)  # noon in New York, the store's zone
Status = StoreClvModel.Status


def seed_orders(store, buyers: int = 200, span_days: int = 90, seed: int = 7, price: str | None = None) -> list[Profile]:
    """`buyers` customers with paid orders in the store's currency, the first order of all
    `span_days` days before the last, which is today; purchases follow a BG/NBD-like process
    (rate ~ Gamma, dropout after each purchase ~ Beta) so the fit has something to find."""
    rng = np.random.default_rng(seed)
    profiles = Profile.objects.bulk_create([Profile(store=store, email=f"buyer{i}@example.test") for i in range(buyers)])
    last_day = NOW.replace(hour=15)  # 11:00 in New York
    first_day = last_day - timedelta(days=span_days)
    orders = []
    for i, profile in enumerate(profiles):
        start = first_day if i == 0 else first_day + timedelta(days=int(rng.integers(0, max(span_days // 3, 1))))
        days = [start]
        rate, dropout = rng.gamma(1.0, 1 / 15), rng.beta(1.0, 3.0)
        while rng.random() > dropout:
            step = timedelta(days=max(1, int(rng.exponential(1 / rate))))
            if days[-1] + step > last_day:
                break
            days.append(days[-1] + step)
        if i == 1:
            days.append(last_day)  # someone ordered today: the history spans exactly span_days
        for n, day in enumerate(days):
            orders.append(Order(store=store, profile=profile, external_id=f"{profile.pk}-{n}", payment_status="paid",
                                total=Decimal(price or f"{rng.gamma(4.0, 10.0):.2f}"), currency=store.currency,
                                placed_at=day))
    Order.objects.bulk_create(orders)
    return profiles


def rows(store):
    return {row.pk: row for row in CustomerPrediction.objects.filter(store=store)}


def test_a_store_with_enough_history_gets_a_prediction_for_every_buyer(store):
    profiles = seed_orders(store, buyers=200, span_days=90)  # both thresholds met exactly
    model = clv_fitting.fit_store(store, now=NOW)
    assert (model.status, model.detail, model.customers, model.history_days) == (Status.FITTED, "", 200, 90)
    assert set(model.parameters) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    assert model.diagnostics["converged"] and model.diagnostics["bgnbd"]["customers"] == 200
    assert not model.diagnostics["sampled"] and model.fitted_at == NOW and model.currency == "USD"
    found = rows(store)
    assert set(found) == {profile.pk for profile in profiles}
    summary = clv_fitting.store_summary(store, NOW)
    params = bgnbd.Params(**{name: model.parameters[name] for name in ("r", "alpha", "a", "b")})
    for i, profile_id in enumerate(summary.customers):
        row = found[profile_id]
        assert (row.store_id, row.currency, row.fitted_at) == (store.pk, "USD", NOW)
        # The stored numbers are the stored model's, for this customer's history.
        alive = bgnbd.p_alive(params, summary.x[i:i + 1], summary.t_x[i:i + 1], summary.T[i:i + 1])[0]
        assert row.p_alive == pytest.approx(alive)
        assert row.churn_risk == ("high" if alive < 0.3 else "low")
        assert row.predicted_clv >= 0 and row.expected_order_value > 0 and row.expected_purchases_12m >= 0
        assert row.next_order_at is None or row.next_order_at > NOW
        if alive <= 0.5:
            assert row.next_order_at is None
    assert {row.churn_risk for row in found.values()} == {"high", "low"}  # the data has both kinds
    # The reads.
    assert predictions.model_of(store).pk == model.pk
    assert predictions.for_profile(store, profiles[0].pk) == found[profiles[0].pk]
    assert set(predictions.for_profiles(store, [profiles[0].pk, profiles[1].pk])) == {profiles[0].pk, profiles[1].pk}


def test_a_store_selling_at_one_price_is_fitted(store):
    """Nothing varies in spend: the spend model's maximum is at its bounds, not a failure."""
    seed_orders(store, price="25.00")
    model = clv_fitting.fit_store(store, now=NOW)
    assert model.status == Status.FITTED and {"p", "q"} <= set(model.diagnostics["gamma_gamma"]["at_bound"])
    assert {row.expected_order_value for row in rows(store).values()} == {Decimal("25.00")}


def test_summary_reads_only_counted_orders_in_the_store_currency_up_to_now(store):
    ann, bob = Profile.objects.bulk_create([Profile(store=store, email="ann@x.test"), Profile(store=store, email="bob@x.test")])
    day = NOW - timedelta(days=30)

    def order(profile, n, **fields):
        values = {"external_id": f"{profile and profile.pk}-{n}", "total": Decimal("10.00"), "currency": "USD",
                  "payment_status": "paid", "placed_at": day + timedelta(days=n), **fields}
        Order.objects.create(store=store, profile=profile, **values)

    order(ann, 0)
    order(ann, 1, cancelled_at=NOW)
    order(ann, 2, payment_status="refunded")
    order(ann, 3, payment_status="voided")
    order(ann, 4, currency="EUR")
    order(ann, 40)  # after now
    order(None, 5)  # no customer
    order(bob, 6, currency="EUR")  # bob has no order in the store's currency: no customer here
    order(ann, 7, payment_status="partially_refunded", total=Decimal("4.00"))
    order(ann, 7, payment_status="pending", external_id="same-day")  # same day: one transaction
    summary = clv_fitting.store_summary(store, NOW)
    assert summary.customers == [ann.pk]
    assert (summary.x[0], summary.m_x[0], summary.t_x[0], summary.T[0]) == (1, 14.0, 1.0, 30 / 7)


def test_the_day_of_an_order_is_its_day_in_the_store_time_zone(store):
    ann = Profile.objects.create(store=store, email="ann@x.test")
    # 02:00 UTC on 1 May is still 30 April in New York: the two orders are one day apart, not zero.
    Order.objects.create(store=store, profile=ann, external_id="1", total=Decimal("5"), currency="USD",
                         payment_status="paid", placed_at=datetime(2026, 5, 1, 2, 0, tzinfo=dt_timezone.utc))
    Order.objects.create(store=store, profile=ann, external_id="2", total=Decimal("5"), currency="USD",
                         payment_status="paid", placed_at=datetime(2026, 5, 1, 14, 0, tzinfo=dt_timezone.utc))
    summary = clv_fitting.store_summary(store, NOW)
    assert (summary.x[0], summary.t_x[0]) == (1, 1 / 7)


def test_fewer_than_200_buyers_is_not_enough_data_and_clears_old_numbers(store):
    profiles = seed_orders(store, buyers=200, span_days=120)
    assert clv_fitting.fit_store(store, now=NOW).status == Status.FITTED and rows(store)
    Order.objects.filter(store=store, profile=profiles[5]).update(cancelled_at=NOW)  # 199 buyers left
    model = clv_fitting.fit_store(store, now=NOW)
    assert (model.status, model.detail) == (Status.NOT_ENOUGH_DATA, "199 buyers; the model needs at least 200")
    assert (model.customers, model.parameters, rows(store)) == (199, {}, {})
    assert StoreClvModel.objects.filter(store=store).count() == 1  # replaced, not added


def test_less_than_90_days_of_orders_is_not_enough_data(store):
    seed_orders(store, buyers=300, span_days=89)
    model = clv_fitting.fit_store(store, now=NOW)
    assert (model.status, model.detail, model.customers, model.history_days) == \
        (Status.NOT_ENOUGH_DATA, "89 days of orders; the model needs at least 90", 300, 89)
    assert rows(store) == {}


def test_too_few_repeat_buyers_is_not_enough_data(store):
    profiles = Profile.objects.bulk_create([Profile(store=store, email=f"b{i}@x.test") for i in range(220)])
    first = NOW - timedelta(days=100)
    Order.objects.bulk_create(
        [Order(store=store, profile=p, external_id=str(p.pk), total=Decimal("9"), currency="USD", payment_status="paid",
               placed_at=first + timedelta(days=i % 100)) for i, p in enumerate(profiles)]
        + [Order(store=store, profile=p, external_id=f"{p.pk}-2", total=Decimal("9"), currency="USD",
                 payment_status="paid", placed_at=NOW) for p in profiles[:19]])
    model = clv_fitting.fit_store(store, now=NOW)
    assert (model.status, model.detail) == (Status.NOT_ENOUGH_DATA, "19 customers paid for a repeat order; "
                                                                     "the model needs at least 20")


def test_a_fit_that_does_not_converge_fails_without_numbers(store, monkeypatch):
    seed_orders(store)
    clv_fitting.fit_store(store, now=NOW)
    real_fit = clv_fit.fit

    def stuck(summary, sample=None):
        fitted = real_fit(summary, sample)
        return dataclasses.replace(fitted, purchases_fit=dataclasses.replace(fitted.purchases_fit, converged=False))

    monkeypatch.setattr(clv_fit, "fit", stuck)
    model = clv_fitting.fit_store(store, now=NOW + timedelta(days=1))
    assert (model.status, model.detail) == (Status.FAILED, "the model did not converge on this store's orders")
    assert model.parameters and model.diagnostics["bgnbd"]["converged"] is False  # kept for diagnosis
    assert rows(store) == {}


def test_erased_and_merged_profiles_get_no_prediction_but_their_orders_count(store):
    from textpilot.profiles import privacy
    from textpilot.profiles import service as profiles_service

    profiles = seed_orders(store, buyers=201)
    erased, kept, merged = profiles[10], profiles[11], profiles[12]
    privacy.erase_profile(store, erased)
    profiles_service.merge_profiles(store, kept, merged)
    model = clv_fitting.fit_store(store, now=NOW)
    # The erased buyer still counts (orders kept as anonymous history); merged's orders are kept's now.
    assert model.status == Status.FITTED and model.customers == 200
    found = rows(store)
    assert erased.pk not in found and merged.pk not in found and kept.pk in found and len(found) == 199


def test_privacy_export_erase_and_merge(store):
    from textpilot.profiles import privacy
    from textpilot.profiles import service as profiles_service

    profiles = seed_orders(store)
    clv_fitting.fit_store(store, now=NOW)
    exported = privacy.export_profile(store, profiles[3])["customer_predictions"]
    assert [row["profile_id"] for row in exported] == [profiles[3].pk]
    assert set(exported[0]) == {"profile_id", *predictions.PREDICTION_COLUMNS[1:], "currency", "fitted_at"}
    privacy.erase_profile(store, profiles[3])
    assert profiles[3].pk not in rows(store)
    profiles_service.merge_profiles(store, profiles[4], profiles[5])
    assert profiles[5].pk not in rows(store) and profiles[4].pk in rows(store)


def test_a_big_store_is_fitted_on_a_sample_and_predicted_in_full(store, monkeypatch):
    monkeypatch.setattr(clv_fitting, "FIT_SAMPLE", 150)
    seed_orders(store, buyers=220)
    model = clv_fitting.fit_store(store, now=NOW)
    assert model.status == Status.FITTED and model.diagnostics["sampled"]
    assert model.diagnostics["bgnbd"]["customers"] == 150 and len(rows(store)) == 220
    assert clv_fitting.fit_store(store, now=NOW).parameters == model.parameters  # the same sample each night


def test_the_nightly_task_fits_every_store_and_survives_one_failing(store, other_store, monkeypatch):
    seed_orders(store)
    assert commerce_tasks.fit_clv_models.call_local() == {"fitted": 1, "not_enough_data": 1}
    assert StoreClvModel.objects.get(store=other_store).detail == "0 buyers; the model needs at least 200"
    real = clv_fitting.fit_store

    def broken_for_store(target, now=None):
        if target.pk == store.pk:
            raise RuntimeError("boom")
        return real(target, now)

    monkeypatch.setattr(clv_fitting, "fit_store", broken_for_store)
    assert commerce_tasks.fit_clv_models.call_local() == {"error": 1, "not_enough_data": 1}


def test_the_task_runs_nightly():
    task = commerce_tasks.fit_clv_models
    assert task.name == "commerce.fit_clv_models"
    schedule = task.task_class()
    runs = [(hour, minute) for hour in range(24) for minute in range(60)
            if schedule.validate_datetime(datetime(2026, 6, 1, hour, minute))]
    assert runs == [(3, 30)]


def test_the_profile_api_shows_the_prediction(store, api):
    profiles = seed_orders(store)
    assert api.get(f"/api/v1/profiles/{profiles[0].pk}").json()["stats"]["predicted"] is None  # not fitted yet
    clv_fitting.fit_store(store, now=NOW)
    row = CustomerPrediction.objects.get(pk=profiles[0].pk)
    shown = api.get(f"/api/v1/profiles/{profiles[0].pk}").json()["stats"]["predicted"]
    assert shown == {
        "predicted_clv": str(row.predicted_clv), "expected_order_value": str(row.expected_order_value),
        "expected_purchases_12m": row.expected_purchases_12m, "p_alive": row.p_alive, "churn_risk": row.churn_risk,
        "next_order_at": row.next_order_at and row.next_order_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fitted_at": "2026-06-01T16:00:00Z",
    }
    listed = {item["id"]: item["stats"]["predicted"] for item in api.get("/api/v1/profiles?limit=500").json()["items"]}
    assert listed[profiles[0].pk] == shown and all(listed[p.pk] for p in profiles)
