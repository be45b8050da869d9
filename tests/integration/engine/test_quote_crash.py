"""A SIGKILL right after a quote filled a protective stop between bar closes: the fill was stored before it was
reported, so a resume ends in the same ledger as a run that never crashed.

Real hourly bars (shared data) drive the closes; a scripted quote drops one protected position through its stop
(test_live_quotes.py's pricer). The victim is a real process that kills itself with SIGKILL the moment
`Engine.on_quotes` returns from that fill; the resume runs in this process before the next bar close.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from live_support import LIVE_FROM, at, live_settings, orchestrator, prepared_home, repository, stripped_state
from test_live_quotes import EVERY_S, Pricer, ScriptedQuotes, _last_closes

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.domain.sessions import NEW_YORK
from papertrader.domain.types import OrderType, Side
from papertrader.engine.check import check_run
from papertrader.engine.cycle import Engine
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.protection import is_protective

HERE = Path(__file__).resolve().parent
DAYS = 3

#: the victim: the live loop with the stop-crossing pricer, killed by SIGKILL right after the quote's stop fill
CHILD = """
import os, signal, sys
from pathlib import Path
sys.path[:0] = [sys.argv[2], sys.argv[3]]
from live_support import LIVE_FROM, SYMBOLS, at, live_settings, load_shared_hourly, orchestrator
from test_quote_crash import DAYS, EVERY_S, ScriptedQuotes, stop_crossing_pricer
from papertrader.core.clock import SimClock
from papertrader.engine.feed import RecordedFeed

home, flag = Path(sys.argv[1]), Path(sys.argv[4])
settings = live_settings(home, quotes_every_s=EVERY_S)
bars = load_shared_hourly(SYMBOLS, LIVE_FROM.isoformat(), "2019-06-01")
clock = SimClock(at(LIVE_FROM, 6))
pricer, crossed = stop_crossing_pricer()
quotes = ScriptedQuotes(clock, pricer)

def wire(engine, _k):
    quotes.engine = engine
    real = engine.on_quotes
    def on_quotes(ts, prices, source="quotes"):
        out = real(ts, prices, source)
        if crossed:  # the stop filled at this quote and on_quotes has returned: die now, no cleanup
            flag.write_text(ts.isoformat())
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    engine.on_quotes = on_quotes

orchestrator(settings, RecordedFeed(bars), clock, run_id="victim", days=DAYS, quotes=quotes, on_engine=wire).run()
"""


def stop_crossing_pricer() -> tuple[Pricer, dict[str, tuple[datetime, float]]]:
    """Quotes at the last closes, except once: the first protected long's quote a dollar through its stop."""
    crossed: dict[str, tuple[datetime, float]] = {}

    def pricer(engine: Engine, now: datetime) -> dict[str, float]:
        prices = _last_closes(engine)
        if crossed:
            return prices
        stops = [o for o in engine.broker.working if is_protective(o.id) and o.type is OrderType.STOP]
        if stops:
            stop = stops[0]
            assert stop.stop_price is not None and stop.side is Side.SELL
            prices[stop.symbol] = float(stop.stop_price) - 1.0
            crossed[stop.symbol] = (now, prices[stop.symbol])
        return prices

    return pricer, crossed


def _reference(settings: Settings, bars: pd.DataFrame) -> dict[str, tuple[datetime, float]]:
    clock = SimClock(at(LIVE_FROM, 6))
    pricer, crossed = stop_crossing_pricer()
    quotes = ScriptedQuotes(clock, pricer)
    orch = orchestrator(
        settings,
        RecordedFeed(bars),
        clock,
        run_id="whole",
        days=DAYS,
        quotes=quotes,
        on_engine=lambda engine, _k: setattr(quotes, "engine", engine),
    )
    orch.run()
    return crossed


@pytest.mark.slow
def test_a_sigkill_right_after_a_quote_stop_fill_then_resume_equals_no_crash(tmp_path: Path) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home, quotes_every_s=EVERY_S)
    crossed = _reference(settings, bars)
    assert crossed, "the trend strategy held a protected position on these days"
    (symbol, (when, _quote)) = next(iter(crossed.items()))

    flag = tmp_path / "killed"
    env = {**os.environ, "PAPERTRADER_HOME": str(home)}
    victim = subprocess.run(
        [sys.executable, "-c", CHILD, str(home), str(HERE), str(HERE.parents[1]), str(flag)],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert victim.returncode == -signal.SIGKILL, victim.stderr.decode()[-2000:]
    killed_at = datetime.fromisoformat(flag.read_text())
    assert killed_at == when, "the victim died at the same quote that filled the reference's stop"

    repo = repository(settings)
    stored = [f for f in repo.load_fills("victim") if f.ts == killed_at]
    assert [(f.symbol, is_protective(f.order_id)) for f in stored] == [(symbol, True)], (
        "the stop's fill was durable before on_quotes returned"
    )
    assert check_run(repo, "victim").ok, "a ledger stored up to a quote checks out before any resume"

    # resume a minute later, before the next bar closes; the quotes go on at the last closes
    clock = SimClock(killed_at + timedelta(minutes=1))
    sessions = sorted(set(pd.DatetimeIndex(bars["ts"]).tz_convert(NEW_YORK).date))
    done = [d for d in sessions if d < killed_at.astimezone(NEW_YORK).date()]
    quotes = ScriptedQuotes(clock, lambda engine, _now: _last_closes(engine))
    resumed = orchestrator(
        settings,
        RecordedFeed(bars),
        clock,
        run_id="victim",
        resume=True,
        days=DAYS - len(done),
        quotes=quotes,
        on_engine=lambda engine, _k: setattr(quotes, "engine", engine),
    )
    resumed.run()
    assert stripped_state(repo, "victim") == stripped_state(repo, "whole"), "same orders, fills, cash and equity"
    assert check_run(repo, "victim").ok
