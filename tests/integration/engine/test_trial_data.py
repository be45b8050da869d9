"""A trial reads its bars once and gives each window the prefix of that panel (engine/trial_data.py), commits each
window in one transaction and shares one run store: on the bundled real bars every window's panel equals its own
load from the lake, and every window stores the same rows and scores the same as a plain replay of that window
(`paper --replay`: its own lake load, a commit per cycle on the writer thread, its own database engine)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data.adapters.bundled import import_bundled
from papertrader.data.store import Lake
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, load_panel, run
from papertrader.engine.trial import TrialRequest, Window, open_repository, plan_trial, run_trial, trial_bars
from papertrader.engine.trial_data import TrialBars
from papertrader.persistence.transfer import export_run

WALL_CLOCK = ("created_at", "finished_at")  # when a row was written, not what the run did
FIELDS = ("open", "high", "low", "close", "volume")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled real data imported once."""
    path = tmp_path_factory.mktemp("trial-data-home")
    import_bundled(Lake(path / "lake"))
    return path


def _same_panel(a: Panel, b: Panel) -> None:
    assert (a.interval, a.symbols) == (b.interval, b.symbols)
    assert a.ts.equals(b.ts) and str(a.ts.dtype) == str(b.ts.dtype)
    assert np.array_equal(a.open_times.ns, b.open_times.ns) and np.array_equal(a.close_times.ns, b.close_times.ns)
    for f in FIELDS:
        x, y = getattr(a.prices, f), getattr(b.prices, f)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f
    assert (a.as_traded is None) == (b.as_traded is None)
    if a.as_traded is not None and b.as_traded is not None:
        for f in FIELDS:
            assert np.array_equal(getattr(a.as_traded.prices, f), getattr(b.as_traded.prices, f), equal_nan=True)
        for name in ("factor", "splits", "dividends"):
            assert np.array_equal(getattr(a.as_traded, name), getattr(b.as_traded, name)), name


def _around(day: str) -> list[Window]:
    """Hand-made seven-session windows ending just before, on and just after a corporate action's ex-date."""
    ex = datetime.fromisoformat(day).replace(hour=5, tzinfo=UTC)
    return [Window(100 + k, 0, ex + timedelta(days=k - 12), ex + timedelta(days=k), 7) for k in (-1, 0, 1)]


def test_each_windows_prefix_of_the_trial_panel_equals_its_own_load_from_the_lake(home: Path) -> None:
    settings = Settings(home=home)
    plan = plan_trial(settings, TrialRequest(days=7, windows=40), "trial-prefix")
    bars = trial_bars(settings, plan)
    assert bars is not None, "AAPL, IBM and MSFT have their splits and dividends stored"
    lake = Lake(settings.lake_dir)
    # MSFT's 2:1 split of 2003-02-18, AAPL's of 2005-02-28 and two dividends, each at a window's last bar
    windows = [
        *plan.windows,
        *_around("2003-02-18"),
        *_around("2005-02-28"),
        *_around("2012-08-09"),
        *_around("2013-02-19"),
    ]
    for window in windows:
        request = window.request(plan.symbols, plan.interval, "w")
        prefix, first = bars.window(lake, request)
        own, own_first = load_panel(lake, request)
        assert first == own_first
        _same_panel(prefix, own)
    placed = bars.panel.as_traded
    assert placed is not None and (placed.splits != 1.0).sum() >= 2 and (placed.dividends > 0).sum() > 10
    later = replace(plan.windows[-1].request(plan.symbols, plan.interval, "w"), end=bars.end + timedelta(days=1))
    with pytest.raises(DataError, match="no later than the bars the trial loaded"):
        bars.window(lake, later)  # never a window cut short silently


def test_a_symbol_whose_actions_would_be_read_off_its_factor_loads_each_window_itself(home: Path) -> None:
    lake = Lake(home / "lake")
    end = datetime(2010, 1, 1, tzinfo=UTC)
    assert TrialBars.load(lake, ("AAPL", "GOOG"), "1d", end) is None  # GOOG has no stored actions
    assert TrialBars.load(lake, ("AAPL", "IBM"), "1d", end) is not None


def _stored(settings: Settings, run_id: str) -> str:
    """A run's stored rows as text, its id replaced, the wall-clock stamps and latencies left out."""
    tables: list[Any] = []
    for name, rows in export_run(open_repository(settings).engine, run_id).tables:
        kept = []
        for row in rows:
            row = {k: v for k, v in row.items() if k not in WALL_CLOCK}
            if isinstance(row.get("summary"), dict):
                row["summary"] = {k: v for k, v in row["summary"].items() if k != "cycle_latency"}
            kept.append(row)
        tables.append((name, kept))
    assert any(rows for name, rows in tables if name == "equity"), f"{run_id} stored no cycle"
    return json.dumps(tables, default=str, sort_keys=True).replace(run_id, "RUN")


def test_every_trial_window_stores_and_scores_the_same_as_a_plain_replay_of_it(home: Path) -> None:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'trial.db'}")
    alone = Settings(home=home, database_url=f"sqlite:///{home / 'alone.db'}")
    trial = run_trial(settings, TrialRequest(days=7, windows=6), SimClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert sum(s.trades for s in trial.scores) > 0, "the windows trade"
    for window, score in zip(trial.plan.windows, trial.scores, strict=True):
        request = RunRequest(
            symbols=trial.plan.symbols,
            interval="1d",
            start=window.start,
            end=window.end + timedelta(microseconds=1),
            mode="replay",
            run_id=f"alone-{window.index}",
        )
        replay = run(alone, request)  # what `paper --replay` does: every cycle committed on the writer thread
        assert score.equity == tuple(float(x) for x in replay.equity)
        assert score.trades == replay.metrics.trades and score.total_return == replay.metrics.total_return
        assert score.failures == () and score.uptime == 1.0
        assert _stored(settings, score.run_id) == _stored(alone, request.run_id or "")
