"""Backtest, replay, live and a resumed live run are all put together by the one composition root,
`engine.kernel.assemble`, on real hourly bars; the live run stores the config the kernel rehydrates."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from live_support import LIVE_FROM, SYMBOLS, at, live_settings, orchestrator, prepared_home, repository

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine import kernel
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.orchestrator import HISTORY_START_KEY
from papertrader.engine.runner import RunRequest, run


def test_backtest_replay_live_and_a_live_resume_are_assembled_by_the_one_kernel_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, bars = prepared_home(tmp_path)
    settings = live_settings(home)
    assembled: list[kernel.Assembly] = []
    real = kernel.assemble

    def recording(*args: Any, **kwargs: Any) -> kernel.Assembly:
        assembly = real(*args, **kwargs)
        assembled.append(assembly)
        return assembly

    monkeypatch.setattr(kernel, "assemble", recording)
    clock = SimClock(at(LIVE_FROM, 6))
    killed: list[datetime] = []

    def kill_after_three(outcome: CycleOutcome) -> None:
        if not killed and outcome.k == assembled[0].spec.first + 2:
            killed.append(clock.now())
            raise KeyboardInterrupt  # the process dies right after the cycle committed

    with pytest.raises(KeyboardInterrupt):
        orchestrator(settings, RecordedFeed(bars), clock, run_id="live", on_cycle=kill_after_three).run()
    orchestrator(settings, RecordedFeed(bars), SimClock(killed[0]), run_id="live", resume=True).run()
    start = datetime(2019, 5, 23, tzinfo=NEW_YORK)
    window = RunRequest(SYMBOLS, "1h", start, start + timedelta(days=1), mode="replay", run_id="replay")
    run(settings, window)
    run(settings, RunRequest(SYMBOLS, "1h", window.start, window.end, mode="backtest"), persist=False)

    live, resumed, replay, backtest = assembled
    assert [a.spec.mode for a in assembled] == ["live", "live", "replay", "backtest"]
    assert not live.restored and live.last_cycle == live.spec.first - 1
    assert resumed.spec.resume and resumed.restored and resumed.last_cycle == live.spec.first + 2
    assert resumed.spec.first == live.spec.first  # the board is rebuilt from the run's first traded cycle
    assert replay.spec.first == backtest.spec.first and backtest.row is None and backtest.recorder is None
    row = repository(settings).get_run("live")
    assert row is not None and HISTORY_START_KEY in row.config  # the live run's own key, stored by the kernel
    back = kernel.stored_settings(row.config, Settings(home=home))
    assert back.strategy.fast == settings.strategy.fast and back.live == settings.live
