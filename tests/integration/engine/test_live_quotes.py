"""Quotes between bar closes in the live loop: protective stops fill at the quote, the kill switch fires at quote
marks, a resume needs no quotes, and with `live.quotes_every_s` unset the run is exactly as without quotes.

Real hourly bars (shared data) drive the closes; the quotes come from a scripted feed that reads the engine's
book the way a vendor would report a sudden move: the test decides the price, the loop does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from live_support import LIVE_FROM, at, live_settings, orchestrator, prepared_home, repository, stripped_state

from papertrader.config.settings import RiskSettings, Settings
from papertrader.core.clock import SimClock
from papertrader.data.polling import Sweep, empty_quotes
from papertrader.domain.events import (
    DailyLossLimitHit,
    HaltChanged,
    KillSwitchFired,
    OrderFilled,
    QuoteMarked,
    StopExited,
)
from papertrader.domain.types import OrderType, Side
from papertrader.engine.check import check_run
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.protection import is_protective

EVERY_S = 900.0

Pricer = Callable[[Engine, datetime], dict[str, float]]


class ScriptedQuotes:
    """A quote feed whose prices a test computes from the engine's book at each sweep (stamped at the sweep)."""

    def __init__(self, clock: SimClock, pricer: Pricer) -> None:
        self.clock = clock
        self.pricer = pricer
        self.engine: Engine | None = None
        self.sweeps: list[datetime] = []

    def sweep(self) -> Sweep:
        """Prices for every symbol the pricer names, as a vendor's quotes frame."""
        now = self.clock.now()
        self.sweeps.append(now)
        assert self.engine is not None
        prices = self.pricer(self.engine, now)
        if not prices:
            return Sweep(now, now, empty_quotes())
        frame = pd.DataFrame(
            {
                "symbol": list(prices),
                "price": list(prices.values()),
                "ts": pd.Series([pd.Timestamp(now)] * len(prices), dtype="datetime64[ns, UTC]"),
                "volume": np.nan,
                "delayed": False,
                "source": "scripted",
                "fetched_at": pd.Series([pd.Timestamp(now)] * len(prices), dtype="datetime64[ns, UTC]"),
            }
        )
        return Sweep(now, now, frame)


def _last_closes(engine: Engine) -> dict[str, float]:
    k = len(engine.panel) - 1
    return {s: float(engine.panel.prices.close[k, i]) for i, s in enumerate(engine.panel.symbols)}


def _run(settings: Settings, bars: pd.DataFrame, pricer: Pricer | None, run_id: str, **kwargs: object) -> object:
    clock = SimClock(at(LIVE_FROM, 6))
    quotes = ScriptedQuotes(clock, pricer) if pricer is not None else None
    orch = orchestrator(
        settings,
        RecordedFeed(bars),
        clock,
        run_id=run_id,
        quotes=quotes,
        on_engine=(lambda engine, _k: setattr(quotes, "engine", engine)) if quotes is not None else None,
        **kwargs,  # type: ignore[arg-type]
    )
    orch.run()
    return quotes


def test_a_protective_stop_crossed_between_closes_fills_at_the_quote_never_better(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, quotes_every_s=EVERY_S)
    crashed: dict[str, tuple[datetime, float]] = {}

    def pricer(engine: Engine, now: datetime) -> dict[str, float]:
        prices = _last_closes(engine)
        if crashed:
            return prices
        stops = [o for o in engine.broker.working if is_protective(o.id) and o.type is OrderType.STOP]
        if stops:  # the first protected long: its quote drops a dollar through the stop
            stop = stops[0]
            assert stop.stop_price is not None and stop.side is Side.SELL
            prices[stop.symbol] = float(stop.stop_price) - 1.0
            crashed[stop.symbol] = (now, prices[stop.symbol])
        return prices

    quotes = _run(settings, bars, pricer, "stopq", days=3)
    assert isinstance(quotes, ScriptedQuotes) and quotes.sweeps, "quotes were polled between closes"
    assert crashed, "the trend strategy held a protected position on these days"
    (symbol, (when, quote)) = next(iter(crashed.items()))
    repo = repository(settings)
    closes = [pd.Timestamp(t) for t in repo.load_equity("stopq", exact=True)["ts"]]
    assert pd.Timestamp(when) not in closes and closes[0] < pd.Timestamp(when) < closes[-1], "between two closes"
    fills = [f for f in repo.load_fills("stopq") if f.symbol == symbol and is_protective(f.order_id)]
    hit = [f for f in fills if f.ts == when]
    assert len(hit) == 1, "the stop filled at the quote's time, not at the next bar"
    assert hit[0].side is Side.SELL and hit[0].price <= Decimal(str(quote)), "a sell never beats the quote"
    assert hit[0].price >= Decimal(str(quote)) * Decimal("0.99"), "only the spread and slippage are charged"
    exits = [e for e in repo.load_events("stopq", [StopExited.KIND])]
    assert any(e.ts == when and e.payload["symbol"] == symbol for e in exits)
    marks = repo.load_events("stopq", [QuoteMarked.KIND])
    assert marks and all(pd.Timestamp(e.ts) not in closes for e in marks)
    assert check_run(repo, "stopq").ok, "the ledger rebuilt from the events matches the stored state"


def _crash_pricer(drop: float) -> tuple[Pricer, list[datetime]]:
    fired: list[datetime] = []

    def pricer(engine: Engine, now: datetime) -> dict[str, float]:
        prices = _last_closes(engine)
        if engine.ledger.positions and not fired:
            fired.append(now)
            return {s: p * (1 - drop) if s in engine.ledger.positions else p for s, p in prices.items()}
        return prices

    return pricer, fired


def _no_stops(home: Path, **live: object) -> Settings:
    base = live_settings(home, **live)
    risk = RiskSettings(protective_stops=False, drawdown_budget=False)
    return base.model_copy(update={"risk": risk})


def test_the_kill_switch_and_daily_limit_fire_at_a_quote_mark_and_the_book_flattens_at_the_quotes(
    tmp_path: Path,
) -> None:
    home, bars = prepared_home(tmp_path)
    settings = _no_stops(home, quotes_every_s=EVERY_S)
    pricer, crashed = _crash_pricer(0.5)
    _run(settings, bars, pricer, "killq", days=3)
    assert crashed, "the strategy held a position to crash"
    repo = repository(settings)
    kills = repo.load_events("killq", [KillSwitchFired.KIND])
    assert [e.ts for e in kills] == crashed, "the kill switch fired at the quote, between closes"
    daily = repo.load_events("killq", [DailyLossLimitHit.KIND])
    assert daily and daily[0].ts == crashed[0], "the daily loss limit judged the same quote mark"
    halts = repo.load_events("killq", [HaltChanged.KIND])
    assert halts and halts[0].ts == crashed[0] and halts[0].payload["halted"]
    flat = [e for e in repo.load_events("killq", [OrderFilled.KIND]) if e.ts == crashed[0]]
    assert flat, "the held positions were closed at their quotes"
    assert repo.load_positions("killq") == [] or all(p.qty == 0 for p in repo.load_positions("killq"))
    assert check_run(repo, "killq").ok


def test_a_resume_after_a_quote_kill_reproduces_the_state_without_the_quotes(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = _no_stops(home, quotes_every_s=EVERY_S)
    pricer, crashed = _crash_pricer(0.5)
    _run(settings, bars, pricer, "whole", days=3)
    assert crashed
    kill_at = crashed[0]

    pricer2, crashed2 = _crash_pricer(0.5)
    stop = {"now": False}

    def on_cycle(outcome: CycleOutcome) -> None:
        if outcome.ts > kill_at:  # the cycle after the kill is committed (it carries the quote fills)
            stop["now"] = True

    _run(settings, bars, pricer2, "split", days=3, on_cycle=on_cycle, should_stop=lambda: stop["now"])
    assert crashed2 == crashed
    # resume with no quote feed at all: the stored events carry what the quotes did
    clock = SimClock(max(kill_at, at(LIVE_FROM, 6)) + timedelta(hours=2))
    resumed = orchestrator(settings, RecordedFeed(bars), clock, run_id="split", resume=True, days=1)
    resumed.run()
    assert resumed.engine is not None and resumed.engine.halted is not None, "still halted after the resume"
    repo = repository(settings)
    assert stripped_state(repo, "split") == stripped_state(repo, "whole")
    assert check_run(repo, "split").ok


def test_quotes_off_leaves_a_live_run_exactly_as_it_was(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    off = live_settings(home)
    assert off.live.quotes_every_s is None
    polled: list[datetime] = []

    def pricer(engine: Engine, now: datetime) -> dict[str, float]:
        polled.append(now)
        return {}

    _run(off, bars, None, "plain", days=1)
    _run(off, bars, pricer, "offfeed", days=1)  # a feed handed over but the setting off: never polled
    assert polled == []
    repo = repository(off)
    assert stripped_state(repo, "plain") == stripped_state(repo, "offfeed")
    assert repo.load_events("offfeed", [QuoteMarked.KIND]) == []
