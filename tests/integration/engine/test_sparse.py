"""Sparse stepping changes nothing: a backtest that skips quiet cycles stores exactly what stepping every cycle stores.

Real bundled bars, the windows of tests/integration/persistence/test_pinned_events.py: 2008 with tight loss limits
(the kill switch fires, the daily limit flattens) and AAPL's 2005 split with dividends and protective stops, each
with and without the intrabar drawdown guard (its budget in sizing too), and AAPL alone (the one-symbol path). Each
run goes twice through `runner.run`, once with `sparse=False` (Engine.step on every cycle) and once sparse; every
stored row of orders, fills, positions, equity and events must be the same, byte for byte (run ids aside).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import RiskSettings, Settings
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.cycle import Engine
from papertrader.engine.runner import RunRequest, RunResult, run

SYMBOLS = ("AAPL", "MSFT", "IBM")
TABLES = ("orders", "fills", "positions", "equity", "events")
RUNS = {
    "2008_limits_kill_switch": (
        datetime(2007, 6, 1, tzinfo=NEW_YORK),
        datetime(2009, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(
            protective_stops=False,
            drawdown_budget=False,
            max_drawdown=0.06,
            daily_loss_limit=0.01,
            flatten_on_daily_limit=True,
        ),
    ),
    "2005_split_dividends_stops": (
        datetime(2004, 6, 1, tzinfo=NEW_YORK),
        datetime(2006, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(drawdown_budget=False, max_drawdown=0.05),
    ),
    "2005_split_stops_no_vol_target": (
        datetime(2004, 6, 1, tzinfo=NEW_YORK),
        datetime(2006, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(drawdown_budget=False, vol_target=None, max_drawdown=0.2),
    ),
    "2005_aapl_alone_split_stops": (
        datetime(2004, 6, 1, tzinfo=NEW_YORK),
        datetime(2006, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(drawdown_budget=False, max_drawdown=0.2),
    ),
    "2008_limits_guard": (
        datetime(2007, 6, 1, tzinfo=NEW_YORK),
        datetime(2009, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(protective_stops=False, max_drawdown=0.06, daily_loss_limit=0.01, flatten_on_daily_limit=True),
    ),
    "2005_split_stops_guard": (
        datetime(2004, 6, 1, tzinfo=NEW_YORK),
        datetime(2006, 1, 1, tzinfo=NEW_YORK),
        RiskSettings(drawdown_budget=True, max_drawdown=0.05),
    ),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sparsehome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = CliRunner().invoke(app, ["data", "import", "--source", "bundled"])
        assert result.exit_code == 0, result.output
    return path


def _stored(home: Path, run_id: str) -> dict[str, list[str]]:
    """Every row the run stored per table, as text, with its run id blanked (order ids embed it)."""
    out: dict[str, list[str]] = {}
    with sqlite3.connect(home / "papertrader.db") as db:
        for table in TABLES:
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
            rows = db.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ? ORDER BY rowid", (run_id,))
            out[table] = ["\t".join(map(str, row)).replace(run_id, "RUN") for row in rows]
    return out


def _run(home: Path, name: str, sparse: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, Engine]:
    start, end, risk = RUNS[name]
    monkeypatch.setenv("PAPERTRADER_HOME", str(home))
    engines: list[Engine] = []
    symbols = ("AAPL",) if "alone" in name else SYMBOLS  # one symbol: the risk engine's float fast path
    request = RunRequest(symbols=symbols, start=start, end=end, run_id=f"{name}-{'sparse' if sparse else 'full'}")
    result = run(Settings(risk=risk), request, sparse=sparse, on_engine=lambda e, _n: engines.append(e))
    return result, engines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_sparse_backtest_stores_exactly_what_stepping_every_cycle_stores(
    name: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, full_engine = _run(home, name, False, monkeypatch)
    sparse, engine = _run(home, name, True, monkeypatch)
    assert full_engine.sparse is None
    assert engine.sparse is not None and engine.sparse.skipped > 0, "sparse stepping skipped nothing"
    assert engine.sparse.stepped + engine.sparse.skipped == len(full.equity)
    assert full.final_equity == sparse.final_equity
    assert np.array_equal(full.equity, sparse.equity)
    assert [f.__repr__() for f in full.fills] == [f.__repr__().replace("-sparse", "-full") for f in sparse.fills]
    assert full.extra["kill_switch"] == sparse.extra["kill_switch"]
    assert full.extra["halted"] == sparse.extra["halted"]
    if name.startswith("2008_limits_kill"):
        assert sparse.extra["kill_switch"]["fired"], "this window is meant to fire the kill switch"
    stored_full = _stored(home, f"{name}-full")
    stored_sparse = _stored(home, f"{name}-sparse")
    for table in TABLES:
        assert stored_full[table] == stored_sparse[table], f"{table} rows differ"
    assert stored_full["fills"], "the window traded nothing"
