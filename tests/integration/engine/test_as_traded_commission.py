"""AAPL split 7:1 in 2014 and 4:1 in 2020: a 2010-2012 run must buy and pay commission on the ~$200-700
prints that traded then, not on today's split-adjusted $7-25 (28x the shares, 28x the per-share fee).

Real raw daily AAPL and SPY bars from shared/data with their real Lean factor files (splits and dividends).
(The data has a bad print, a 2011-01-03 low of $32.65, which triggers a protective stop: the stop fills at
its own price, still an as-traded one.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.data.actions import factor_file_actions
from papertrader.data.store import Lake
from papertrader.domain.types import Fill
from papertrader.engine.check import check_run
from papertrader.engine.protection import is_protective
from papertrader.engine.runner import RunRequest, run
from papertrader.execution.fees import commission
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository
from support import load_shared_daily, load_shared_factors

START, END = datetime(2010, 1, 4, tzinfo=UTC), datetime(2013, 1, 2, tzinfo=UTC)
SYMBOLS = ("AAPL", "SPY")


def _lake_bars() -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, actions = [], []
    for symbol in SYMBOLS:
        bars = load_shared_daily(symbol)
        bars = bars[(bars["ts"] >= pd.Timestamp("2009-03-01", tz="UTC")) & (bars["ts"] < pd.Timestamp(END))]
        factor, acts = factor_file_actions(symbol, load_shared_factors(symbol), bars["ts"])
        frames.append(bars.assign(adj_factor=factor))
        actions.append(acts)
    return pd.concat(frames, ignore_index=True), pd.concat(actions, ignore_index=True)


def _run(home: Path, bars: pd.DataFrame, actions: pd.DataFrame | None) -> tuple[list[Fill], RunRepository]:
    settings = Settings(home=home, risk={"max_drawdown": 0.5})
    lake = Lake(settings.lake_dir)
    lake.write_bars(bars, "1d", "shared:lean")
    if actions is not None:
        lake.write_actions(actions, "shared:lean")
    result = run(settings, RunRequest(SYMBOLS, "1d", START, END, run_id="r"))
    return list(result.fills), RunRepository(make_engine(settings.db_url))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    bars, actions = _lake_bars()
    traded = _run(tmp_path_factory.mktemp("traded"), bars, actions)
    adjusted = bars.copy()
    for col in ("open", "high", "low", "close"):
        adjusted[col] = adjusted[col] * adjusted["adj_factor"]
    adjusted["volume"] = adjusted["volume"] / adjusted["adj_factor"]
    legacy = _run(tmp_path_factory.mktemp("legacy"), adjusted.drop(columns="adj_factor"), None)
    return {"bars": bars, "actions": actions, "traded": traded, "legacy": legacy}


def test_the_factor_file_gives_aapls_real_splits_and_dividends(runs: dict[str, object]) -> None:
    bars, actions = runs["bars"], runs["actions"]
    assert isinstance(bars, pd.DataFrame) and isinstance(actions, pd.DataFrame)
    aapl = actions[actions["symbol"] == "AAPL"]
    # the bars end in 2012: only the dividends that went ex inside them (2012-08-09, 2012-11-07) are actions
    assert [str(t.tz_convert("America/New_York").date()) for t in aapl["ts"]] == ["2012-08-09", "2012-11-07"]
    assert (aapl["split_ratio"] == 1.0).all()
    assert aapl["dividend"].round(2).tolist() == [2.65, 2.65]
    first = bars[bars["symbol"] == "AAPL"].iloc[0]
    assert first["adj_factor"] == pytest.approx(0.8613657 * 0.0357143, rel=1e-6)  # 7:1 and 4:1 still to come


def test_aapl_fills_and_commissions_use_the_prices_that_traded(runs: dict[str, object]) -> None:
    bars = runs["bars"]
    fills, _ = runs["traded"]  # type: ignore[misc]
    assert isinstance(bars, pd.DataFrame)
    opens = bars[bars["symbol"] == "AAPL"].set_index("ts")["open"]
    aapl = [f for f in fills if f.symbol == "AAPL"]
    assert len(aapl) > 4
    costs = Settings().costs
    for fill in aapl:
        day = pd.Timestamp(fill.ts).tz_convert("America/New_York").normalize().tz_convert("UTC")
        assert 150 < fill.price < 800, fill
        if not is_protective(fill.order_id):  # market orders fill at the open plus costs
            assert abs(float(fill.price) / opens[day] - 1) < 0.01, fill
        assert fill.fee == commission(fill.qty, fill.price, costs)
        assert fill.qty * fill.price < Decimal(100_000) and fill.qty < 700  # ~$1,000 of commission-free room


def test_the_adjusted_only_engine_paid_28x_the_per_share_commission(runs: dict[str, object]) -> None:
    (fills, _), (legacy, _) = runs["traded"], runs["legacy"]  # type: ignore[misc]
    fees = sum((f.fee for f in fills if f.symbol == "AAPL"), Decimal(0))
    old = sum((f.fee for f in legacy if f.symbol == "AAPL"), Decimal(0))
    shares = sum(f.qty for f in fills if f.symbol == "AAPL")
    old_shares = sum(f.qty for f in legacy if f.symbol == "AAPL")
    assert old_shares > 20 * shares
    assert old > 10 * fees


def test_check_rebuilds_the_run_with_its_dividends(runs: dict[str, object]) -> None:
    _, repo = runs["traded"]  # type: ignore[misc]
    report = check_run(repo, "r")
    assert report.ok, report.problems
