"""Operator controls act between cycles: pause holds the loop, flatten exits everything, stop ends cleanly."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from papertrader.config.settings import RiskSettings, Settings
from papertrader.engine.control import RunControl, bounded_wait
from papertrader.engine.live import LiveState
from papertrader.engine.panel import Panel
from papertrader.engine.runner import _controlled_pacer
from support import EngineFactory


def test_flatten_closes_every_position_and_reset_lets_trading_resume(
    etf_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    liquid = etf_daily[
        etf_daily["symbol"].isin(["SPY", "QQQ"]) & (etf_daily["ts"] < pd.Timestamp("2006-01-01", tz="UTC"))
    ]
    # only the operator halts or exits in this test: no kill switch, no protective stops
    no_kill_switch = Settings(risk=RiskSettings(max_drawdown=1.0, protective_stops=False))
    engine, events = engine_factory(liquid, no_kill_switch)
    control = RunControl()
    pace = _controlled_pacer(engine.panel, engine, control, paced=False)
    live = LiveState(engine, len(engine.panel))
    k = 0
    while not engine.ledger.positions or k < 300:  # run until the trend strategy holds something
        engine.step(k)
        k += 1

    def advance(cycles: int) -> None:
        nonlocal k
        for _ in range(cycles):
            pace(k)
            engine.step(k)
            k += 1

    control.request_flatten()
    advance(3)
    assert not engine.ledger.positions and engine.halted
    assert live.snapshot().halted and live.snapshot().positions == ()
    advance(50)
    assert not engine.ledger.positions, "no new risk while halted"
    control.request_reset()
    advance(len(engine.panel) - k)
    assert engine.halted is None and engine.ledger.positions
    assert [e.payload["halted"] for e in events if e.kind == "halt"] == [True, False]


def test_pause_blocks_the_next_cycle_until_resume(spy_daily: pd.DataFrame) -> None:
    control = RunControl()
    control.pause()
    released = threading.Event()

    def worker() -> None:
        control.wait_while_paused()
        released.set()

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.05)
    assert not released.is_set()
    control.resume()
    thread.join(timeout=60)  # a bound on a hang, not a speed requirement
    assert released.is_set()


def test_stop_cuts_a_long_replay_wait_short(spy_daily: pd.DataFrame) -> None:
    control = RunControl(speed=1.0)  # one market day would take a real day
    panel = Panel.from_long(spy_daily.iloc[:3], "1d")

    class _Halting:
        def halt(self, reason: str) -> None: ...

        def unhalt(self, reason: str) -> None: ...

    pace = _controlled_pacer(panel, _Halting(), control, paced=True)  # type: ignore[arg-type]
    timer = threading.Timer(0.05, control.stop)
    timer.start()
    started = time.monotonic()
    pace(1)
    assert time.monotonic() - started < 60, "cut short: the wait alone is a whole market day"
    assert control.should_stop()


@pytest.mark.parametrize("speed", [1e-6, 0.5, -1.0, float("nan"), float("inf"), 2e9])
def test_a_speed_the_loop_cannot_wait_for_is_refused_and_the_old_one_kept(speed: float) -> None:
    control = RunControl(speed=86_400.0)
    with pytest.raises(ValueError, match="speed must be 0"):
        control.set_speed(speed)
    assert control.speed == 86_400.0


def test_no_wait_length_can_make_the_replay_sleep_raise() -> None:
    control = RunControl(speed=1.0)
    control.stop()  # sets the wake event; each sleep below clears it, so use a timer for the long one
    for seconds in (float("nan"), -5.0, 0.0, float("-inf")):
        control.sleep(seconds)
    assert bounded_wait(86_400 / 1e-6) == threading.TIMEOUT_MAX
    timer = threading.Timer(0.05, control.stop)
    timer.start()
    control.sleep(float("inf"))  # 8.64e10 s overflowed threading's wait before; now it waits until stopped
    timer.join()
