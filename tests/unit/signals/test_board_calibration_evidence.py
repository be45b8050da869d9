"""Calibration needs independent evidence: overlapping horizon labels are not counted as separate outcomes.

Real bars (the bundled AAPL/GOOG/IBM/MSFT the demo trades): fitted on the 2008 bear year alone, the trend
member's 20-bar curves learn that year's base rate (calibrated P(up) below P(down) at every raw level), so a
long-only board of it could never buy in 2009.
With the labelled rows counted as rows / horizon independent outcomes, that year is too little evidence:
the trend member stays uncalibrated and its board trades the 2009 rally; a 5-bar member is still calibrated.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import build, with_enough_evidence
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.features.view import FeatureView
from papertrader.signals.calibration import BoardCalibration, Curve, MemberCalibration, fit_board
from papertrader.signals.members import TrendMember

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


def _panel() -> tuple[Panel, int]:
    (_, _, bars), *_ = BundledSource(symbols=SYMBOLS).bar_sources()
    bars = bars[bars["ts"].dt.year.between(2007, 2009)].reset_index(drop=True)
    panel = Panel.from_long(bars, "1d", SYMBOLS)
    first = int(panel.ts.searchsorted(pd.Timestamp("2009-01-02", tz="America/New_York")))
    return panel, first


def _trend_board(home: Path) -> Settings:
    return Settings(home=home, strategy=StrategySettings(name="ensemble"), board=BoardSettings(members=("trend",)))


def test_counting_overlapping_labels_fits_the_bear_years_base_rate_into_every_trend_probability() -> None:
    panel, first = _panel()
    features = dict(compute_technical(panel.prices, TechnicalSpec(sma=(20, 50))))
    features["close"] = panel.prices.close
    cal = fit_board(
        [TrendMember()], features, panel.prices.close, panel.ts, first - 252, first, {"trend": 20}, 0.002, "isotonic"
    )
    member = cal.members["trend"]
    assert member.samples >= 60 and member.up.method == "isotonic"  # rows counted: "enough"
    raw = np.linspace(0.0, 1.0, 101)
    assert (member.up.apply(raw) < member.down.apply(1.0 - raw)).all()  # never long, whatever the member says
    assert member.samples // 20 < 60  # but only ~12 independent 20-bar outcomes per symbol


def test_the_trend_member_alone_is_left_uncalibrated_and_trades_after_a_bear_year(tmp_path: Path) -> None:
    panel, first = _panel()
    built = build(_trend_board(tmp_path), panel, first, lake=None, with_monitor=False)
    assert built.calibration is not None
    assert built.calibration.members["trend"].up.method == "identity"
    longs = 0
    for k in range(first, len(panel)):
        decision = built.strategy.decide(panel.ts[k].to_pydatetime(), FeatureView(built.features, k))
        longs += int((decision.weights > 0).sum())
    assert longs > 100  # the 2009 rally: fast above slow for months


def test_a_short_horizon_member_with_the_same_rows_keeps_its_curves() -> None:
    curve = Curve("isotonic", (0.0, 1.0), (0.4, 0.6))
    cal = BoardCalibration(
        "isotonic",
        "2008-01-02",
        "2008-12-31",
        {"fast": MemberCalibration("fast", curve, curve, 928), "slow": MemberCalibration("slow", curve, curve, 928)},
        (1.0,),
    )
    kept = with_enough_evidence(cal, {"fast": 5, "slow": 20}, 60)
    assert kept.members["fast"] == cal.members["fast"]  # 185 independent outcomes
    assert kept.members["slow"].up.method == "identity" and kept.members["slow"].samples == 928  # 46
    assert kept.payoff == cal.payoff and kept.start == cal.start


def test_the_left_uncalibrated_warning_is_printed_once_however_many_runs_calibrate_the_board(
    caplog: pytest.LogCaptureFixture,
) -> None:
    curve = Curve("isotonic", (0.0, 1.0), (0.4, 0.6))
    member = MemberCalibration("once-slow", curve, curve, 929)
    cal = BoardCalibration("isotonic", "2008-01-02", "2008-12-31", {"once-slow": member}, (1.0,))
    with caplog.at_level(logging.WARNING, logger="papertrader.engine.strategies"):
        for _ in range(5):  # the demo: the replay, then the board and each member alone in the comparison
            kept = with_enough_evidence(cal, {"once-slow": 20}, 60)
            assert kept.members["once-slow"].up.method == "identity"
    assert sum("left uncalibrated" in r.getMessage() for r in caplog.records) == 1
