"""Changing or deleting bars after T must leave every decision and fill before T unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.domain.types import Fill
from support import EngineFactory


def _decisions_and_fills(
    build_engine: EngineFactory, bars: pd.DataFrame, cutoff: pd.Timestamp
) -> tuple[list[tuple[object, ...]], list[Fill]]:
    engine, events = build_engine(bars)
    outcomes = engine.run()
    orders = [
        (e.ts, e.payload["symbol"], e.payload["side"], e.payload["qty"])
        for e in events
        if e.kind == "order.submitted" and e.ts < cutoff
    ]
    fills = [f for o in outcomes for f in o.fills if f.ts < cutoff]
    return orders, fills


@pytest.mark.parametrize("cut_year", ["2004-06-01", "2012-03-15"])
def test_truncating_or_altering_future_bars_changes_nothing_before_the_cut(
    etf_daily: pd.DataFrame, cut_year: str, engine_factory: EngineFactory
) -> None:
    bars = etf_daily[etf_daily["ts"] < pd.Timestamp("2014-01-01", tz="UTC")]
    cutoff = pd.Timestamp(cut_year, tz="UTC")
    baseline = _decisions_and_fills(engine_factory, bars, cutoff)
    assert len(baseline[0]) > 5 and len(baseline[1]) > 5

    truncated = bars[bars["ts"] < cutoff]
    altered = bars.copy()
    future = altered["ts"] >= cutoff
    rng = np.random.default_rng(7)
    shock = rng.uniform(0.5, 1.5, future.sum())
    for col in ("open", "high", "low", "close"):
        altered.loc[future, col] = altered.loc[future, col] * shock
    altered.loc[future, "volume"] = 1.0

    assert _decisions_and_fills(engine_factory, truncated, cutoff) == baseline
    assert _decisions_and_fills(engine_factory, altered, cutoff) == baseline
