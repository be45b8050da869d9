"""Portfolio construction: the board's expected returns and a shrunk covariance turned into target weights.

An optional step between the board and the risk engine (`risk.construction = "mean_variance"`). Instead of
sizing every symbol on its own (quarter-Kelly per symbol, which leaves most of the risk budget unused when
probabilities sit near 0.5), it maximises the book's expected return subject to:

* the portfolio's annualised volatility at most `risk.vol_target` (Ledoit-Wolf shrunk covariance of the
  last `construction_window` bars' returns, rows up to the decision only);
* per-position bounds (`max_position_fraction`, long only unless `allow_short`), the gross cap and the cash
  reserve (cash is an asset with no return and no risk, so the weights may sum to less than one);
* every capital bucket's cap (core, ETF, speculative) and every sector's cap (`max_sector_fraction`).

Expected returns: the board gives a calibrated win probability p and payoff ratio b per symbol; its edge per
unit of average loss is `p * b - (1 - p)`, scaled by the symbol's average absolute move (the annualised
volatility times sqrt(2/pi)) and by the decision's confidence. The optimisation is PyPortfolioOpt's
(`EfficientFrontier.efficient_risk`, solved by cvxpy), a maintained library rather than hand-written code:
chosen over skfolio because it needs no plotting stack and exposes exactly the constraints used here
(weight bounds, sector bounds, arbitrary linear constraints, a volatility ceiling). The risk engine still
applies every limit afterwards, as a safety net.

The solve runs with the BLAS thread pool pinned to one thread (`one_blas_thread`), as the models pin torch: on a
busy two-core box OpenBLAS's spinning worker threads turned a 201 x 201 Cholesky of 0.1 ms into 20-130 ms and the
whole construction of 200 symbols from about 175 ms into 600 ms (p99 over 2 s), on the live decision path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError
from papertrader.risk.buckets import Bucket, classify

CASH = "__cash__"
_AVG_ABS = math.sqrt(2.0 / math.pi)  # mean |x| of a standard normal


@dataclass(frozen=True, slots=True)
class Construction:
    """Target weights from the optimiser, or why there are none (the caller keeps the board's own)."""

    weights: Array | None
    reason: str = ""


#: the solver cvxpy picked for the first solve ("picked"), named from then on: picking it again on every
#: solve re-tries the import of every solver that is not installed (~45 ms a call on a busy box), and the
#: named solver runs the very same chain on the very same problem data, so the weights are the same
_SOLVER: dict[str, str] = {}


def _remember_solver(ef: Any) -> None:
    """Keep the name of the solver cvxpy chose for this problem (PyPortfolioOpt keeps the problem as `_opt`)."""
    problem = getattr(ef, "_opt", None)
    stats = getattr(problem, "solver_stats", None)
    name = getattr(stats, "solver_name", None)
    if isinstance(name, str) and "picked" not in _SOLVER:
        _SOLVER["picked"] = name


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller over the loaded BLAS libraries (found once per process), or None without it."""
    try:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - installed with scikit-learn, which PyPortfolioOpt needs
        return None
    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread: predictable next to the engine's own work on a small, busy box."""
    controller = _blas_controller()
    with controller.limit(limits=1, user_api="blas") if controller is not None else nullcontext():
        yield


def expected_returns(p_win: Array, payoff: Array, confidence: Array, volatility: Array) -> Array:
    """Annualised expected return per symbol from the board's calibrated odds (0 where anything is unknown)."""
    with np.errstate(invalid="ignore"):
        edge = p_win * payoff - (1.0 - p_win)
        mu = edge * volatility * _AVG_ABS * np.clip(confidence, 0.0, 1.0)
    return np.asarray(np.where(np.isfinite(mu), mu, 0.0), dtype=np.float64)


def construct(
    symbols: Sequence[str],
    mu: Array,
    closes: Array,
    prices: Array,
    settings: RiskSettings,
    sectors: Mapping[str, str],
    periods_per_year: float,
) -> Construction:
    """Weights maximising expected return under the volatility target and every cap; closes are (window, N)."""
    with one_blas_thread():
        return _construct(symbols, mu, closes, prices, settings, sectors, periods_per_year)


def _construct(
    symbols: Sequence[str],
    mu: Array,
    closes: Array,
    prices: Array,
    settings: RiskSettings,
    sectors: Mapping[str, str],
    periods_per_year: float,
) -> Construction:
    try:
        from pypfopt import EfficientFrontier, risk_models
        from pypfopt.exceptions import OptimizationError
    except ImportError as exc:  # an optional dependency: a clear error, not a crash
        raise ConfigError("risk.construction needs PyPortfolioOpt: pip install pyportfolioopt") from exc
    s = settings
    if s.vol_target is None:
        return Construction(None, "risk.construction needs risk.vol_target")
    # carried forward, a column is complete exactly when its first close is known (a halt keeps the last close)
    complete = ~np.isnan(closes[0]) if closes.shape[0] else np.ones(closes.shape[1], dtype=np.bool_)
    usable = complete & np.isfinite(prices) & (prices > 0)
    if closes.shape[0] < 3 or not usable.any():
        return Construction(None, "not enough history for a covariance")
    names = [sym for sym, ok in zip(symbols, usable, strict=True) if ok]
    index = np.flatnonzero(usable)
    if not (mu[index] > 0).any():  # nothing to hold: no covariance needed (most bars of a flat board)
        return Construction(np.zeros(len(symbols)))
    filled = pd.DataFrame(closes).ffill()  # a missing bar (a halt) keeps the last close
    frame = pd.DataFrame(filled.to_numpy()[:, index], columns=names)
    cov = risk_models.CovarianceShrinkage(frame, frequency=periods_per_year).ledoit_wolf()
    cov[CASH] = 0.0
    cov.loc[CASH] = 0.0
    cov.loc[CASH, CASH] = 1e-8  # a hair of variance: PyPortfolioOpt checks feasibility on the inverse
    returns = pd.Series(np.append(mu[index], 0.0), index=[*names, CASH])
    low = -s.max_position_fraction if s.allow_short else 0.0
    gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve)
    bounds = [(low, s.max_position_fraction)] * len(names) + [(1.0 - gross_cap, 1.0)]
    ef = EfficientFrontier(returns, cov, weight_bounds=bounds, solver=_SOLVER.get("picked"))
    buckets = classify(names, prices[index], set(s.etfs), s.penny_below)
    caps = {Bucket.CORE: s.core_cap, Bucket.ETF: s.etf_cap, Bucket.SPECULATIVE: s.speculative_cap}
    for bucket, cap in caps.items():
        members = [i for i, b in enumerate(buckets) if b == bucket]
        if members:  # one vectorised sum: the same single row of ones as summing w[i] one by one, built at once
            ef.add_constraint(lambda w, m=members, c=cap: w[m].sum() <= c)
    mapper = {name: sectors.get(name, f"__alone__{name}") for name in names} | {CASH: CASH}
    upper = {sector: s.max_sector_fraction for sector in set(mapper.values()) if not sector.startswith("__")}
    if upper:
        ef.add_sector_constraints(mapper, {}, upper)
    try:
        ef.efficient_risk(target_volatility=s.vol_target)
    except (OptimizationError, ValueError) as exc:
        return Construction(None, f"optimiser: {exc}")
    _remember_solver(ef)
    solved = ef.clean_weights(cutoff=1e-4)
    out = np.zeros(len(symbols))
    for i, name in zip(index, names, strict=True):
        out[i] = float(solved[name])
    return Construction(out)
