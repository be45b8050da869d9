"""A killed ensemble replay resumes exactly: same orders, fills and equity as the run that was never stopped.

The board has memory (the monitor's records and weight multipliers, the PPO member's own book, previous targets
for symbols without a view, drift state), so a resume must rebuild it: `Engine.restore` hands the committed
cycles to `Ensemble.replay`. Real bundled bars, tiny registered models stamped to vote (`voting_board_home`:
the tiny models fail the real gate, and a resume must rebuild the model members' state too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

SYMBOLS = ("AAPL", "IBM", "MSFT")  # the symbols board_home's models were trained on
START, END = datetime(2011, 6, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC)
STOP_AFTER = 130  # well after the monitor's records start moving weights (min_obs pairs scored)


def _request(run_id: str, resume: bool = False) -> RunRequest:
    return RunRequest(SYMBOLS, "1d", START, END, mode="replay", run_id=run_id, resume=resume)


@pytest.mark.slow
def test_a_resumed_ensemble_replay_equals_the_uninterrupted_one(voting_board_home: Path) -> None:
    settings = Settings(
        home=voting_board_home, strategy=StrategySettings(name="ensemble"), board=BoardSettings(calibration_bars=120)
    )
    whole = run(settings, _request("board-whole"))

    cycles = 0

    def stop() -> bool:
        nonlocal cycles
        cycles += 1
        return cycles > STOP_AFTER

    cut = run(settings, _request("board-split"), should_stop=stop)
    assert len(cut.ts) == STOP_AFTER < len(whole.ts)
    resumed = run(settings, _request("board-split", resume=True))

    repo = RunRepository(make_engine(settings.db_url))

    def orders(run_id: str) -> list[tuple[object, ...]]:
        return [(o.created_at, o.symbol, o.side, o.qty, o.status) for o in repo.load_orders(run_id)]

    def fills(run_id: str) -> list[tuple[object, ...]]:
        return [(f.ts, f.symbol, f.side, f.qty, f.price, f.fee) for f in repo.load_fills(run_id)]

    assert len(fills("board-whole")) > 0
    assert orders("board-split") == orders("board-whole")
    assert fills("board-split") == fills("board-whole")
    assert resumed.equity.tolist() == whole.equity.tolist()
    assert resumed.final_equity == whole.final_equity
    split_monitor = [e.payload for e in repo.load_events("board-split", ["monitor.records"])]
    whole_monitor = [e.payload for e in repo.load_events("board-whole", ["monitor.records"])]
    assert split_monitor == whole_monitor, "the monitor's records continue as if never stopped"
