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
volatility times sqrt(2/pi)) and by the decision's confidence. The covariance is PyPortfolioOpt's
(`CovarianceShrinkage.ledoit_wolf`, scikit-learn's estimator underneath). The problem is the one
PyPortfolioOpt's `EfficientFrontier.efficient_risk` posed (it solved it through cvxpy with Clarabel), now
handed to Clarabel directly as a second-order cone program (the volatility ceiling as ||L' w|| <= target with
L the covariance's Cholesky factor) and solved over the names that can hold weight (`solve_screened`): cvxpy
re-canonicalised the whole 201-asset problem on every bar and Clarabel factored a dense 200 x 200 block about
17 times per solve, 80-150 ms of CPU at 200 symbols on a busy two-core box, on the live decision path; the
screened solve takes 2-5 ms and reaches the same optimum (tests compare it with PyPortfolioOpt's on real bars
and on generated problems). Where that optimum is not unique, names with no edge stay out (see
`solve_screened`). The risk engine still applies every limit afterwards, as a safety net.

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
import numpy.typing as npt

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError
from papertrader.risk.buckets import Bucket

CASH = "__cash__"
_AVG_ABS = math.sqrt(2.0 / math.pi)  # mean |x| of a standard normal


@dataclass(frozen=True, slots=True)
class Construction:
    """Target weights from the optimiser, or why there are none (the caller keeps the board's own)."""

    weights: Array | None
    reason: str = ""


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
        import clarabel  # type: ignore[import-untyped]  # noqa: F401  (the conic solver; comes with cvxpy)
        import pypfopt  # noqa: F401
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
    cov = ledoit_wolf_covariance(closes[:, index], periods_per_year)
    gross_cap = min(s.max_gross_exposure, 1.0 - s.cash_reserve)
    book = Book(
        mu=np.asarray(mu[index], dtype=np.float64),
        cov=cov,
        low=-s.max_position_fraction if s.allow_short else 0.0,
        high=s.max_position_fraction,
        cash_low=1.0 - gross_cap,
        groups=_groups(names, prices[index], s, sectors),
        vol_target=s.vol_target,
    )
    floor = book.min_volatility()
    if s.vol_target < floor:  # PyPortfolioOpt's own check, kept: the same message, the same fallback
        return Construction(
            None, f"optimiser: The minimum volatility is {floor:.3f}. Please use a higher target_volatility"
        )
    solved, status = solve_screened(book)
    if solved is None:
        return Construction(None, f"optimiser: Solver status: {status}")
    solved = np.where(np.abs(solved) < _CUTOFF, 0.0, np.round(solved, _DECIMALS)) + 0.0  # clean_weights' rule
    out = np.zeros(len(symbols))
    out[index] = solved
    return Construction(out)


def ledoit_wolf_covariance(closes: Array, periods_per_year: float) -> Array:
    """PyPortfolioOpt's `CovarianceShrinkage(prices).ledoit_wolf()` on arrays, digit for digit, without pandas.

    Closes carried forward over a halt, simple returns, scikit-learn's Ledoit-Wolf, annualised, and
    PyPortfolioOpt's own repair should the result not be positive semidefinite (why: its DataFrames cost
    more than the estimate itself on the live decision path).
    """
    from pypfopt.risk_models import fix_nonpositive_semidefinite

    missing = np.isnan(closes)
    filled = closes
    if missing.any():  # a halt keeps the last close
        rows = np.arange(closes.shape[0])[:, None]
        last = np.maximum.accumulate(np.where(missing, 0, rows), axis=0)
        filled = closes[last, np.arange(closes.shape[1])]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = filled[1:] / filled[:-1] - 1.0
    returns = returns[~np.isnan(returns).all(axis=1)]
    shrunk = ledoit_wolf(np.nan_to_num(returns))
    return np.asarray(fix_nonpositive_semidefinite(shrunk * periods_per_year, fix_method="spectral"))


#: scikit-learn's block size: its shrinkage sums over blocks of this many names (one block below it)
_LW_BLOCK = 1000


def ledoit_wolf(returns: Array) -> Array:
    """scikit-learn's `ledoit_wolf(returns)` covariance, the same operations in the same order (why: its
    parameter and array validation cost more than the estimate at 200 names, on the live decision path).

    Written for one block of names and two or more rows (every construction window); anything else is
    handed to scikit-learn itself. `tests/unit/risk/test_construction_solve.py` holds the two to every digit.
    """
    n_samples, n_features = returns.shape
    if n_samples < 2 or not 1 < n_features < _LW_BLOCK:
        from sklearn.covariance import ledoit_wolf as sklearn_ledoit_wolf

        return np.asarray(sklearn_ledoit_wolf(returns)[0])
    x = np.asarray(returns, dtype=np.float64)
    x = x - x.mean(0)  # LedoitWolf.fit centres once; the helpers below then assume centred data
    # ledoit_wolf_shrinkage(x, assume_centered=True, block_size=1000) with no full block (n_splits = 0)
    x2 = x**2
    emp_cov_trace = np.sum(x2, axis=0) / n_samples
    mu = np.sum(emp_cov_trace) / n_features
    gram = np.dot(x.T, x)  # scikit-learn forms this product twice, here and below; one BLAS call, the same bytes
    beta_ = 0.0
    delta_ = 0.0
    delta_ += np.sum(gram**2)
    delta_ /= n_samples**2
    beta_ += np.sum(np.dot(x2.T[0:], x2[:, 0:]))
    beta = 1.0 / (n_features * n_samples) * (beta_ / n_samples - delta_)
    delta = delta_ - 2.0 * mu * emp_cov_trace.sum() + n_features * mu**2
    delta /= n_features
    beta = min(beta, delta)
    shrinkage = 0 if beta == 0 else beta / delta
    # _ledoit_wolf: the empirical covariance (assume_centered) shrunk toward its mean variance
    emp_cov = gram / x.shape[0]
    mu = np.sum(np.trace(emp_cov)) / n_features
    shrunk_cov = (1.0 - shrinkage) * emp_cov
    shrunk_cov.flat[:: n_features + 1] += shrinkage * mu
    return np.asarray(shrunk_cov)


def _groups(
    names: Sequence[str], prices: Array, s: RiskSettings, sectors: Mapping[str, str]
) -> tuple[tuple[npt.NDArray[np.intp], float], ...]:
    """Each capped group's members and cap: the buckets (core, ETF, speculative), then every named sector."""
    etfs = set(s.etfs)
    etf = np.fromiter((name in etfs for name in names), dtype=np.bool_, count=len(names))
    penny = np.isfinite(prices) & (prices < s.penny_below)  # `classify` in array form (its per-symbol loop)
    buckets = np.where(etf, int(Bucket.ETF), np.where(penny, int(Bucket.SPECULATIVE), int(Bucket.CORE)))
    caps = {Bucket.CORE: s.core_cap, Bucket.ETF: s.etf_cap, Bucket.SPECULATIVE: s.speculative_cap}
    out = [(np.flatnonzero(buckets == bucket), cap) for bucket, cap in caps.items() if (buckets == bucket).any()]
    of = [sectors.get(name) for name in names]
    for sector in sorted({x for x in of if x is not None and not x.startswith("__")}):
        out.append((np.array([i for i, x in enumerate(of) if x == sector], dtype=np.intp), s.max_sector_fraction))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Book:
    """The optimisation over the usable names (cash is the extra asset, with no return and a hair of variance).

    Maximise mu @ w subject to sqrt(w' cov w + CASH_VARIANCE c^2) <= vol_target, sum(w) + c = 1,
    low <= w <= high, cash_low <= c <= 1 and, for every group, the sum of its members' weights <= its cap.
    """

    mu: Array
    cov: Array
    low: float
    high: float
    cash_low: float
    groups: tuple[tuple[npt.NDArray[np.intp], float], ...]
    vol_target: float

    def min_volatility(self) -> float:
        """PyPortfolioOpt's global minimum volatility, sqrt(1 / sum(pinv(cov))) with cash; only needed below 1e-4."""
        if self.vol_target >= math.sqrt(CASH_VARIANCE):  # cash alone has that volatility: always reachable
            return 0.0
        total = float(np.sum(np.linalg.pinv(self.cov))) + 1.0 / CASH_VARIANCE
        return math.sqrt(1.0 / total)


#: cash's variance: PyPortfolioOpt needed a hair of it to check feasibility on the inverse; kept, same problem
CASH_VARIANCE = 1e-8
_CUTOFF, _DECIMALS = 1e-4, 5  # PyPortfolioOpt's clean_weights: tiny weights dropped, the rest rounded
#: a left-out name whose reduced cost is below this joins the solve (a tie, zero to the solver's accuracy, does not)
_JOIN = -1e-7
#: the solve starts from the names with the best expected returns, and at most doubles each round (the names
#: whose reduced cost is most negative join first): a book of a few positions never factors 100 x 100
_START = 16
#: Clarabel's gap and feasibility tolerances: a few more iterations on a small problem buy weights that agree
#: with an exact solve to ~1e-7 (cvxpy's defaults left PyPortfolioOpt's answer up to 1e-4 off it on real bars)
_TOLERANCE = 1e-10


def solve_screened(book: Book) -> tuple[Array | None, str]:
    """The optimum over every name, solved over the few that can hold weight (why: 200 names cost ~30 ms, 20 ~1).

    Long only, a name left out sits at its lower bound 0, which is optimal unless holding it pays: from the
    solve's duals its reduced cost -mu_j + nu + its groups' duals + lambda (cov w)_j / vol says whether one more
    unit of it would raise the objective (a name the board favours can, and so can a hedge with no edge). The
    solve starts from the best `_START` expected returns; those that would pay join and the solve repeats; when
    none is left the KKT conditions of the whole problem hold, so the answer is an optimum of the whole problem,
    and the unique one wherever the optimum is unique. Where it is not (no cap or volatility binds, so a name
    with no edge could take the leftover as well as cash), a name with a zero reduced cost stays out: an
    interior-point solve of the whole book spread that leftover over every such name (2-4% each on real bars),
    positions the board never asked for. With shorts every name is solved.
    """
    n = len(book.mu)
    favoured = np.flatnonzero(book.mu > 0)
    active = (
        np.sort(favoured[np.argsort(-book.mu[favoured], kind="stable")[:_START]]) if book.low >= 0 else np.arange(n)
    )
    while len(active) < n:  # every round adds at least one name, so at most n rounds
        solved = _solve(book, active)
        if solved.weights is None:
            return None, solved.status
        others = np.setdiff1d(np.arange(n), active)
        costs = solved.reduced_costs(book, others)
        paying = np.flatnonzero(costs < _JOIN)
        if not len(paying):
            out = np.zeros(n)
            out[active] = solved.weights
            return out, solved.status
        best = paying[np.argsort(costs[paying], kind="stable")[: max(len(active), _START)]]
        active = np.union1d(active, others[best])
    solved = _solve(book, np.arange(n))
    return solved.weights, solved.status


@dataclass(frozen=True, slots=True)
class _Solved:
    """One conic solve over `active`: weights (None unless solved) and the duals the reduced costs need."""

    active: npt.NDArray[np.intp]
    weights: Array | None
    status: str
    nu: float = 0.0
    lam: float = 0.0
    group_duals: Array | None = None
    volatility: float = 0.0

    def reduced_costs(self, book: Book, names: npt.NDArray[np.intp]) -> Array:
        """How much one more unit of each left-out name would cost the objective (negative: it would pay)."""
        assert self.weights is not None and self.group_duals is not None
        cost = -book.mu[names] + self.nu
        for (members, _cap), dual in zip(book.groups, self.group_duals, strict=True):
            cost = cost + dual * np.isin(names, members)
        if self.lam > 0 and self.volatility > 0:
            cost = cost + self.lam * (book.cov[np.ix_(names, self.active)] @ self.weights) / self.volatility
        return np.asarray(cost, dtype=np.float64)


def _factor(cov: Array) -> Array:
    """F with F' F = cov: the Cholesky factor's transpose, or the eigen-factor for a matrix on the PSD edge."""
    try:
        return np.asarray(np.linalg.cholesky(cov).T)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        return np.asarray(np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T)


def _solve(book: Book, active: npt.NDArray[np.intp]) -> _Solved:
    """Clarabel on the book restricted to `active` (+ cash): the cone program cvxpy built from PyPortfolioOpt's."""
    import clarabel
    from scipy import sparse

    m = len(active)
    k = m + 1  # variables: the active weights, then cash
    masks = [(i, np.isin(active, members), cap) for i, (members, cap) in enumerate(book.groups)]
    groups = [(mask, cap) for _i, mask, cap in masks if mask.any()]
    kept = [i for i, mask, _cap in masks if mask.any()]
    g = len(groups)
    eye = np.eye(k)
    caps = np.zeros((g, k))
    for row, (mask, _cap) in enumerate(groups):
        caps[row, :m] = mask
    soc = np.zeros((m + 2, k))
    soc[1 : m + 1, :m] = -_factor(book.cov[np.ix_(active, active)])
    soc[m + 1, m] = -math.sqrt(CASH_VARIANCE)
    a = np.vstack([np.ones((1, k)), eye, -eye, caps, soc])
    b = np.concatenate(
        [
            [1.0],
            np.append(np.full(m, book.high), 1.0),
            -np.append(np.full(m, book.low), book.cash_low),
            [cap for _mask, cap in groups],
            np.append(book.vol_target, np.zeros(m + 1)),
        ]
    )
    cones = [clarabel.ZeroConeT(1), clarabel.NonnegativeConeT(2 * k + g), clarabel.SecondOrderConeT(m + 2)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = _TOLERANCE  # tighter than the 1e-8 default
    q = -np.append(book.mu[active], 0.0)
    solution = timed_solve(
        clarabel.DefaultSolver(sparse.csc_matrix((k, k)), q, sparse.csc_matrix(a), b, cones, settings)
    )
    status = str(solution.status)
    if status not in ("Solved", "AlmostSolved"):
        return _Solved(active, None, status)
    x = np.asarray(solution.x)
    z = np.asarray(solution.z)
    weights = x[:m].round(16) + 0.0
    duals = np.zeros(len(book.groups))
    duals[kept] = z[1 + 2 * k : 1 + 2 * k + g]
    variance = float(weights @ book.cov[np.ix_(active, active)] @ weights) + CASH_VARIANCE * x[m] ** 2
    return _Solved(active, weights, status, float(z[0]), float(z[1 + 2 * k + g]), duals, math.sqrt(max(variance, 0.0)))


def timed_solve(solver: Any) -> Any:
    """Clarabel's interior-point solve (a seam of its own so a benchmark can time it apart)."""
    return solver.solve()
