"""Maximum likelihood over positive parameters, shared by the BG/NBD and Gamma-Gamma fits.

Both models have only positive parameters, so the search runs over their logarithms
(unconstrained, and the scales of r ≈ 0.2 and alpha ≈ 4 stop mattering). Nelder-Mead needs
no gradient and does not stall where a finite-difference gradient is noisy near the optimum
(L-BFGS-B there reports an "abnormal termination" at a point that is already the maximum);
with four parameters it takes a few hundred evaluations of a vectorised likelihood, well
under a second for thousands of distinct customer histories. A second run started from the
first one's answer confirms it: a simplex that collapsed early moves on, a true optimum
stays put.

Each parameter is kept within [1e-6, 1e6] (callers scale their data so that real values sit
far inside). Some data have their maximum at infinity: when every customer spends alike,
the Gamma-Gamma likelihood grows forever as q and γ grow together (no heterogeneity left
to describe); without a bound the search would run out of evaluations and call that a
failure. At the bound the model is as close to that limit as makes no difference to any
prediction; `at_bound` names such parameters so the diagnostics say so."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

MAX_ITERATIONS = 5_000
TOLERANCE = 1e-10  # on log-parameters and on the summed log-likelihood
LOWEST, HIGHEST = 1e-6, 1e6


@dataclass(frozen=True)
class Optimum:
    values: tuple[float, ...]  # the parameters themselves (not their logs)
    log_likelihood: float  # summed over every customer (weights applied)
    converged: bool
    evaluations: int
    message: str
    at_bound: tuple[int, ...] = ()  # indices of parameters that ended at LOWEST or HIGHEST


def maximise(log_likelihood: Callable[[np.ndarray], float], start: Sequence[float]) -> Optimum:
    """The parameters (all > 0) that maximise `log_likelihood(params)`, searched from `start`."""

    def negative(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = log_likelihood(np.exp(log_params))
        return -value if np.isfinite(value) else np.inf

    options = {"maxiter": MAX_ITERATIONS, "maxfev": 2 * MAX_ITERATIONS, "xatol": TOLERANCE, "fatol": TOLERANCE}
    bounds = [(np.log(LOWEST), np.log(HIGHEST))] * len(start)
    point = np.clip(np.log(np.asarray(start, dtype=float)), *bounds[0])
    evaluations, result = 0, None
    for _ in range(2):  # the restart: see the module docstring
        result = minimize(negative, point, method="Nelder-Mead", bounds=bounds, options=options)
        evaluations += int(result.nfev)
        point = result.x
    converged = bool(result.success) and bool(np.isfinite(result.fun))
    edge = tuple(i for i, v in enumerate(result.x) if min(abs(v - bounds[i][0]), abs(v - bounds[i][1])) < 1e-6)
    return Optimum(values=tuple(float(v) for v in np.exp(result.x)), log_likelihood=float(-result.fun),
                   converged=converged, evaluations=evaluations, message=str(result.message), at_bound=edge)
