"""Fit both models on a summary and turn them into per-customer predictions.

Predictions, for each customer at the end of the calibration period:
- `expected_purchases`: BG/NBD expected transactions in the next 12 months (52.18 weeks);
- `p_alive`: BG/NBD probability the customer is still active;
- `expected_order_value`: Gamma-Gamma expected value of their future orders;
- `clv`: the value of the next 12 months' orders, discounted: the year is cut into 12 months,
  the expected purchases of month k (differences of the BG/NBD expectation) are valued at
  the expected order value and discounted at `ANNUAL_DISCOUNT_RATE` over k/12 years. A
  year's discount at 10 % lowers the figure by about 5 %; we keep it so the number means
  the same as CLV elsewhere (a present value) and so a longer horizon could be added
  without changing its meaning. It is revenue, not margin: textpilot knows no costs;
- `next_order_wait`: weeks until the customer has more likely than not ordered again
  (bgnbd.median_wait_for_next_purchase), NaN when that never happens by the model's odds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from textpilot.commerce.clv import bgnbd, gamma_gamma
from textpilot.commerce.clv.mle import Optimum
from textpilot.commerce.clv.summary import DAYS_PER_WEEK, Summary

HORIZON_MONTHS = 12
WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_WEEK
ANNUAL_DISCOUNT_RATE = 0.10
AT_RISK_BELOW = 0.3  # P(alive) under this: churn risk "high" (issue 11)
# Below these the estimates say little (a stream of parameters that fit a handful of
# customers perfectly): a store shows "not enough data", the fit_clv command warns.
MIN_CUSTOMERS = 200
MIN_HISTORY_DAYS = 90  # from the first purchase to the last
MIN_REPEAT_CUSTOMERS = 20  # the spend model learns only from customers with a paid repeat order


def too_little_data(summary: Summary) -> str:
    """Why `summary` is too little to fit on, in plain words, or "" when it is enough."""
    customers, days = len(summary), summary.history_days
    repeat = int(gamma_gamma.usable(summary.x, summary.m_x).sum())
    if customers < MIN_CUSTOMERS:
        return f"{customers} buyers; the model needs at least {MIN_CUSTOMERS}"
    if days < MIN_HISTORY_DAYS:
        return f"{days} days of orders; the model needs at least {MIN_HISTORY_DAYS}"
    if repeat < MIN_REPEAT_CUSTOMERS:
        return f"{repeat} customers paid for a repeat order; the model needs at least {MIN_REPEAT_CUSTOMERS}"
    return ""


@dataclass(frozen=True)
class Fitted:
    purchases: bgnbd.Params
    purchases_fit: Optimum
    spend: gamma_gamma.Params | None  # None when no customer has a paid repeat order
    spend_fit: Optimum | None
    customers: int
    repeat_customers: int  # the ones the spend model was fitted on

    @property
    def converged(self) -> bool:
        return bool(self.purchases_fit.converged and self.spend_fit is not None and self.spend_fit.converged
                    and np.isfinite(self.spend.population_mean))

    def report(self) -> dict:
        """Parameters and diagnostics as JSON-able values (the fit_clv command prints this)."""
        return {
            "unit": "weeks",
            "customers": self.customers,
            "converged": self.converged,
            "bgnbd": {**self.purchases.as_dict(), **_diagnostics(self.purchases_fit, self.customers)},
            "gamma_gamma": None if self.spend is None else {
                **self.spend.as_dict(), "mean_order_value": self.spend.population_mean,
                **_diagnostics(self.spend_fit, self.repeat_customers)},
        }


def _diagnostics(optimum: Optimum, customers: int) -> dict:
    return {"log_likelihood": optimum.log_likelihood, "customers": customers, "converged": optimum.converged,
            "evaluations": optimum.evaluations, "at_bound": list(optimum.at_bound)}


def fit(summary: Summary, sample: np.ndarray | None = None) -> Fitted:
    """Fit BG/NBD on every customer of `summary` (or the indices in `sample`) and
    Gamma-Gamma on those of them with a paid repeat order."""
    x, t_x, T, m_x = summary.x, summary.t_x, summary.T, summary.m_x
    if sample is not None:
        x, t_x, T, m_x = x[sample], t_x[sample], T[sample], m_x[sample]
    purchases, purchases_fit = bgnbd.fit(x, t_x, T)
    repeat = int(gamma_gamma.usable(x, m_x).sum())
    spend, spend_fit = gamma_gamma.fit(x, m_x) if repeat else (None, None)
    return Fitted(purchases, purchases_fit, spend, spend_fit, customers=len(x), repeat_customers=repeat)


@dataclass(frozen=True)
class Predictions:
    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_order_value: np.ndarray
    clv: np.ndarray
    next_order_wait: np.ndarray  # weeks after the end of the calibration period; NaN: not expected

    @property
    def at_risk(self) -> np.ndarray:
        return self.p_alive < AT_RISK_BELOW

    @property
    def finite(self) -> np.ndarray:
        """Customers whose numbers are all finite (the wait may be NaN: "not expected")."""
        return np.isfinite(self.expected_purchases) & np.isfinite(self.p_alive) & np.isfinite(self.clv)


def predict(fitted: Fitted, summary: Summary) -> Predictions:
    """Per-customer predictions for every customer of `summary` (needs a converged fit)."""
    params, x, t_x, T = fitted.purchases, summary.x, summary.t_x, summary.T
    cumulative = [np.zeros_like(x)] + [bgnbd.expected_purchases(params, k * WEEKS_PER_MONTH, x, t_x, T)
                                       for k in range(1, HORIZON_MONTHS + 1)]
    value = gamma_gamma.expected_order_value(fitted.spend, x, summary.m_x)
    discounted = sum((cumulative[k] - cumulative[k - 1]) / (1 + ANNUAL_DISCOUNT_RATE) ** (k / 12)
                     for k in range(1, HORIZON_MONTHS + 1))
    return Predictions(
        expected_purchases=cumulative[-1], p_alive=bgnbd.p_alive(params, x, t_x, T), expected_order_value=value,
        clv=discounted * value, next_order_wait=bgnbd.median_wait_for_next_purchase(params, x, t_x, T),
    )
