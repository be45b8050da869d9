"""Return features checked against pandas on real daily and hourly bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_data import inputs, load_bars

from papertrader.features.returns import ReturnSpec, compute_returns
from papertrader.features.times import ny_days


def test_lags_momentum_and_realised_vol_match_pandas_on_own_bars(etf_daily: pd.DataFrame) -> None:
    bars = etf_daily[etf_daily["ts"] < "2003-01-01"]
    inp = inputs(bars, "1d")
    spec = ReturnSpec(lags=3, momentum=(5, 63), rvol=(20,))
    f = compute_returns(inp.prices, ny_days(inp.ts), spec)
    for j, symbol in enumerate(inp.symbols):
        rows = np.flatnonzero(np.isfinite(inp.prices.close[:, j]))  # QQQ and IWM start later than SPY
        c = pd.Series(inp.prices.close[rows, j])
        r = np.log(c).diff()
        for k in range(3):
            np.testing.assert_allclose(f[f"logret_lag{k}"][rows, j], r.shift(k), rtol=1e-9, atol=1e-14, equal_nan=True)
        np.testing.assert_allclose(f["mom_63"][rows, j], np.log(c / c.shift(63)), rtol=1e-9, atol=1e-14, equal_nan=True)
        rv = np.sqrt((r**2).rolling(20).mean())
        np.testing.assert_allclose(f["rvol_20"][rows, j], rv, rtol=1e-9, equal_nan=True, err_msg=symbol)
        assert np.isnan(f["mom_5"][: rows[0], j]).all()


def test_session_gap_is_first_open_over_last_close_and_holds_all_day() -> None:
    bars = load_bars("1h", ("SPY",)).iloc[:700]
    inp = inputs(bars, "1h")
    f = compute_returns(inp.prices, ny_days(inp.ts), ReturnSpec())["gap_session"][:, 0]
    frame = pd.DataFrame(
        {
            "day": inp.ts.tz_convert("America/New_York").date,
            "open": inp.prices.open[:, 0],
            "close": inp.prices.close[:, 0],
        }
    )
    daily = frame.groupby("day").agg(first_open=("open", "first"), last_close=("close", "last"))
    gap = np.log(daily["first_open"] / daily["last_close"].shift(1))
    expected = frame["day"].map(gap).to_numpy()
    np.testing.assert_allclose(f, expected, rtol=1e-12, equal_nan=True)
    assert np.isnan(f[:7]).all() and np.isfinite(f[7:]).all()  # the first day has no previous close
