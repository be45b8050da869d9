"""The monitor over a simple real member (sign of the 20-bar return) on REAL daily bars: records finite and sane."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from papertrader.config.monitor import MonitorSettings
from papertrader.data.adapters.bundled import BundledSource
from papertrader.domain.events import DomainEvent
from papertrader.signals.monitor import DEGRADED, RECORDS, MemberRecord, PerformanceMonitor
from papertrader.signals.votes import Opinion

LOOKBACK = 20
HORIZON = 5


def momentum_opinion(closes: np.ndarray, k: int) -> Opinion:
    """P(up) 0.55 when the last 20-bar return is positive, 0.45 when negative; reads closes up to row k only."""
    n = closes.shape[1]
    if k < LOOKBACK:
        return Opinion.silent("momentum20", "trend", n, "warming up")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = closes[k] / closes[k - LOOKBACK] - 1.0
    p_up = np.where(np.isfinite(r), np.where(r > 0, 0.55, 0.45), np.nan)
    return Opinion(
        "momentum20", "trend", p_up, 1.0 - p_up, np.zeros(n, dtype=bool), lambda i: f"20-bar return {r[i]:+.2%}"
    )


def run_monitor(bars: pd.DataFrame) -> tuple[PerformanceMonitor, list[DomainEvent], int]:
    """Feed every bar of a long-format frame to a monitor scoring the momentum member at a 5-bar horizon."""
    wide = bars.pivot(index="ts", columns="symbol", values="close").sort_index()
    closes = wide.to_numpy(dtype=np.float64)
    monitor = PerformanceMonitor(closes.shape[1], MonitorSettings(window=500))
    events: list[DomainEvent] = []
    for k, ts in enumerate(wide.index):
        events += monitor.observe(k, ts.to_pydatetime(), closes[k], [momentum_opinion(closes, k)], {"trend": HORIZON})
    return monitor, events, closes.shape[0]


def assert_sane(rec: MemberRecord, n_symbols: int) -> None:
    """A 20-bar momentum rule on liquid US names is near a coin flip: finite, bounded, roughly calibrated."""
    assert rec.n > 0.9 * 500 * n_symbols
    for value in (rec.hit_rate, rec.brier, rec.ece, rec.pnl):
        assert math.isfinite(value)
    assert 0.4 < rec.hit_rate < 0.65
    assert 0.23 < rec.brier < 0.27  # predicting 0.45/0.55 gives 0.2475 at an even split
    assert 0.0 <= rec.ece < 0.12
    assert abs(rec.pnl) < 1.0  # a 0.1-edge staggered book cannot make or lose 100% in 500 bars


def test_monitor_records_on_bundled_real_daily_bars_are_finite_and_sane() -> None:
    symbols = ("AAPL", "GOOG", "IBM", "MSFT")
    bars = pd.concat([frame for _, frame in BundledSource(symbols).bars()], ignore_index=True)
    monitor, events, cycles = run_monitor(bars)
    assert cycles > 2500
    assert_sane(monitor.records()["momentum20"], len(symbols))
    snaps = [e for e in events if e.kind == RECORDS]
    assert len(snaps) == cycles // monitor.settings.propose_every
    for e in snaps + [e for e in events if e.kind == DEGRADED]:
        json.dumps(e.payload, allow_nan=False)
    assert 0.25 <= monitor.weight_multipliers()["momentum20"] <= 2.0


def test_monitor_records_on_shared_real_etf_bars_are_finite_and_sane(etf_daily: pd.DataFrame) -> None:
    # unadjusted prints: ETFs did not split in the window except by distributions, which move closes by <2%
    monitor, _events, cycles = run_monitor(etf_daily)
    assert cycles > 5000
    assert_sane(monitor.records()["momentum20"], 4)
    pooled = monitor.timeframe_records()["trend"]
    assert pooled.n == monitor.records()["momentum20"].n


@pytest.mark.parametrize("cut", [1500, 2500])
def test_real_records_at_bar_k_ignore_every_later_bar(etf_daily: pd.DataFrame, cut: int) -> None:
    wide = etf_daily.pivot(index="ts", columns="symbol", values="close").sort_index()
    first = etf_daily[etf_daily["ts"] <= wide.index[cut]]
    part, _events, _cycles = run_monitor(first)
    # the full history, stopped at the cut: the same records as a run that never had the later bars
    closes = wide.to_numpy(dtype=np.float64)
    again = PerformanceMonitor(closes.shape[1], MonitorSettings(window=500))
    for k in range(cut + 101):
        again.observe(k, wide.index[k].to_pydatetime(), closes[k], [momentum_opinion(closes, k)], {"trend": HORIZON})
        if k == cut:
            assert again.records() == part.records()
    assert again.records() != part.records()  # later bars do count, once they are reached
