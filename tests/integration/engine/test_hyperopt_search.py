"""`papertrader hyperopt` on the bundled real data: deterministic, resumable, and blind to the held-out test."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.data.adapters.bundled import import_bundled
from papertrader.data.store import Lake
from papertrader.engine.hyperopt import search
from papertrader.engine.runner import RunRequest, RunResult, run
from papertrader.models.scaleout import init_ray, mapper, shutdown

SYMBOLS = ("AAPL", "MSFT")
START = datetime(2010, 1, 1, tzinfo=UTC)
END = datetime(2012, 1, 1, tzinfo=UTC)
cli = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled real data imported once."""
    path = tmp_path_factory.mktemp("hyperopt-home")
    import_bundled(Lake(path / "lake"))
    return path


def _search(home: Path, study: str, trials: int = 3, **kw: Any) -> Any:
    return search(Settings(home=home), SYMBOLS, START, END, trials=trials, folds=2, study_name=study, **kw)


def test_the_same_seed_gives_the_same_trials_and_scores(home: Path) -> None:
    a, b = _search(home, "det-a"), _search(home, "det-b")
    assert [r.to_json() for r in a.best] == [r.to_json() for r in b.best]
    assert len(a.best) == 3


def test_rerunning_a_study_adds_new_trials_to_it(home: Path) -> None:
    first = _search(home, "resume", trials=2)
    second = _search(home, "resume", trials=1)
    assert (first.trials_total, second.trials_total, second.trials_added) == (2, 3, 1)
    params = [tuple(sorted(r.params.items())) for r in second.best]
    assert len(set(params)) == 3  # the resumed sampler does not replay the first trials


def test_a_study_refuses_to_resume_with_different_folds(home: Path) -> None:
    _search(home, "fixed-folds", trials=1)
    with pytest.raises(ConfigError, match="not be comparable"):
        search(Settings(home=home), SYMBOLS, START, END, trials=1, folds=3, study_name="fixed-folds")


def test_the_search_never_backtests_the_held_out_test_window(home: Path) -> None:
    requests: list[RunRequest] = []

    def spy(settings: Settings, request: RunRequest, **kw: Any) -> RunResult:
        requests.append(request)
        return run(settings, request, **kw)

    outcome = _search(home, "blind", runner=spy)
    test = outcome.plan.test
    assert test is not None and test.end == END
    assert len(requests) == (3 + 1) * 2  # three trials and the baseline, two folds each
    assert all(r.end is not None and r.end <= test.start for r in requests)
    assert outcome.final_test is None

    requests.clear()
    looked = _search(home, "blind", trials=0, runner=spy, with_test=True)
    assert [(r.start, r.end) for r in requests if r.start is not None and r.start >= test.start] == [
        (test.start, test.end)
    ] * 2  # the best trial and the baseline, once each
    assert looked.final_test is not None and looked.final_test["looks"] == 1
    assert looked.final_test["trial"] == looked.best[0].number


def test_ctrl_c_ends_the_search_and_keeps_the_finished_trials(home: Path) -> None:
    calls: list[RunRequest] = []

    def interrupted_on_the_fifth_backtest(settings: Settings, request: RunRequest, **kw: Any) -> RunResult:
        calls.append(request)
        if len(calls) == 5:  # trial 0 (2 folds) and the baseline (2 folds) finished; trial 1 is cut
            raise KeyboardInterrupt
        return run(settings, request, **kw)

    outcome = _search(home, "ctrl-c", trials=3, runner=interrupted_on_the_fifth_backtest, with_test=True)
    assert outcome.interrupted
    assert [row.number for row in outcome.best] == [0]
    assert outcome.final_test is None  # no look at the test after an interrupted search
    assert _search(home, "ctrl-c", trials=1).trials_total == 3  # the study is still there to continue


def test_cli_writes_the_json_report_with_fold_spread_and_caveat(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "h.json"
    args = ["hyperopt", "--symbols", "AAPL,MSFT", "--start", "2010-01-01", "--end", "2012-01-01"]
    args += ["--trials", "2", "--folds", "2", "--study", "cli", "--json", str(out)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "160")
        result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "best of 2 trials" in result.output.replace("\n", " ")
    report = json.loads(out.read_text())
    assert set(report) == {
        "study",
        "storage",
        "setup",
        "folds",
        "test_window",
        "trials_total",
        "trials_added",
        "score",
        "baseline",
        "best",
        "final_test",
        "interrupted",
        "caveat",
    }
    assert set(report["best"][0]) == {"number", "params", "score", "fold_excess_sharpe", "fold_sharpe", "std", "min"}
    assert len(report["best"][0]["fold_excess_sharpe"]) == len(report["folds"]) == 2
    assert report["final_test"] is None
    assert (home / "hyperopt.db").stat().st_mode & 0o077 == 0  # owner-only, like the run ledger


def test_cli_refuses_too_many_folds_for_the_window_with_a_clear_error(home: Path) -> None:
    args = ["hyperopt", "--symbols", "AAPL", "--start", "2011-01-01", "--end", "2011-03-01", "--folds", "5"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert "each fold needs at least" in result.output


def test_cli_refuses_fewer_than_one_worker(home: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        result = cli.invoke(app, ["hyperopt", "--symbols", "AAPL", "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output


@pytest.mark.slow
def test_cli_workers_score_trials_on_a_local_ray_as_in_process(home: Path, tmp_path: Path) -> None:
    """`--workers 2` alone (no --ray) scores batches of two trials on a local Ray, as the same batches in-process."""
    local = _search(home, "cli-local", trials=2, batch=2)
    out = tmp_path / "hyperopt.json"
    args = ["--symbols", ",".join(SYMBOLS), "--start", "2010-01-01", "--end", "2012-01-01", "--folds", "2"]
    with tempfile.TemporaryDirectory(prefix="pt-ray-") as ray_dir, pytest.MonkeyPatch.context() as mp:
        init_ray(num_cpus=2, temp_dir=ray_dir)  # hermetic: the command reuses it and disconnects at its end
        mp.setenv("PAPERTRADER_HOME", str(home))
        result = cli.invoke(
            app, ["hyperopt", *args, "--trials", "2", "--study", "cli-ray", "--workers", "2", "--json", str(out)]
        )
        shutdown()
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["best"] == [r.to_json() for r in local.best]


@pytest.mark.slow
def test_trials_on_a_local_ray_score_the_same_as_in_process(home: Path) -> None:
    local = _search(home, "batch-local", trials=4, batch=2)
    try:
        on_ray = _search(home, "batch-ray", trials=4, batch=2, map_fn=mapper(None, use_ray=True, num_cpus=2))
    finally:
        shutdown()
    assert [r.to_json() for r in on_ray.best] == [r.to_json() for r in local.best]
    assert on_ray.trials_total == 4
