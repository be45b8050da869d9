"""Over a real run, every cycle's fixed-point valuation equals the Decimal valuation the engine used to make."""

from __future__ import annotations

import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.panel import Panel
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.signals.trend import TrendFollowing
from support import load_shared_daily


def _engine(bars: pd.DataFrame, scale: float = 1.0) -> Engine:
    bars = bars.copy()
    for f in ("open", "high", "low", "close"):
        bars[f] = bars[f] * scale
    panel = Panel.from_long(bars, "1d")
    settings = Settings()
    features = compute_technical(panel.prices, TechnicalSpec(sma=(settings.strategy.fast, settings.strategy.slow)))
    strategy = TrendFollowing(len(panel.symbols), settings.strategy.fast, settings.strategy.slow)
    return Engine(
        run_id="fixed",
        panel=panel,
        features=features,
        strategy=strategy,
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=EventBus(),
    )


def _compare(engine: Engine, cycles: int) -> int:
    """Step the engine, checking each cycle's valuation against the Decimal path; returns the fills seen."""
    fills = 0

    def check(outcome: CycleOutcome) -> None:
        nonlocal fills
        fills += len(outcome.fills)
        reference = engine.ledger.value(engine.marks())
        got = outcome.valuation
        assert (str(got.cash), str(got.market_value), str(got.gross_exposure)) == (
            str(reference.cash),
            str(reference.market_value),
            str(reference.gross_exposure),
        ), f"cycle {outcome.k}"
        assert engine.holdings().tolist() == [float(engine.ledger.qty(s)) for s in engine.panel.symbols], (
            f"cycle {outcome.k}"
        )

    for k in range(min(cycles, len(engine.panel))):
        check(engine.step(k))
    return fills


def _bars() -> pd.DataFrame:
    frames = [load_shared_daily(s) for s in ("AAPL", "IBM", "SPY", "BAC")]
    bars = pd.concat(frames, ignore_index=True)
    return bars[(bars["ts"] >= "2004-01-01") & (bars["ts"] < "2009-01-01")]


def test_fixed_point_valuation_equals_the_decimal_path_on_every_cycle_of_a_real_run() -> None:
    engine = _engine(_bars())
    assert _compare(engine, 1300) > 20


def test_off_grid_real_prices_take_the_decimal_path_and_still_agree() -> None:
    engine = _engine(_bars(), scale=1 / 3)  # prices off the 0.0001 grid: every mark falls back
    assert _compare(engine, 400) > 5
