"""The board publishes feature drift: a reference fitted on calm real bars (2004-2006) flags the 2008 crash and
stays quiet on the calm regime itself (bundled daily bars of AAPL, IBM, MSFT; no network)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from papertrader.config.board import BoardSettings
from papertrader.config.monitor import MonitorSettings
from papertrader.core.arrays import Array
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView
from papertrader.signals.drift import DriftMonitor
from papertrader.signals.ensemble import Ensemble
from papertrader.signals.members import TrendMember

SYMBOLS = ("AAPL", "IBM", "MSFT")
# a year of recent rows: volatility is persistent, so 60 rows inside the calm regime itself can score PSI > 0.25
SETTINGS = MonitorSettings(drift_window=250, drift_threshold=0.25)
DRIFTED = ("hv_20", "atr_14_rel")  # scale-free volatility features (relative=True)


@cache
def _real() -> tuple[Panel, dict[str, Array]]:
    _, frame = next(BundledSource(symbols=SYMBOLS).bars())
    panel = Panel.from_long(frame, "1d", SYMBOLS)
    features = dict(compute_technical(panel.prices, TechnicalSpec(sma=(20, 50), relative=True)))
    features.update(compute_technical(panel.prices, TechnicalSpec(sma=(20, 50))))  # the trend member's sma_20/50
    features["close"] = panel.prices.close
    return panel, features


def _row(panel: Panel, day: str) -> int:
    return int(panel.ts.searchsorted(pd.Timestamp(day, tz="UTC")))


def _board(fit_end: int) -> tuple[Ensemble, DriftMonitor]:
    panel, features = _real()
    drift = DriftMonitor(SETTINGS)
    drift.fit({f: features[f] for f in DRIFTED}, _row(panel, "2004-01-02"), fit_end)
    board = Ensemble([TrendMember(20, 50)], len(SYMBOLS), BoardSettings(), drift=[drift], drift_every=5)
    return board, drift


def _drift_events(board: Ensemble, start: int, end: int) -> list[Mapping[str, Any]]:
    panel, features = _real()
    out: list[Mapping[str, Any]] = []
    for k in range(start, end):
        for e in board.decide(panel.close_times[k], FeatureView(features, k)).events:
            if e.kind == "monitor.drift":
                out.append(e.payload)
    return out


def test_a_crash_window_raises_drift_against_a_calm_reference() -> None:
    panel, _ = _real()
    board, _ = _board(_row(panel, "2007-01-01"))
    events = _drift_events(board, _row(panel, "2008-10-01"), _row(panel, "2008-12-31"))
    assert events and not events[0]["cleared"]
    flagged = {f["name"] for f in events[0]["features"]}
    assert "hv_20" in flagged
    assert all(f["psi"] > SETTINGS.drift_threshold for f in events[0]["features"])


def test_the_calm_regime_it_was_fitted_on_raises_no_drift() -> None:
    panel, _ = _real()
    board, drift = _board(_row(panel, "2007-01-01"))
    assert _drift_events(board, _row(panel, "2005-06-01"), _row(panel, "2006-12-29")) == []
    scores = drift.scores(FeatureView(_real()[1], _row(panel, "2006-12-28")))
    assert all(np.isfinite(s.psi) and s.psi < SETTINGS.drift_threshold for s in scores.values())


def test_the_reference_reads_no_row_at_or_after_its_end() -> None:
    panel, features = _real()
    end = _row(panel, "2007-01-01")
    cut = {f: features[f].copy() for f in DRIFTED}
    for f in cut:
        cut[f][end:] = 1e6  # poison the future: a fit that read it would change
    a, b = DriftMonitor(SETTINGS), DriftMonitor(SETTINGS)
    a.fit({f: features[f] for f in DRIFTED}, 0, end)
    b.fit(cut, 0, end)
    for f in DRIFTED:
        np.testing.assert_array_equal(a.references[f].edges, b.references[f].edges)
