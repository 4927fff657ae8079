"""The CLV models reproduce the published results on the CDNOW 1/10th sample: the summary of
Fader, Hardie & Lee's calibration period exactly, the BG/NBD estimates of their 2005 paper
and the Gamma-Gamma estimates of Fader & Hardie's note, each within half a unit of the last
printed digit (our estimate rounds to the published figure), and CLVTools' full-precision
BG/NBD fit to 1e-5. No database."""
import numpy as np
import pytest
from cdnow import (CALIBRATION_END, CLVTOOLS_BGNBD, CLVTOOLS_BGNBD_LL, CLVTOOLS_GAMMA_GAMMA_LL, GAMMA_GAMMA_CUSTOMERS,
                   LAST_DAY, PUBLISHED_BGNBD, PUBLISHED_BGNBD_LL, PUBLISHED_GAMMA_GAMMA, half_unit, published_summary,
                   transactions)

from textpilot.commerce.clv import bgnbd, gamma_gamma
from textpilot.commerce.clv import fit as clv_fit
from textpilot.commerce.clv.summary import summarise


@pytest.fixture(scope="module")
def calibration():
    return summarise(transactions(), CALIBRATION_END)


@pytest.fixture(scope="module")
def fitted(calibration):
    return clv_fit.fit(calibration)


def test_summary_matches_the_published_one_customer_by_customer(calibration):
    published = published_summary()
    assert len(calibration) == len(published) == 2357
    assert calibration.end == CALIBRATION_END and calibration.history_days == 272
    mismatched = []
    for i, customer in enumerate(calibration.customers):
        theirs = published[customer]
        ours = {"x": calibration.x[i], "t_x": calibration.t_x[i], "T": calibration.T[i], "zbar": calibration.m_x[i]}
        # The published file prints two decimals.
        if any(abs(ours[key] - theirs[key]) > 0.005 + 1e-9 for key in ours):
            mismatched.append((customer, ours, theirs))
    assert mismatched == []
    # Repeat transactions in weeks 1-39 (customer-days), the total of the published summary.
    assert calibration.x.sum() == sum(row["x"] for row in published.values()) == 2457


def test_bgnbd_estimates_are_the_published_ones(fitted):
    found = fitted.purchases.as_dict()
    assert fitted.purchases_fit.converged and fitted.customers == 2357
    for name, published in PUBLISHED_BGNBD.items():
        assert abs(found[name] - published) <= half_unit(published), (name, found[name], published)
        assert found[name] == pytest.approx(CLVTOOLS_BGNBD[name], rel=1e-5), name
    assert abs(fitted.purchases_fit.log_likelihood - PUBLISHED_BGNBD_LL) <= half_unit(PUBLISHED_BGNBD_LL)
    assert fitted.purchases_fit.log_likelihood == pytest.approx(CLVTOOLS_BGNBD_LL, abs=1e-3)


def test_gamma_gamma_estimates_are_the_published_ones(fitted):
    found = fitted.spend.as_dict()
    assert fitted.spend_fit.converged and fitted.repeat_customers == GAMMA_GAMMA_CUSTOMERS
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert abs(found[name] - published) <= half_unit(published), (name, found[name], published)
    assert fitted.spend_fit.log_likelihood == pytest.approx(CLVTOOLS_GAMMA_GAMMA_LL, abs=1e-3)
    assert fitted.converged


def test_the_fit_is_a_maximum_of_the_likelihood(calibration, fitted):
    """Moving any parameter by 1 % either way lowers the log-likelihood."""
    def total(**change):
        return float(bgnbd.log_likelihood(bgnbd.Params(**{**fitted.purchases.as_dict(), **change}),
                                          calibration.x, calibration.t_x, calibration.T).sum())

    best = total()
    assert best == pytest.approx(fitted.purchases_fit.log_likelihood, abs=1e-6)
    for name, value in fitted.purchases.as_dict().items():
        assert total(**{name: value * 1.01}) < best and total(**{name: value * 0.99}) < best, name


def test_the_holdout_period_is_forecast(calibration, fitted):
    """Weeks 40-78: the summed conditional expectations against the 1,882 repeat purchase
    days that happened. BG/NBD is known to under-forecast CDNOW's second period a little
    (a forecast, not a fit); a wrong expectation formula is off by far more than 15 %."""
    full = summarise(transactions(), LAST_DAY)
    where = {customer: i for i, customer in enumerate(full.customers)}
    actual = sum(full.x[where[c]] - calibration.x[i] for i, c in enumerate(calibration.customers))
    weeks = (LAST_DAY - CALIBRATION_END).days / 7
    forecast = bgnbd.expected_purchases(fitted.purchases, weeks, calibration.x, calibration.t_x, calibration.T).sum()
    assert actual == 1882
    assert 0.85 * actual < forecast < actual


def test_predictions_for_cdnow_customers(calibration, fitted):
    predicted = clv_fit.predict(fitted, calibration)
    assert predicted.finite.all()
    assert ((predicted.p_alive > 0) & (predicted.p_alive <= 1)).all()
    assert (predicted.p_alive[calibration.x == 0] == 1).all()  # no repeat purchase: alive by assumption
    assert (predicted.clv > 0).all() and (predicted.expected_purchases > 0).all()
    # The spend of a customer without repeat purchases is the population mean.
    one_timers = calibration.x == 0
    assert predicted.expected_order_value[one_timers] == pytest.approx(fitted.spend.population_mean)
    # Customer 0001: x = 2, t_x = 30.43, T = 38.86 weeks, repeat orders of 29.73 and 14.96.
    first = calibration.customers.index("0001")
    assert (calibration.x[first], round(calibration.t_x[first], 2), round(calibration.T[first], 2)) == (2, 30.43, 38.86)
    expected = gamma_gamma.expected_order_value(fitted.spend, 2, (29.73 + 14.96) / 2)
    assert predicted.expected_order_value[first] == pytest.approx(expected)
    assert predicted.clv[first] < predicted.expected_purchases[first] * expected  # discounted
    assert np.isfinite(predicted.next_order_wait[first]) and not predicted.at_risk[first]
