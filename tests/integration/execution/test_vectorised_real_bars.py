"""On real bars, whole runs with the broker's array step for market orders equal runs on the per-order path:
the same fills (bar, qty, price, fee), the same Decimal equity every cycle and the same events, with protective
stops and the drawdown guard on (most symbols then go the per-order way) and off; `check` rebuilds the stored
ledger of a run that went through it to the cent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from papertrader.config.settings import CostSettings, ExecutionSettings, RiskSettings, Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.engine.check import check_run
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.execution import broker as broker_module
from papertrader.execution.broker import PaperBroker
from papertrader.features.technical import TechnicalSpec, compute_technical
from papertrader.signals.trend import TrendFollowing
from support import load_shared_daily, record_run

SYMBOLS = ("AAPL", "AIG", "BAC", "EEM", "GOOG", "IBM", "IWM", "QQQ", "SPY")
PLAIN = RiskSettings(protective_stops=False, max_position_fraction=1 / len(SYMBOLS))


def _bars(start: str, end: str) -> pd.DataFrame:
    bars = pd.concat([load_shared_daily(s) for s in SYMBOLS], ignore_index=True)
    return bars[(bars["ts"] >= start) & (bars["ts"] < end)].reset_index(drop=True)


def _run(bars: pd.DataFrame, settings: Settings, vectorised: bool) -> tuple[list[str], list[str], list[str]]:
    """Fills, every cycle's valuation and every published event of a full run, as reprs."""
    panel = Panel.from_long(bars, "1d")
    s = settings.strategy
    engine = Engine(
        run_id="vec",
        panel=panel,
        features=compute_technical(panel.prices, TechnicalSpec(sma=(s.fast, s.slow))),
        strategy=TrendFollowing(len(panel.symbols), s.fast, s.slow),
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=(bus := EventBus()),
    )
    engine.broker.vectorised = vectorised
    events: list[str] = []
    bus.subscribe(lambda e: events.append(repr(e)))
    outcomes = engine.run()
    fills = [repr(f) for o in outcomes for f in o.fills]
    return fills, [repr(o.valuation) for o in outcomes], events


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the fills the array step booked (so a test knows the path it compares was taken)."""
    calls = [0]
    original: Callable[..., Any] = PaperBroker._vector_fill

    def counting(self: PaperBroker, *args: Any) -> Any:
        calls[0] += 1
        return original(self, *args)

    monkeypatch.setattr(PaperBroker, "_vector_fill", counting)
    return calls


@pytest.mark.parametrize(
    "settings",
    [
        Settings(risk=PLAIN),
        Settings(),  # protective stops and the drawdown guard: most orders share a symbol with a stop pair
        Settings(
            risk=PLAIN,
            costs=CostSettings(
                commission_model="bps", commission_bps=1.0, execution=ExecutionSettings(max_volume_fraction=0.0005)
            ),
        ),  # a volume cap that binds: partial fills, the rest on the per-order path
    ],
    ids=["plain", "stops-and-guard", "volume-capped"],
)
@pytest.mark.parametrize("array_min", [1, broker_module.ARRAY_MIN], ids=["numpy", "python-ints"])
def test_a_real_run_is_identical_with_and_without_the_array_step(
    settings: Settings, array_min: int, counted: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_module, "ARRAY_MIN", array_min)
    bars = _bars("2004-01-01", "2010-01-01")
    fast = _run(bars, settings, vectorised=True)
    assert counted[0] > 0, "the array step booked no fill"
    slow = _run(bars, settings, vectorised=False)
    assert len(fast[0]) > 20
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    assert fast[2] == slow[2]


def test_check_rebuilds_a_stored_run_through_the_array_step_to_the_cent(tmp_path: Path, counted: list[int]) -> None:
    settings = Settings(home=tmp_path, risk=PLAIN)
    repo, _ = record_run(settings, _bars("2005-01-01", "2008-01-01"), 600, "vec", every=25)
    assert counted[0] > 10
    report = check_run(repo, "vec")
    assert report.ok, report.problems
    assert report.fills >= counted[0]
