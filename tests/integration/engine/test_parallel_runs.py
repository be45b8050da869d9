"""Trial windows and compare rows on a local Ray (`--workers 2`) give the same results and store the same rows as
running them one after another, on the bundled real bars."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.bundled import import_bundled
from papertrader.data.store import Lake
from papertrader.engine.compare import compare_table, run_compare
from papertrader.engine.parallel import Workers, store_of
from papertrader.engine.trial import TrialRequest, run_trial
from papertrader.models.scaleout import init_ray, shutdown
from papertrader.persistence.transfer import export_run

SYMBOLS = ("AAPL", "MSFT")
WALL_CLOCK = ("created_at", "finished_at")  # when the row was written, not what the run did


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled real data imported once."""
    path = tmp_path_factory.mktemp("parallel-home")
    import_bundled(Lake(path / "lake"))
    return path


@pytest.fixture(scope="module")
def ray_dir() -> Iterator[str]:
    """A short private folder for Ray's session files and sockets (a socket path must stay under 108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="pt-ray-") as path:
        yield path
        shutdown()


def _local_ray(ray_dir: str) -> None:
    init_ray(num_cpus=2, temp_dir=ray_dir)  # local, no dashboard, ports picked by the OS; reused if running


def _settings(home: Path, db: str) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / db}")


def _stored(settings: Settings, run_id: str, rename: str) -> str:
    """A run's stored rows as text, its id replaced by `rename`, the wall-clock stamps and latencies left out."""
    stored = export_run(store_of(settings).engine, run_id)
    tables: list[Any] = []
    for name, rows in stored.tables:
        kept = []
        for row in rows:
            row = {k: v for k, v in row.items() if k not in WALL_CLOCK}
            if isinstance(row.get("summary"), dict):
                row["summary"] = {k: v for k, v in row["summary"].items() if k != "cycle_latency"}
            kept.append(row)
        tables.append((name, kept))
    assert any(rows for _, rows in tables), f"{run_id} stored nothing"
    return json.dumps(tables, default=str, sort_keys=True).replace(run_id, rename)


@pytest.mark.slow
def test_trial_windows_on_ray_score_and_store_the_same_as_one_after_another(home: Path, ray_dir: str) -> None:
    request = TrialRequest(days=5, windows=3, symbols=SYMBOLS)
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    here = _settings(home, "sequential.db")
    sequential = run_trial(here, request, clock)
    _local_ray(ray_dir)
    there = _settings(home, "parallel.db")
    seen: list[int] = []
    parallel = run_trial(there, request, clock, workers=Workers(2), on_window=lambda s: seen.append(s.index))
    assert seen == [1, 2, 3]  # progress hears every window, in order
    a, b = sequential.plan.trial_id, parallel.plan.trial_id
    assert json.dumps(sequential.to_json()).replace(a, "T") == json.dumps(parallel.to_json()).replace(b, "T")
    assert any(w.trades for w in sequential.scores)
    for score in sequential.scores:
        twin = score.run_id.replace(a, b)
        assert _stored(here, score.run_id, "RUN") == _stored(there, twin, "RUN")


@pytest.mark.slow
def test_compare_rows_on_ray_equal_and_store_the_same_as_one_after_another(home: Path, ray_dir: str) -> None:
    window = (datetime(2009, 1, 1, tzinfo=UTC), datetime(2010, 1, 1, tzinfo=UTC))
    here, there = _settings(home, "compare-seq.db"), _settings(home, "compare-par.db")
    ts, lines, info = run_compare(here, SYMBOLS, *window, members=("trend",), persist=True)
    _local_ray(ray_dir)
    ts2, lines2, info2 = run_compare(there, SYMBOLS, *window, members=("trend",), persist=True, workers=Workers(2))
    assert ts.equals(ts2)
    assert [line.name for line in lines] == [line.name for line in lines2]
    assert compare_table(lines) == compare_table(lines2)
    assert all(x.equity.tolist() == y.equity.tolist() for x, y in zip(lines, lines2, strict=True))
    runs, runs2 = info.pop("runs"), info2.pop("runs")
    assert json.dumps(info, default=str) == json.dumps(info2, default=str)
    assert list(runs) == list(runs2) and len(runs) == 4  # board, per-symbol board, the member, trend baseline
    for name, run_id in runs.items():
        assert _stored(here, run_id, "RUN") == _stored(there, runs2[name], "RUN")


@pytest.mark.slow
def test_trial_command_with_workers_runs_every_window_on_ray(home: Path, ray_dir: str, tmp_path: Path) -> None:
    _local_ray(ray_dir)
    out = tmp_path / "trial.json"
    args = ["trial", "--days", "5", "--windows", "2", "--symbols", ",".join(SYMBOLS), "--workers", "2"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        done = CliRunner().invoke(app, [*args, "--json", str(out), "--html", str(tmp_path / "t.html")])
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    assert [w["index"] for w in data["windows"]] == [1, 2]
    repo = store_of(Settings(home=home))
    assert all(repo.get_run(w["run_id"]) is not None for w in data["windows"])  # copied into the home's store
