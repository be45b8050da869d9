"""`papertrader hyperopt --strategy ensemble` on the bundled real data, with tiny (`--small`) LSTMs: every fold's
models train only on bars before the fold, no trial touches the held-out test, board-only changes never retrain,
and a resumed study continues."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.data.adapters.bundled import import_bundled
from papertrader.data.store import Lake
from papertrader.engine.hyperopt import search
from papertrader.engine.runner import RunRequest, RunResult, run
from papertrader.models.registry import MEMBER_FAMILY, Registry
from papertrader.models.training import train_and_register

pytestmark = pytest.mark.torch  # trains LSTMs

SYMBOLS = ("AAPL", "MSFT")
START = datetime(2010, 1, 1, tzinfo=UTC)
END = datetime(2012, 1, 1, tzinfo=UTC)
CALIBRATION_BARS = 60


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled real data imported once (its fold model registries are shared by the tests)."""
    path = tmp_path_factory.mktemp("hyperboard-home")
    import_bundled(Lake(path / "lake"))
    return path


def board_settings(home: Path) -> Settings:
    """The board of the LSTM and the trend member, calibrated on 60 bars (the bundled years are short)."""
    base = Settings(home=home)
    return base.model_copy(
        update={
            "strategy": base.strategy.model_copy(update={"name": "ensemble"}),
            "board": base.board.model_copy(update={"members": ("lstm", "trend"), "calibration_bars": CALIBRATION_BARS}),
        }
    )


class Spies:
    """What the search backtested and what each trained model was given."""

    def __init__(self) -> None:
        self.requests: list[RunRequest] = []
        self.trained: list[tuple[pd.Timestamp, dict[str, Any], Path]] = []

    def runner(self, settings: Settings, request: RunRequest, **kw: Any) -> RunResult:
        self.requests.append(request)
        return run(settings, request, **kw)

    def trainer(self, bars: pd.DataFrame, options: Any, registry: Registry, costs: Any, external: Any) -> Any:
        self.trained.append((pd.Timestamp(bars["ts"].max()), dict(options.params), registry.root))
        return train_and_register(bars, options, registry, costs, external)


def _search(home: Path, study: str, spies: Spies, trials: int, **kw: Any) -> Any:
    return search(
        board_settings(home),
        SYMBOLS,
        START,
        END,
        trials=trials,
        folds=2,
        study_name=study,
        small=True,
        runner=spies.runner,
        trainer=spies.trainer,
        **kw,
    )


@pytest.mark.slow
def test_board_trials_never_see_the_test_window_and_fold_models_never_see_their_fold(home: Path) -> None:
    spies = Spies()
    outcome = _search(home, "board-blind", spies, trials=2)
    test, folds = outcome.plan.test, outcome.plan.folds
    assert test is not None and test.end == END
    assert spies.requests and all(r.end is not None and r.end <= test.start for r in spies.requests)
    assert outcome.final_test is None

    # each board run pins models from the registry of its own fold; every model there saw only bars before it
    board_runs = [r for r in spies.requests if r.models_home is not None]
    assert len(board_runs) == 2 * 2  # two trials, two folds each (the trend baseline needs no models)
    assert spies.trained, "the first trials train their fold's models"
    for request in board_runs:
        fold_start = pd.Timestamp(request.start)
        registry = Registry(request.models_home)  # type: ignore[arg-type]
        for member, version in request.versions:
            window = registry.manifest(MEMBER_FAMILY[member], version).training_window
            assert pd.Timestamp(window["data_end"]) < fold_start - pd.Timedelta(days=CALIBRATION_BARS)
    for last_bar, _params, root in spies.trained:
        fold = next(w for w in folds if any(r.models_home == root.parent and r.start == w.start for r in board_runs))
        assert last_bar < pd.Timestamp(fold.start), "a model trained on a bar at or after its fold's start"

    # the held-out test is run only on request, on models trained before the test window
    spies.requests.clear()
    spies.trained.clear()
    looked = _search(home, "board-blind", spies, trials=0, with_test=True)
    assert looked.final_test is not None and looked.final_test["looks"] == 1
    looks = [(r.start, r.end) for r in spies.requests if r.start is not None and r.start >= test.start]
    assert looks == [(test.start, test.end)] * 2  # the best trial and the baseline, once each
    assert all(r.end is not None and r.end <= test.start for r in spies.requests if r.start < test.start)  # type: ignore[operator]
    assert all(last < pd.Timestamp(test.start) for last, _p, _r in spies.trained)


@pytest.mark.slow
def test_board_only_changes_reuse_the_fold_models_and_a_resumed_study_continues(home: Path) -> None:
    spies = Spies()
    first = _search(home, "board-resume", spies, trials=1)
    trained_first = len(spies.trained)
    assert trained_first <= 2  # at most one LSTM per fold, however many board values the trial sampled

    same = _search(home, "board-resume-twin", spies, trials=1)  # same seed: same model values, already trained
    assert len(spies.trained) == trained_first, "a trial whose model values were trained for the fold retrains"
    assert [r.to_json() for r in same.best] == [r.to_json() for r in first.best]

    resumed = _search(home, "board-resume", spies, trials=1)
    assert (first.trials_total, resumed.trials_total, resumed.trials_added) == (1, 2, 1)
    params = [tuple(sorted(r.params.items())) for r in resumed.best]
    assert len(set(params)) == 2, "the resumed sampler does not replay the first trial"
    board = resumed.to_json()["board"]
    assert board["trials"] == 2 and 0 <= board["trials_with_voting_models"] <= board["trials_with_any_voting_model"]


@pytest.mark.slow
def test_cli_searches_the_board_with_small_models_and_reports_who_voted(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.json"
    args = ["hyperopt", "--strategy", "ensemble", "--small", "--symbols", "AAPL,MSFT", "--start", "2010-01-01"]
    args += ["--end", "2012-01-01", "--trials", "1", "--folds", "2", "--study", "board-cli", "--json", str(out)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("PAPERTRADER_BOARD__MEMBERS", '["lstm", "trend"]')
        mp.setenv("PAPERTRADER_BOARD__CALIBRATION_BARS", str(CALIBRATION_BARS))
        mp.setenv("COLUMNS", "200")
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "trials had a model member voting on every fold" in result.output.replace("\n", " ")
    report = json.loads(out.read_text())
    assert report["setup"]["strategy"] == "ensemble" and report["setup"]["small"] is True
    assert {"model.lstm.hidden", "board.weight.lstm", "board.min_edge"} <= set(report["best"][0]["params"])
    assert set(report["board"]) >= {"trials", "trials_with_voting_models", "member_voted_in_trials"}
