"""Fundamentals join as of availability (+ a one-day delay for date-stamped reports).

The frame is hand-made in the vendor's shape (IBM-like quarterly numbers); what is tested is the
point-in-time logic and the ratio arithmetic, recomputed by hand below.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from feature_data import ny

from papertrader.features.fundamentals import (
    FundamentalsSpec,
    FundamentalsState,
    build_reports,
    fundamentals_at,
    latest_report,
)
from papertrader.features.times import NS_PER_DAY, to_ns

COLUMNS = (
    "fiscal_date_ending",
    "available_at",
    "reported_eps",
    "estimated_eps",
    "net_income",
    "total_equity",
    "total_liabilities",
    "total_assets",
)
ROWS = [
    ("2018-12-31", "2019-01-22 21:05", 4.87, 4.82, 1.95e9, 16.8e9, 106.5e9, 123.4e9),
    ("2019-03-31", "2019-04-16 20:05", 2.25, 2.22, 1.59e9, 17.0e9, 126.0e9, 143.0e9),
    ("2019-06-30", "2019-07-17 20:05", 3.17, 3.08, 2.50e9, 17.9e9, 125.3e9, 143.2e9),
    ("2019-09-30", "2019-10-16 20:05", 2.68, 2.67, 1.67e9, 19.0e9, 134.0e9, 153.0e9),
    ("2019-12-31", "2020-01-21 21:05", 4.71, 4.69, 3.67e9, 20.8e9, 131.2e9, 152.2e9),
]


def _frame(rows: Sequence[tuple[object, ...]] = ROWS) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(COLUMNS)).assign(symbol="IBM")
    df["available_at"] = pd.to_datetime(df["available_at"], utc=True)
    return df


def _at(
    frame: pd.DataFrame, *times: str, close: float = 140.0, spec: FundamentalsSpec | None = None
) -> dict[str, np.ndarray]:
    table = build_reports(frame, ("IBM",), spec or FundamentalsSpec())
    t_ns = to_ns(pd.DatetimeIndex([ny(t) for t in times]))
    closes = np.full((len(times), 1), close)
    return {k: v[:, 0] for k, v in fundamentals_at(table, latest_report(table, t_ns), closes, t_ns).items()}


def test_a_report_is_used_only_from_one_day_after_it_became_available() -> None:
    got = _at(_frame(), "2020-01-22 09:30", "2020-01-22 16:04", "2020-01-22 16:06")
    ttm_q3 = 4.87 + 2.25 + 3.17 + 2.68
    ttm_q4 = 2.25 + 3.17 + 2.68 + 4.71
    np.testing.assert_allclose(got["fund_pe"], [140 / ttm_q3, 140 / ttm_q3, 140 / ttm_q4])
    np.testing.assert_allclose(got["fund_earnings_yield"][2], ttm_q4 / 140)


def test_ratios_growth_and_surprise_are_computed_from_the_latest_known_quarters() -> None:
    got = {k: v[0] for k, v in _at(_frame(), "2020-02-03 10:00").items()}
    np.testing.assert_allclose(got["fund_eps_growth_yoy"], (4.71 - 4.87) / 4.87)
    np.testing.assert_allclose(got["fund_roe"], (1.59e9 + 2.50e9 + 1.67e9 + 3.67e9) / 20.8e9)
    np.testing.assert_allclose(got["fund_liab_to_equity"], 131.2e9 / 20.8e9)
    np.testing.assert_allclose(got["fund_liab_to_assets"], 131.2e9 / 152.2e9)
    np.testing.assert_allclose(got["fund_eps_surprise"], (4.71 - 4.69) / 4.69)
    effective = pd.Timestamp("2020-01-22 21:05", tz="UTC")
    np.testing.assert_allclose(
        got["fund_days_since_report"], (ny("2020-02-03 10:00") - effective) / pd.Timedelta(days=1)
    )


def test_nothing_is_known_before_the_first_report_and_ttm_needs_four_quarters() -> None:
    got = _at(_frame(), "2019-01-01 10:00", "2019-05-01 10:00")
    assert np.isnan(got["fund_pe"]).all()  # before any report; then only two quarters
    np.testing.assert_allclose(got["fund_eps_surprise"][1], (2.25 - 2.22) / 2.22)


def test_a_restatement_changes_values_only_from_its_own_availability_on() -> None:
    restated = [*ROWS, ("2019-12-31", "2020-02-25 12:00", 4.60, np.nan, np.nan, np.nan, np.nan, np.nan)]
    got = _at(_frame(restated), "2020-02-25 09:30", "2020-02-27 09:30")
    np.testing.assert_allclose(got["fund_pe"], [140 / (2.25 + 3.17 + 2.68 + 4.71), 140 / (2.25 + 3.17 + 2.68 + 4.60)])
    np.testing.assert_allclose(got["fund_liab_to_equity"], 131.2e9 / 20.8e9)  # other Q4 numbers stand


def test_negative_trailing_earnings_give_no_pe_but_a_negative_earnings_yield() -> None:
    rows = [(fd, av, -eps, *rest) for fd, av, eps, *rest in ROWS]
    got = _at(_frame(rows), "2020-02-03 10:00")
    assert np.isnan(got["fund_pe"][0]) and got["fund_earnings_yield"][0] < 0


def test_streaming_state_matches_the_batch_join_cycle_by_cycle() -> None:
    frame = pd.concat([_frame(), _frame().assign(symbol="AAPL")], ignore_index=True)
    symbols = ("AAPL", "IBM", "MSFT")
    spec = FundamentalsSpec(delay_days=0.5)
    table = build_reports(frame, symbols, spec)
    times = pd.date_range("2018-12-01", "2020-03-01", freq="37h", tz="UTC")
    t_ns = to_ns(times)
    close = np.linspace(100, 150, times.size * 3).reshape(times.size, 3)
    batch = fundamentals_at(table, latest_report(table, t_ns), close, t_ns)
    state = FundamentalsState(table)
    for k, t in enumerate(t_ns):
        row = state.update(int(t), close[k])
        for name, values in batch.items():
            np.testing.assert_array_equal(row[name], values[k], err_msg=name)
    assert NS_PER_DAY == 86_400 * 10**9
