"""The one-symbol quiet screen (engine/sparse.py `_screened`) books only stretches the exact pass books the same way.

Real bars from shared/data (daily SPY, AAPL unadjusted with its split gaps, hourly SPY for sessions of several
bars), one symbol, with the loss limits, the intrabar drawdown guard, its budget in sizing, the volatility target and
protective stops in several combinations, some tight enough that limits fire and the guard acts. Every stretch the
screen passes is judged again by the exact array pass (`_fixed`, `_plan_quiet`): it must find the same stretch quiet
to its end, with the same equity, valuations and loss-limit state after it. Each run is also compared, outcome for
outcome, with the same run with the screen off and with stepping every cycle.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import RiskSettings, Settings, StrategySettings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.domain.sessions import session_date
from papertrader.engine import sparse
from papertrader.engine.cycle import Engine
from papertrader.engine.outcomes import Outcomes
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import build
from support import SHARED, load_shared_daily

CASES: dict[str, tuple[str, str, int, RiskSettings]] = {
    "spy_daily_defaults": ("SPY", "1d", 3000, RiskSettings()),
    "spy_daily_tight_limits_guard": (
        "SPY",
        "1d",
        3000,
        RiskSettings(max_drawdown=0.06, daily_loss_limit=0.01, protective_stops=False, vol_target=None),
    ),
    "aapl_daily_split_gaps_guard": (
        "AAPL",
        "1d",
        4000,
        RiskSettings(max_drawdown=0.3, daily_loss_limit=0.05, protective_stops=False, vol_target=None),
    ),
    "aapl_daily_no_budget_stops": (
        "AAPL",
        "1d",
        3000,
        RiskSettings(drawdown_budget=False, max_drawdown=0.2, vol_target=None),
    ),
    "spy_daily_kill_switch_fires": (
        "SPY",
        "1d",
        3000,
        RiskSettings(
            drawdown_budget=False, max_drawdown=0.04, daily_loss_limit=0.015, protective_stops=False, vol_target=None
        ),
    ),
    "spy_hourly_sessions_guard": (
        "SPY",
        "1h",
        6000,
        RiskSettings(max_drawdown=0.15, daily_loss_limit=0.004, protective_stops=False, vol_target=None),
    ),
    "spy_hourly_wide_band": (
        "SPY",
        "1h",
        6000,
        RiskSettings(max_drawdown=0.5, daily_loss_limit=0.02, protective_stops=False, vol_target=None, core_cap=1.0),
    ),
}


def _bars(symbol: str, interval: str, rows: int) -> pd.DataFrame:
    if interval == "1d":
        return load_shared_daily(symbol).tail(rows).reset_index(drop=True)
    path = SHARED / "equity-us" / "1h" / f"{symbol}.csv.gz"
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    df = pd.read_csv(path).tail(rows)
    ts = pd.to_datetime(df["timestamp"], utc=True)
    fields = {f: df[f].astype(float).to_numpy() for f in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame({"symbol": df["symbol"].to_numpy(), "ts": ts.to_numpy(), **fields})


def _engine(name: str) -> Engine:
    symbol, interval, rows, risk = CASES[name]
    band = 0.05 if "wide_band" not in name else 0.5
    settings = Settings(risk=risk, strategy=StrategySettings(fast=10, slow=30, rebalance_band=band))
    return _built(name, settings, Panel.from_long(_bars(symbol, interval, rows), interval))


def _built(run_id: str, settings: Settings, panel: Panel) -> Engine:
    built = build(settings, panel, 0)
    return Engine(
        run_id=run_id,
        panel=panel,
        features=built.features,
        strategy=built.strategy,
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=EventBus(),
    )


@contextmanager
def _shadowed(counts: dict[str, int]) -> Iterator[None]:
    """`_screened`, with each stretch it passes judged again by the exact pass (which must agree)."""
    screened = sparse.SparseStepper._screened

    def shadow(self: sparse.SparseStepper, k: int, end: int, working: list[object]) -> sparse._Span | None:
        span = screened(self, k, end, working)  # type: ignore[arg-type]
        if span is None:
            counts["failed"] += 1
            return None
        counts["passed"] += 1
        e = self.engine
        closes = sparse._forward_fill(self._close[k : span.end], e._last_close)
        exact = self._fixed(k, closes)
        assert exact is not None and exact.end == span.end, f"the exact pass ends the stretch from {k} earlier"
        assert self._plan_quiet(k, exact.closes, exact.equities, exact.peaks).all(), f"the plan acts in {k}.."
        assert np.array_equal(exact.equities, span.equities)
        assert np.array_equal(exact.closes, span.closes)
        assert exact.limits == span.limits, f"the loss limits after {k}..{span.end} differ"
        for r in range(0, span.end - k, 7):
            assert exact.valuation(r) == span.valuation(r)
        return span

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sparse.SparseStepper, "_screened", shadow)
        yield


def _same(a: Outcomes, b: Outcomes) -> None:
    assert len(a) == len(b)
    assert np.array_equal(a.equities(), b.equities())
    assert np.array_equal(a.gross(), b.gross())
    assert [repr(f) for f in a.fills()] == [repr(f) for f in b.fills()]
    assert all(x == y for x, y in zip(a, b, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_screened_stretch_is_one_the_exact_pass_books_identically(name: str) -> None:
    counts = {"passed": 0, "failed": 0}
    engine = _engine(name)
    with _shadowed(counts):
        screened = engine.run(sparse=True)
    assert engine.sparse is not None and engine.sparse._rows is not None, "the one-symbol screen was not on"
    assert counts["passed"] > 0, "the screen passed no stretch: nothing was checked"

    unscreened_engine = _engine(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sparse.SparseStepper, "_screen_rows", lambda self: None)
        unscreened = unscreened_engine.run(sparse=True)
    full_engine = _engine(name)
    full = full_engine.run(sparse=False)
    _same(screened, unscreened)
    _same(screened, full)
    for other in (unscreened_engine, full_engine):
        assert copy.copy(engine.risk.kill_switch) == other.risk.kill_switch
        assert engine.risk.daily == other.risk.daily
        assert engine.halted == other.halted
    assert full.fills(), "the run traded nothing"
    if "kill_switch_fires" in name:
        assert engine.risk.kill_switch.fired, "this run is meant to fire the kill switch"


def test_the_screen_is_off_for_wider_universes() -> None:
    bars = pd.concat([load_shared_daily(s).tail(300) for s in ("SPY", "AAPL")], ignore_index=True)
    engine = _built("two", Settings(), Panel.from_long(bars, "1d"))
    engine.run(sparse=True)
    assert engine.sparse is not None and engine.sparse._rows is None


@pytest.mark.parametrize("interval", ["1h", "1d"])
def test_session_dates_in_bulk_are_those_of_each_close_time(interval: str) -> None:
    """`sparse._sessions` (New York offsets looked up once per UTC hour) gives `session_date` of every close time,
    across years of daylight-saving changes."""
    panel = Panel.from_long(_bars("SPY", interval, 20_000), interval)
    dates, day = sparse._sessions(panel)
    times = panel.close_times
    assert [dates[int(d)] for d in day] == [session_date(times[k]) for k in range(len(panel))]
