"""Splits and dividends <-> adjustment factors (data/actions.py), on SYNTHETIC bars built inside each test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.core.errors import DataError
from papertrader.data.actions import clean_actions, factor_from_actions, infer_actions, simple_ratio
from papertrader.data.schema import daily_stamp


def _bars(closes: list[float], symbol: str = "XYZ") -> pd.DataFrame:
    days = pd.Series(pd.bdate_range("2020-01-06", periods=len(closes)))
    return pd.DataFrame({"symbol": symbol, "ts": daily_stamp(days), "close": np.asarray(closes, dtype="float64")})


def _action(bars: pd.DataFrame, k: int, ratio: float = 1.0, dividend: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"symbol": [bars["symbol"].iloc[k]], "ts": [bars["ts"].iloc[k]], "split_ratio": [ratio], "dividend": [dividend]}
    )


@pytest.mark.parametrize(
    ("step", "ratio"), [(2.0, 2.0), (7.0, 7.0), (1.5, 1.5), (1.25, 1.25), (0.1, 0.1), (4.0004, 4.0)]
)
def test_split_ratios_are_read_as_simple_fractions(step: float, ratio: float) -> None:
    assert simple_ratio(step) == ratio


@pytest.mark.parametrize("step", [1.004, 1.11, 0.95, 2.93])
def test_dividend_sized_or_odd_steps_are_no_split(step: float) -> None:
    assert simple_ratio(step) is None


def test_a_split_and_a_dividend_round_trip_through_the_factor() -> None:
    bars = _bars([100.0, 101.0, 25.5, 25.0, 25.2, 24.9])
    actions = pd.concat([_action(bars, 2, ratio=4.0), _action(bars, 4, dividend=0.25)], ignore_index=True)
    factor = factor_from_actions(bars, actions)
    assert factor.iloc[-1] == 1.0 and factor.iloc[4] == 1.0
    assert factor.iloc[3] == pytest.approx(1 - 0.25 / 25.0)
    assert factor.iloc[0] == pytest.approx(0.25 * (1 - 0.25 / 25.0))
    back = infer_actions(bars.assign(adj_factor=factor))
    assert back["split_ratio"].tolist() == [4.0, 1.0]
    assert back["dividend"].tolist() == [0.0, 0.25]
    assert back["ts"].tolist() == actions["ts"].tolist()


def test_a_factor_step_without_a_matching_price_jump_is_no_split() -> None:
    bars = _bars([100.0, 101.0, 102.0]).assign(adj_factor=[0.5, 0.5, 1.0])
    actions = infer_actions(bars)
    assert actions["split_ratio"].tolist() == [1.0] and actions["dividend"].iloc[0] == pytest.approx(50.5)


def test_a_vendor_factor_that_wobbles_with_rounding_yields_no_phantom_dividends() -> None:
    rng = np.random.default_rng(7)
    closes = 100.0 + np.cumsum(rng.normal(0, 1, 300))
    adjusted = np.round(closes * 0.5, 4)  # a vendor's adjusted close to 1/100 cent
    bars = _bars(list(closes)).assign(adj_factor=adjusted / closes)
    assert infer_actions(bars).empty


def test_bad_actions_are_refused_with_the_reason() -> None:
    bars = _bars([10.0, 10.0])
    with pytest.raises(DataError, match="positive split ratio"):
        clean_actions(_action(bars, 1, ratio=0.0))
    with pytest.raises(DataError, match="timezone-aware"):
        clean_actions(_action(bars, 1, ratio=2.0).assign(ts=pd.Timestamp("2020-01-07")))
    assert clean_actions(_action(bars, 1)).empty  # no split and no dividend is no action


@settings(max_examples=40, deadline=None)
@given(
    ratio=st.sampled_from([2.0, 3.0, 4.0, 7.0, 1.5, 10.0, 0.5, 0.1]),
    k=st.integers(1, 8),
    dividend_at=st.integers(1, 8),
    yield_=st.floats(0.001, 0.05),
)
def test_property_actions_survive_the_round_trip(ratio: float, k: int, dividend_at: int, yield_: float) -> None:
    """Any split and any dividend, turned into a factor and read back, come out as they went in."""
    closes = [50.0 + i for i in range(10)]
    closes = [c / ratio if i >= k else c for i, c in enumerate(closes)]
    bars = _bars(closes)
    parts = [_action(bars, k, ratio=ratio)]
    if dividend_at != k:
        parts.append(_action(bars, dividend_at, dividend=round(closes[dividend_at - 1] * yield_, 4)))
    actions = clean_actions(pd.concat(parts, ignore_index=True))
    back = infer_actions(bars.assign(adj_factor=factor_from_actions(bars, actions)))
    assert back["ts"].tolist() == actions["ts"].tolist()
    assert back["split_ratio"].tolist() == actions["split_ratio"].tolist()
    np.testing.assert_allclose(back["dividend"], actions["dividend"], atol=1e-4)


def test_two_factor_file_rows_with_no_bar_between_them_become_one_action_on_the_next_bar() -> None:
    """A hand-written Lean factor file (not market data): a 2:1 split and a dividend both dated inside a gap of
    the bars (no bar on 2020-01-07 or 2020-01-08) take effect together on the first bar after the gap."""
    from papertrader.data.actions import factor_file_actions

    factors = pd.DataFrame(
        {
            "date": [20200106, 20200107, 20200108, 20501231],
            "price_factor": [0.99, 0.995, 1.0, 1.0],
            "split_factor": [0.5, 0.5, 1.0, 1.0],
            "reference_price": [100.0, 100.0, 50.0, 50.0],
        }
    )
    ts = pd.Series(
        pd.to_datetime(["2020-01-06 16:00", "2020-01-09 16:00", "2020-01-10 16:00"])
        .tz_localize("America/New_York")
        .tz_convert("UTC")
    )
    factor, actions = factor_file_actions("XYZ", factors, ts)
    assert len(actions) == 1, "one action per ex-date, whatever the factor file's rows"
    (row,) = actions.to_dict("records")
    assert row["split_ratio"] == 2.0 and row["dividend"] > 0
    assert factor.iloc[0] < 1.0 and factor.iloc[1] == factor.iloc[2] == 1.0
