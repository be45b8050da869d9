"""Feature drift: is the market the models see now still the market they were trained on?

A reference distribution is fitted per feature on the TRAINING window only (rows [start, end) of the panel,
pooled over symbols): quantile bin edges and the share of training values in each bin, plus a sorted
subsample for the Kolmogorov-Smirnov statistic. A recent window (the last `drift_window` rows up to the
current cycle, read through a FeatureView so the future is out of reach) is then scored with

- PSI = sum_b (a_b - e_b) ln(a_b / e_b) over the reference bins (shares floored at 1e-4); rule of thumb:
  < 0.1 stable, 0.1-0.25 moderate, > 0.25 major shift;
- KS = sup_x |F_ref(x) - F_recent(x)|, reported beside PSI.

`DriftMonitor.check` emits a `monitor.drift` event with the drifted features' names and scores whenever the
set of features past `drift_threshold` (PSI) changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from papertrader.config.monitor import MonitorSettings
from papertrader.core.arrays import Array
from papertrader.domain.events import DomainEvent, DriftChanged
from papertrader.features.view import FeatureView

_FLOOR = 1e-4
_MIN_RECENT = 10


@dataclass(frozen=True, slots=True)
class Reference:
    """A feature's training distribution: interior bin edges, the share per bin, a sorted sample for KS."""

    edges: Array
    expected: Array
    sample: Array
    n: int


@dataclass(frozen=True, slots=True)
class DriftScore:
    """How far a feature's recent values moved from its training distribution."""

    feature: str
    psi: float
    ks: float
    n: int


def fit_reference(values: npt.ArrayLike, bins: int = 10, max_sample: int = 5000) -> Reference:
    """Quantile bins of the finite training values, so each bin holds about the same share of training data."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = np.sort(x[np.isfinite(x)])
    if x.size == 0:
        raise ValueError("no finite training values to fit a reference on")
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    expected = bin_shares(edges, x)
    step = max(1, x.size // max_sample)
    return Reference(edges, expected, x[::step].copy(), int(x.size))


def bin_shares(edges: Array, values: npt.ArrayLike) -> Array:
    """Share of the finite values in each bin (-inf, e1), [e1, e2), ..., [e_last, inf)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
    return np.asarray(counts / max(x.size, 1), dtype=np.float64)


def psi(expected: Array, actual: Array) -> float:
    """Population stability index between two bin-share vectors (shares floored so empty bins stay finite)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(reference_sorted: Array, values: npt.ArrayLike) -> float:
    """Largest gap between the two empirical CDFs (two-sample Kolmogorov-Smirnov statistic)."""
    y = np.asarray(values, dtype=np.float64).ravel()
    y = np.sort(y[np.isfinite(y)])
    if reference_sorted.size == 0 or y.size == 0:
        return float("nan")
    grid = np.concatenate([reference_sorted, y])
    f_ref = np.searchsorted(reference_sorted, grid, side="right") / reference_sorted.size
    f_new = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(f_ref - f_new)))


def score(name: str, reference: Reference, values: npt.ArrayLike) -> DriftScore:
    """PSI and KS of recent values against a fitted reference; NaN when too few recent values are finite."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size < _MIN_RECENT:
        return DriftScore(name, float("nan"), float("nan"), int(x.size))
    return DriftScore(
        name, psi(reference.expected, bin_shares(reference.edges, x)), ks_statistic(reference.sample, x), int(x.size)
    )


class DriftMonitor:
    """Holds per-feature training references and reports when recent feature values leave them."""

    def __init__(self, settings: MonitorSettings | None = None) -> None:
        self.settings = settings or MonitorSettings()
        self.references: dict[str, Reference] = {}
        self._drifted: frozenset[str] = frozenset()

    def fit(self, features: Mapping[str, Array], start: int, end: int) -> None:
        """Fit every feature's reference on training rows [start, end) only; features with no data are skipped."""
        if not 0 <= start < end:
            raise ValueError("the training window must be a non-empty row range [start, end)")
        self.references = {}
        for name, panel in features.items():
            rows = np.asarray(panel[start:end], dtype=np.float64)
            if np.isfinite(rows).any():
                self.references[name] = fit_reference(rows, self.settings.drift_bins)
        self._drifted = frozenset()

    def scores(self, view: FeatureView) -> dict[str, DriftScore]:
        """Every fitted feature's drift over the last drift_window rows up to the view's cycle."""
        window = self.settings.drift_window
        return {name: score(name, ref, view.window(name, window)) for name, ref in self.references.items()}

    def check(self, ts: datetime, view: FeatureView) -> list[DomainEvent]:
        """A monitor.drift event when the set of features past the PSI threshold changes (none otherwise)."""
        threshold = self.settings.drift_threshold
        scored = self.scores(view)
        past = {n: s for n, s in scored.items() if np.isfinite(s.psi) and s.psi > threshold}
        drifted = frozenset(past)
        if drifted == self._drifted:
            return []
        self._drifted = drifted
        ranked = sorted(past.values(), key=lambda s: -s.psi)
        return [
            DriftChanged(
                ts,
                cycle=view.k,
                threshold=threshold,
                window=self.settings.drift_window,
                features=tuple({"name": s.feature, "psi": s.psi, "ks": s.ks, "n": s.n} for s in ranked),
                cleared=not drifted,
            )
        ]
