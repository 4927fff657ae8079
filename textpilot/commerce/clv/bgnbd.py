"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your Customers
the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284).

While active, a customer buys at rate λ (Poisson), λ ~ Gamma(shape r, rate α) across
customers; after each purchase the customer drops out with probability p, p ~ Beta(a, b).
A customer's history is (x, t_x, T): x repeat purchases, the last one t_x after the first,
observed for T since the first (textpilot measures both in weeks: clv/summary.py).

Everything here is in log space where it can overflow: the paper's likelihood (its eq. 6)
as a log-sum-exp of its two terms, and the conditional expectation (eq. 10) with Euler's
transformation of its 2F1, whose parameters then no longer grow with x (as printed, 2F1
grows huge while its factor shrinks to nothing, and for a customer with thousands of orders
the product is NaN: tested. Fader & Hardie's note 027 on the model's #NUM! errors describes
the same trap in a spreadsheet)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from textpilot.commerce.clv.mle import Optimum, maximise


@dataclass(frozen=True)
class Params:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def log_likelihood(params: Params, x, t_x, T) -> np.ndarray:
    """ln L(r, α, a, b | x, t_x, T) of each customer (FHL 2005, eq. 6), the sum of its two
    terms taken with logaddexp (scipy's logsumexp costs 20× more on arrays this small)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    still_alive = betaln(a, b + x) - (r + x) * np.log(alpha + T)
    # Dropped out right after the last purchase: only possible after one (x > 0).
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = betaln(a + 1, b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    return common + np.logaddexp(still_alive, dropped)


def fit(x, t_x, T, weights=None) -> tuple[Params, Optimum]:
    """Maximum likelihood estimates from customer histories (`weights`: how many customers
    share each history, so identical rows are evaluated once)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if weights is None:  # customers with the same history: one row, counted as many times
        histories, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        x, t_x, T = histories.T
    weights = np.asarray(weights, dtype=float)
    # Start where a Poisson rate would put it: r/α = mean purchases per week.
    rate = max(float(np.average(x, weights=weights)) / max(float(np.average(T, weights=weights)), 1e-6), 1e-6)
    optimum = maximise(lambda v: float(weights @ log_likelihood(Params(*v), x, t_x, T)), (1.0, 1.0 / rate, 1.0, 1.0),
                       customers=float(weights.sum()), names=("r", "alpha", "a", "b"))
    return Params(*optimum.values), optimum


def p_alive(params: Params, x, t_x, T) -> np.ndarray:
    """P(still active at T | x, t_x, T) (FHL 2005, eq. 11). A customer without repeat
    purchases is alive by the model's assumption (dropout happens only after a purchase)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return 1.0 / (1.0 + _odds_dropped(params, x, t_x, T))


def _odds_dropped(params: Params, x, t_x, T) -> np.ndarray:
    """P(dropped out) / P(alive) given the history: 0 without repeat purchases."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_odds = np.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    odds[repeat] = np.exp(np.minimum(log_odds, 700.0))
    return odds


def expected_purchases(params: Params, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10), with t in the unit of T.

    The bracket of eq. 10 holds ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z), with
    z = t/(α+T+t). Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)
    turns it into (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z): the same value, with numerator
    parameters that do not depend on x."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    one_minus_z = (alpha + T) / (alpha + T + t)
    z = t / (alpha + T + t)
    bracket = 1.0 - one_minus_z ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket / (1.0 + _odds_dropped(params, x, t_x, T))


def expected_purchases_direct(params: Params, t: float, x, t_x, T) -> np.ndarray:
    """Eq. 10 exactly as printed (no transformation): for the tests, on values where it is
    still finite, to hold `expected_purchases` to the paper."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    bracket = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket / (1.0 + _odds_dropped(params, x, t_x, T))


def unconditional_expected_purchases(params: Params, t) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer in (0, t] (FHL 2005, eq. 9)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def median_wait_for_next_purchase(params: Params, x, t_x, T) -> np.ndarray:
    """The time after T by which the customer has bought again with probability 1/2, or
    NaN when that probability never reaches 1/2.

    The model's dropout happens right after a purchase, so a customer active at T buys
    again for sure: while active, λ given the history is Gamma(r + x, α + T), and the wait
    for the next purchase is Lomax: P(wait > s | active) = ((α+T)/(α+T+s))^(r+x). Weighted
    by P(active), P(bought again by T + s) = P(alive) · (1 - that), which reaches 1/2 at
    s = (α+T) · ((1 - 1/(2 P(alive)))^(-1/(r+x)) - 1), and never when P(alive) <= 1/2."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    alive = p_alive(params, x, t_x, T)
    wait = np.full_like(x, np.nan)
    likely = alive > 0.5
    remaining = 1.0 - 0.5 / alive[likely]
    wait[likely] = (params.alpha + T[likely]) * np.expm1(-np.log(remaining) / (params.r + x[likely]))
    return wait
