"""The CLV formulas one by one, on hand-made histories: the summary's units and rules, the
numerically safe forms against the formulas as printed, P(alive), the next-order wait, the
spend model's shrinkage and the discounting of CLV. No database."""
from datetime import date

import numpy as np
import pytest

from textpilot.commerce.clv import bgnbd, gamma_gamma
from textpilot.commerce.clv import fit as clv_fit
from textpilot.commerce.clv.summary import summarise

CDNOW = bgnbd.Params(r=0.243, alpha=4.414, a=0.793, b=2.426)
SPEND = gamma_gamma.Params(p=6.25, q=3.74, gamma=15.44)


def test_summary_counts_days_in_weeks_and_leaves_the_first_order_out_of_spend():
    rows = [
        ("ann", date(2026, 1, 1), 10.0), ("ann", date(2026, 1, 1), 5.0),  # one day: one transaction of 15
        ("ann", date(2026, 1, 15), 30.0), ("ann", date(2026, 1, 29), 50.0),
        ("ann", date(2026, 3, 1), 999.0),  # after the end: not seen
        ("bob", date(2026, 1, 22), 20.0),
        ("cy", date(2026, 2, 5), 7.0),  # after the end only: not a customer yet
    ]
    summary = summarise(rows, date(2026, 1, 29))
    assert summary.customers == ["ann", "bob"]
    assert summary.x.tolist() == [2, 0]
    assert summary.t_x.tolist() == [4.0, 0.0]  # 28 days
    assert summary.T.tolist() == [4.0, 1.0]
    assert summary.m_x.tolist() == [40.0, 0.0]  # (30 + 50) / 2; the first day's 15 left out
    assert (summary.first_day, summary.last_day, summary.history_days) == (date(2026, 1, 1), date(2026, 1, 29), 28)


def test_summary_of_nothing():
    summary = summarise([], date(2026, 1, 1))
    assert len(summary) == 0 and summary.history_days == 0 and summary.first_day is None


def histories():
    x = np.array([0, 1, 2, 5, 10, 26, 40], dtype=float)
    t_x = np.array([0, 1.5, 30.43, 20, 35, 30.86, 38], dtype=float)
    T = np.array([38.86, 38.86, 38.86, 38.86, 38.86, 31.0, 39.0])
    return x, t_x, T


@pytest.mark.parametrize("t", [1.0, 13.0, 39.0, 52.18, 104.0])
def test_expected_purchases_equal_the_printed_formula(t):
    x, t_x, T = histories()
    safe = bgnbd.expected_purchases(CDNOW, t, x, t_x, T)
    printed = bgnbd.expected_purchases_direct(CDNOW, t, x, t_x, T)
    assert np.isfinite(printed).all()
    assert safe == pytest.approx(printed, rel=1e-9)


def test_expected_purchases_stay_finite_where_the_printed_formula_breaks_down():
    """A customer who ordered daily for six years (x = 3000): the printed form's 2F1(r+x,
    b+x; a+b+x-1; z) no longer evaluates, the transformed one does."""
    x, t_x, T = np.array([3000.0]), np.array([300.0]), np.array([300.0])
    with np.errstate(all="ignore"):
        printed = bgnbd.expected_purchases_direct(CDNOW, 100.0, x, t_x, T)
    safe = bgnbd.expected_purchases(CDNOW, 100.0, x, t_x, T)
    assert not np.isfinite(printed).all()
    # Below what a customer who never drops out would buy: rate (r+x)/(α+T) for 100 weeks.
    never_leaves = (CDNOW.r + 3000) / (CDNOW.alpha + 300) * 100
    assert np.isfinite(safe).all() and 0.8 * never_leaves < safe[0] < never_leaves


def test_conditional_expectation_of_a_new_customer_is_the_unconditional_one():
    """x = 0 and T = 0 is a customer we know nothing about: eq. 10 becomes eq. 9."""
    zero = np.zeros(1)
    for t in (1.0, 39.0, 78.0):
        assert bgnbd.expected_purchases(CDNOW, t, zero, zero, zero)[0] == pytest.approx(
            bgnbd.unconditional_expected_purchases(CDNOW, t), rel=1e-9)


def test_log_likelihood_sums_to_one_over_outcomes():
    """Over every history one customer can show in (0, T], the likelihood integrates to 1:
    a check of eq. 6 that leans on no published number. Eq. 6 is a density in the x purchase
    times; the x - 1 before the last one range over t_x^(x-1)/(x-1)! of ordered times, so
    the density of (x, t_x) is L(x, t_x, T) · t_x^(x-1)/(x-1)!, and P(x = 0) is L(0, 0, T)."""
    from math import lgamma, log

    from scipy.integrate import quad

    T = 5.0

    def density(t_x: float, x: int) -> float:
        return float(np.exp(bgnbd.log_likelihood(CDNOW, [x], [t_x], [T])[0] + (x - 1) * log(t_x) - lgamma(x)))

    total = np.exp(bgnbd.log_likelihood(CDNOW, [0], [0], [T]))[0]
    total += sum(quad(density, 0, T, args=(x,), limit=200)[0] for x in range(1, 80))
    assert total == pytest.approx(1.0, abs=1e-6)


def test_p_alive_falls_as_the_last_purchase_gets_older():
    x = np.full(4, 3.0)
    t_x = np.array([38.0, 30.0, 20.0, 5.0])
    alive = bgnbd.p_alive(CDNOW, x, t_x, np.full(4, 39.0))
    assert (np.diff(alive) < 0).all() and (alive > 0).all() and (alive < 1).all()
    assert bgnbd.p_alive(CDNOW, [0], [0], [39.0])[0] == 1.0
    # Bought just now (t_x = T): the odds are a/(b+x-1).
    assert bgnbd.p_alive(CDNOW, [3], [39.0], [39.0])[0] == pytest.approx(1 / (1 + 0.793 / (2.426 + 2)))


def test_next_order_wait_is_the_even_odds_point():
    x, t_x, T = histories()
    wait = bgnbd.median_wait_for_next_purchase(CDNOW, x, t_x, T)
    alive = bgnbd.p_alive(CDNOW, x, t_x, T)
    assert np.isnan(wait[alive <= 0.5]).all() and np.isfinite(wait[alive > 0.5]).all()
    likely = alive > 0.5
    assert likely.sum() >= 3
    # P(bought again by T + wait) = P(alive) · (1 - P(no purchase for `wait` | alive)) = 1/2.
    stay = ((CDNOW.alpha + T[likely]) / (CDNOW.alpha + T[likely] + wait[likely])) ** (CDNOW.r + x[likely])
    assert alive[likely] * (1 - stay) == pytest.approx(0.5)
    # A frequent, recent buyer is expected back sooner than a one-time buyer.
    assert wait[5] < wait[0]


def test_spend_leans_on_the_customer_the_more_they_ordered():
    m_x = np.full(4, 100.0)
    x = np.array([0.0, 1.0, 10.0, 1000.0])
    value = gamma_gamma.expected_order_value(SPEND, x, m_x)
    assert value[0] == pytest.approx(SPEND.population_mean) == pytest.approx(6.25 * 15.44 / 2.74)
    assert (np.diff(value) > 0).all() and value[-1] == pytest.approx(100.0, rel=0.01)
    assert np.isnan(gamma_gamma.Params(1, 0.9, 1).population_mean)  # q <= 1: no finite mean


def test_gamma_gamma_skips_customers_without_paid_repeat_orders():
    x = np.array([0, 1, 2, 3], dtype=float)
    m_x = np.array([0, 0, 10.0, 12.0])
    assert gamma_gamma.usable(x, m_x).tolist() == [False, False, True, True]


def test_clv_is_discounted_monthly(monkeypatch):
    x, t_x, T = histories()
    summary = summarise([], date(2026, 1, 1))
    summary = type(summary)(list(range(len(x))), x, t_x, T, np.full(len(x), 40.0), summary.end, None, None)
    fitted = clv_fit.Fitted(CDNOW, _converged(), SPEND, _converged(), customers=len(x), repeat_customers=6)
    discounted = clv_fit.predict(fitted, summary)
    monkeypatch.setattr(clv_fit, "ANNUAL_DISCOUNT_RATE", 0.0)
    plain = clv_fit.predict(fitted, summary)
    # Undiscounted, CLV is the year's expected orders times the expected order value.
    assert plain.clv == pytest.approx(plain.expected_purchases * plain.expected_order_value)
    assert plain.expected_purchases == pytest.approx(bgnbd.expected_purchases(CDNOW, 365.25 / 7, x, t_x, T))
    # At 10 % a year the year's orders are worth between 1/1.1 and 1/1.1^(1/12) of that.
    ratio = discounted.clv / plain.clv
    assert ((ratio > 1 / 1.1) & (ratio < 1 / 1.1 ** (1 / 12))).all()


def _converged():
    from textpilot.commerce.clv.mle import Optimum

    return Optimum(values=(), log_likelihood=0.0, converged=True, evaluations=0, message="")


def test_spend_fit_converges_when_customers_spend_alike():
    """The maximum lies at infinity here (q → ∞: nothing varies across customers); the
    unbounded search used to run out of evaluations and call it a failure."""
    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 3000).astype(float)
    # One price for everything: nothing varies, within or across customers.
    params, optimum = gamma_gamma.fit(x, np.full(3000, 20.0))
    assert optimum.converged and {"p", "q"} <= set(optimum.at_bound)
    assert gamma_gamma.expected_order_value(params, [0, 3], [0, 20.0]) == pytest.approx(20.0, rel=1e-4)
    # Each customer's orders drawn from one Gamma(3, scale 5): m_x of k orders is Gamma(3k, 5/k).
    m_x = np.array([rng.gamma(3 * k, 5 / k) for k in x.astype(int)])
    params, optimum = gamma_gamma.fit(x, m_x)
    assert optimum.converged and optimum.evaluations < 5000
    assert params.p == pytest.approx(3, rel=0.1) and params.population_mean == pytest.approx(15, rel=0.05)
    assert params.q > 100  # no heterogeneity found, as there is none


def test_spend_parameters_follow_the_currency():
    """The same customers in cents: p and q unchanged, γ (and every amount) × 100."""
    x = np.array([1, 2, 3, 5, 1, 4, 2, 6] * 20, dtype=float)
    m_x = np.array([20, 35, 18, 60, 12, 41, 27, 33] * 20, dtype=float) * np.linspace(0.8, 1.2, 160)
    dollars, _ = gamma_gamma.fit(x, m_x)
    cents, _ = gamma_gamma.fit(x, m_x * 100)
    assert (cents.p, cents.q) == (pytest.approx(dollars.p, rel=1e-4), pytest.approx(dollars.q, rel=1e-4))
    assert cents.gamma == pytest.approx(dollars.gamma * 100, rel=1e-4)
