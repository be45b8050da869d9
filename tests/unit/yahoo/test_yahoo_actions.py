"""The splits and dividends behind Yahoo's factor, read back from real recorded chart responses."""

from __future__ import annotations

import pandas as pd
import pytest
from yahoo_fakes import recorded_body

from papertrader.data.actions import infer_actions
from papertrader.data.adapters.yahoo import adjust, parse_chart

MSFT = "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"
NVDA = "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"


def _actions(name: str) -> pd.DataFrame:
    payload = parse_chart(recorded_body(name))
    return infer_actions(adjust(payload.symbol, "1d", [payload]).bars)


def _days(actions: pd.DataFrame) -> list[str]:
    return [str(t.tz_convert("America/New_York").date()) for t in actions["ts"]]


def test_msft_dividends_come_back_in_dollars_on_their_ex_dates() -> None:
    actions = _actions(MSFT)
    assert _days(actions) == ["2021-02-17", "2021-05-19", "2021-08-18", "2021-11-17"]
    assert actions["dividend"].tolist() == pytest.approx([0.56, 0.56, 0.56, 0.62], abs=1e-4)
    assert (actions["split_ratio"] == 1.0).all()


def test_nvda_split_comes_back_as_four_for_one_and_its_dividends_in_as_traded_dollars() -> None:
    actions = _actions(NVDA)
    splits = actions[actions["split_ratio"] != 1.0]
    assert _days(splits) == ["2021-07-20"] and splits["split_ratio"].tolist() == [4.0]
    dividends = actions[actions["dividend"] > 0]
    before = dividends[dividends["ts"] < splits["ts"].iloc[0]]["dividend"]
    after = dividends[dividends["ts"] > splits["ts"].iloc[0]]["dividend"]
    # NVIDIA paid $0.16 a share before the split and $0.04 after it. This recording was fetched after the
    # 2024 10:1 split but asked for events only up to 2022, so its "raw" prices (and dividends) are still
    # divided by 10: the reason the source asks for events through now (see yahoo/adjust.py).
    assert before.tolist() == pytest.approx([0.016, 0.016], abs=1e-4)
    assert after.tolist() == pytest.approx([0.004, 0.004], abs=1e-4)
