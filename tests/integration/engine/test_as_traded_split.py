"""A split changes what a share costs, not what the strategy decides or pays: fills, fees and quantities use
the prices that traded, signals the adjusted history, and the split moves positions, not cash.

Real daily IBM and SPY bars from shared/data (raw prints). The "split" run is the same history with a
SYNTHETIC 4:1 IBM split inserted at a date inside the run where the strategy holds IBM: raw prices from
that date on divided by 4 (volume times 4), adj_factor 1/4 before it, and the action stored in the lake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.data.store import Lake
from papertrader.domain.types import Fill
from papertrader.engine.check import check_run
from papertrader.engine.runner import RunRequest, RunResult, run
from papertrader.execution.fees import commission
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository
from support import load_shared_daily

START, END = datetime(2005, 6, 1, tzinfo=UTC), datetime(2007, 1, 2, tzinfo=UTC)
SYMBOLS = ("IBM", "SPY")
RATIO = 4


def _bars() -> pd.DataFrame:
    bars = pd.concat([load_shared_daily(s) for s in SYMBOLS], ignore_index=True)
    bars = bars[(bars["ts"] >= pd.Timestamp("2004-09-01", tz="UTC")) & (bars["ts"] < pd.Timestamp(END))]
    return bars.reset_index(drop=True)


def _run(home: Path, bars: pd.DataFrame, actions: pd.DataFrame | None) -> tuple[RunResult, RunRepository]:
    settings = Settings(home=home, risk={"max_drawdown": 0.5})  # keep trading through 2004-2007
    lake = Lake(settings.lake_dir)
    lake.write_bars(bars, "1d", "shared:lean")
    if actions is not None:
        lake.write_actions(actions, "test:synthetic")
    result = run(settings, RunRequest(SYMBOLS, "1d", START, END, run_id="r"))
    return result, RunRepository(make_engine(settings.db_url))


def _with_split(bars: pd.DataFrame, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bars with a 4:1 IBM split at `at` (raw after it / 4, factor 1/4 before it) and the action row."""
    out = bars.copy()
    out["adj_factor"] = 1.0
    ibm = out["symbol"] == "IBM"
    after, before = ibm & (out["ts"] >= at), ibm & (out["ts"] < at)
    for col in ("open", "high", "low", "close"):
        out.loc[after, col] = out.loc[after, col] / RATIO
    out.loc[after, "volume"] = out.loc[after, "volume"] * RATIO
    out.loc[before, "adj_factor"] = 1.0 / RATIO
    action = pd.DataFrame({"symbol": ["IBM"], "ts": [at], "split_ratio": [float(RATIO)], "dividend": [0.0]})
    return out, action


def _signals(repo: RunRepository) -> list[tuple[object, ...]]:
    return [
        (e.ts, e.payload["symbol"], e.payload["target_weight"], e.payload["confidence"])
        for e in repo.load_events("r", ["signal"])
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    bars = _bars()
    plain, plain_repo = _run(tmp_path_factory.mktemp("plain"), bars, None)
    held = plain_repo.load_equity("r")
    days = pd.DatetimeIndex(sorted(bars.loc[bars["symbol"] == "IBM", "ts"]))
    days = days[(days > pd.Timestamp(START)) & (days < pd.Timestamp(END))]
    fills = plain_repo.load_fills("r")
    at = _a_day_holding(fills, days)
    split_bars, action = _with_split(bars, at)
    split, split_repo = _run(tmp_path_factory.mktemp("split"), split_bars, action)
    assert len(held) == len(split_repo.load_equity("r"))
    # what the engine saw before: only the adjusted series (split-adjusted prices stored as the prints)
    adjusted = split_bars.copy()
    for col in ("open", "high", "low", "close"):
        adjusted[col] = adjusted[col] * adjusted["adj_factor"]
    adjusted["volume"] = adjusted["volume"] / adjusted["adj_factor"]
    legacy = _run(tmp_path_factory.mktemp("legacy"), adjusted.drop(columns="adj_factor"), None)
    return {
        "at": at,
        "plain": (plain, plain_repo),
        "split": (split, split_repo),
        "legacy": legacy,
        "inputs": (split_bars, action),
    }


def _a_day_holding(fills: list[Fill], days: pd.DatetimeIndex) -> pd.Timestamp:
    """The first session from the middle of the run on that opens with IBM shares held."""
    for day in days[len(days) // 2 :]:
        if sum(f.side.sign * f.qty for f in fills if f.symbol == "IBM" and f.ts < day) > 0:
            return pd.Timestamp(day)
    raise AssertionError("the trend strategy holds IBM at some point in the second half of 2004-2007")


def test_a_split_changes_no_decision(runs: dict[str, object]) -> None:
    (_, plain_repo), (_, split_repo) = runs["plain"], runs["split"]  # type: ignore[misc]
    assert _signals(plain_repo) == _signals(split_repo)
    assert len(_signals(plain_repo)) > 5


def test_fills_before_the_split_are_identical(runs: dict[str, object]) -> None:
    at = runs["at"]
    (_, plain_repo), (_, split_repo) = runs["plain"], runs["split"]  # type: ignore[misc]
    before = [f for f in plain_repo.load_fills("r") if f.ts < at]
    assert before and before == [f for f in split_repo.load_fills("r") if f.ts < at]


def test_the_split_multiplies_the_position_by_four_and_leaves_cash_alone(runs: dict[str, object]) -> None:
    at = runs["at"]
    _, split_repo = runs["split"]  # type: ignore[misc]
    events = split_repo.load_events("r", ["split"])
    assert len(events) == 1 and events[0].ts.date() == at.tz_convert("America/New_York").date()
    payload = events[0].payload
    held = sum(f.side.sign * f.qty for f in split_repo.load_fills("r") if f.symbol == "IBM" and f.ts < at)
    assert held > 0 and payload["qty"] == held and payload["ratio"] == "4.0" and payload["cash"] == "0"
    equity = split_repo.load_equity("r", exact=True)
    _, plain_repo = runs["plain"]  # type: ignore[misc]
    plain_equity = plain_repo.load_equity("r", exact=True)
    day = int((equity["ts"] < at).sum())  # the split's cycle: the cash left the previous cycle is untouched
    assert equity["cash"].iloc[day - 1] == plain_equity["cash"].iloc[day - 1]
    assert equity["equity"].iloc[day - 1] == plain_equity["equity"].iloc[day - 1]


def test_fees_before_the_split_are_charged_on_the_prices_that_traded(runs: dict[str, object]) -> None:
    """The old engine read only the adjusted series: a LATER split cut every earlier price by 4 and made it
    buy 4x the shares, paying 4x the per-share commission. Now the earlier fills and fees are untouched."""
    at = runs["at"]
    (_, plain_repo), (_, split_repo), (_, legacy_repo) = runs["plain"], runs["split"], runs["legacy"]  # type: ignore[misc]
    fees = [
        sum((f.fee for f in r.load_fills("r") if f.ts < at and f.symbol == "IBM"), Decimal(0))
        for r in (plain_repo, split_repo, legacy_repo)
    ]
    assert fees[0] == fees[1] > 0
    assert fees[2] > 3 * fees[0]


def test_after_the_split_the_same_dollars_trade_and_pay_the_schedule_on_the_shares_traded(
    runs: dict[str, object],
) -> None:
    """After the split the same dollars trade at a quarter of the price. Quantities are whole shares, so a
    target of x dollars buys floor(4x/p) new shares instead of 4 floor(x/p) (up to 3 more); fill prices are
    to the 1/100 cent. The per-share commission is charged on the shares that really traded (4x as many
    after a 4:1 split, as at a real broker); a notional (bps) commission stays the same in dollars."""
    at = runs["at"]
    (_, plain_repo), (_, split_repo) = runs["plain"], runs["split"]  # type: ignore[misc]
    costs = Settings().costs
    plain = [f for f in plain_repo.load_fills("r") if f.ts >= at]
    split = [f for f in split_repo.load_fills("r") if f.ts >= at]
    assert len(plain) == len(split) > 0
    ibm = 0
    for a, b in zip(plain, split, strict=True):
        assert (a.ts, a.symbol, a.side) == (b.ts, b.symbol, b.side)
        if a.symbol == "SPY":
            assert (a.qty, a.price, a.fee) == (b.qty, b.price, b.fee)
            continue
        ibm += 1
        # market fills to the 1/100 cent; a take-profit limit amended by the split rounds to the cent
        assert abs(b.price * RATIO - a.price) <= Decimal("0.01") * RATIO
        assert RATIO * a.qty - RATIO < b.qty < RATIO * a.qty + RATIO
        assert abs(b.notional - a.notional) <= RATIO * b.price + b.qty * Decimal("0.01")
        assert b.fee == commission(b.qty, b.price, costs)
        bps = Decimal(str(costs.commission_bps)) / 10_000
        assert abs(b.notional * bps - a.notional * bps) <= Decimal("0.02")
    assert ibm > 0


def test_check_rebuilds_the_split_run_from_its_events_to_the_cent(runs: dict[str, object]) -> None:
    _, split_repo = runs["split"]  # type: ignore[misc]
    report = check_run(split_repo, "r")
    assert report.ok, report.problems


def test_a_run_killed_after_the_split_resumes_to_the_same_ledger(
    runs: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    at = runs["at"]
    (whole, _), (bars, action) = runs["split"], runs["inputs"]  # type: ignore[misc]
    settings = Settings(home=tmp_path_factory.mktemp("resume"), risk={"max_drawdown": 0.5})
    lake = Lake(settings.lake_dir)
    lake.write_bars(bars, "1d", "shared:lean")
    lake.write_actions(action, "test:synthetic")
    cycles = iter(range(10_000))
    stop_at = int((whole.ts < at).sum()) + 5  # a few cycles after the split
    run(
        settings,
        RunRequest(SYMBOLS, "1d", START, END, mode="replay", run_id="k"),
        should_stop=lambda: next(cycles) >= stop_at,
    )
    resumed = run(settings, RunRequest(run_id="k", resume=True, mode="replay"))
    repo = RunRepository(make_engine(settings.db_url))
    assert resumed.final_equity == whole.final_equity
    assert [(f.ts, f.qty, f.price, f.fee) for f in repo.load_fills("k")] == [
        (f.ts, f.qty, f.price, f.fee) for f in whole.fills
    ]
    assert check_run(repo, "k").ok
