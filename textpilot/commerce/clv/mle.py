"""Maximum likelihood over positive parameters, shared by the BG/NBD and Gamma-Gamma fits.

Both models have only positive parameters, so the search runs over their logarithms
(unconstrained, and the scales of r ≈ 0.2 and alpha ≈ 4 stop mattering). Nelder-Mead needs
no gradient and does not stall where a finite-difference gradient is noisy near the optimum
(L-BFGS-B there reports an "abnormal termination" at a point that is already the maximum,
and on one store's spend stopped short of it); with four parameters it takes a few hundred
evaluations of a vectorised likelihood.

What is minimised is the mean negative log-likelihood per customer, so one tolerance suits
a store of 300 customers and one of 50,000 (on the sum, an absolute tolerance is below the
rounding noise of 50,000 terms).

Converged means: a second search started from the first one's answer (a fresh simplex)
stops by its tolerances, or finds nothing better by more than `CONFIRM` per customer. The
second search catches a first one that collapsed early or ran out of evaluations; "nothing
better" accepts a maximum on a flat ridge, where the parameters can still wander (the spend
model of customers who all spend alike: q and γ grow together) but no prediction changes.

Each parameter is kept within [1e-6, 1e6] (callers scale their data so that real values sit
far inside): some data have their maximum at infinity, and at the bound the model is as
close to that limit as makes no difference to any prediction. `at_bound` names such
parameters so the diagnostics say so."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

MAX_EVALUATIONS = 10_000  # of the first search; the confirming one gets CONFIRM_EVALUATIONS
CONFIRM_EVALUATIONS = 1_000
X_TOLERANCE = 1e-6  # on log-parameters: relative precision of the parameters
F_TOLERANCE = 1e-12  # on the mean log-likelihood
CONFIRM = 1e-9  # per customer: a better point found by the second search, or not
LOWEST, HIGHEST = 1e-6, 1e6


@dataclass(frozen=True)
class Optimum:
    values: tuple[float, ...]  # the parameters themselves (not their logs)
    log_likelihood: float  # summed over every customer (weights applied)
    converged: bool
    evaluations: int
    message: str
    at_bound: tuple[str, ...] = ()  # names of the searched parameters that ended at LOWEST or HIGHEST


def maximise(log_likelihood: Callable[[np.ndarray], float], start: Sequence[float], customers: float,
             names: Sequence[str]) -> Optimum:
    """The parameters (all > 0, called `names`) that maximise `log_likelihood(params)`, the
    log-likelihood summed over `customers`, searched from `start`."""
    per = max(float(customers), 1.0)

    def negative(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = log_likelihood(np.exp(log_params))
        return -value / per if np.isfinite(value) else np.inf

    bounds = [(np.log(LOWEST), np.log(HIGHEST))] * len(start)

    def search(point, evaluations: int):
        options = {"maxiter": evaluations, "maxfev": evaluations, "xatol": X_TOLERANCE, "fatol": F_TOLERANCE}
        return minimize(negative, point, method="Nelder-Mead", bounds=bounds, options=options)

    first = search(np.clip(np.log(np.asarray(start, dtype=float)), *bounds[0]), MAX_EVALUATIONS)
    second = search(first.x, CONFIRM_EVALUATIONS)
    best = second if second.fun <= first.fun else first
    converged = (bool(second.success) or first.fun - second.fun <= CONFIRM) and bool(np.isfinite(best.fun))
    edge = tuple(name for name, v, (low, high) in zip(names, best.x, bounds) if min(abs(v - low), abs(v - high)) < 1e-6)
    return Optimum(values=tuple(float(v) for v in np.exp(best.x)), log_likelihood=float(-best.fun * per),
                   converged=converged, evaluations=int(first.nfev + second.nfev), message=str(first.message),
                   at_bound=edge)
