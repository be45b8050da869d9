"""Live paper trading runs the AI board: the same factory, features rebuilt per bar, retrained models picked up.

Real bundled daily bars of AAPL, IBM and MSFT; tiny LSTM, GRU and PPO trained with
`papertrader train all --small --until 2011-01-01`, so every live window below is out of sample. A SimClock
drives the day plans and a RecordedFeed serves the bars as they close. The tiny models fail the quality gate,
so their manifests get a stamped passing gate (`gate_support`): these tests are about the board trading them.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from live_support import stripped_state
from typer.testing import CliRunner

from gate_support import stamp_passing_gate
from papertrader.cli import app
from papertrader.config.board import BoardSettings
from papertrader.config.live import LiveSettings
from papertrader.config.settings import CostSettings, Settings, StrategySettings
from papertrader.core.clock import SimClock
from papertrader.data.store import Lake
from papertrader.domain.sessions import NEW_YORK
from papertrader.engine.cycle import CycleOutcome
from papertrader.engine.feed import RecordedFeed
from papertrader.engine.orchestrator import (
    REBUILT,
    BackgroundRetrainer,
    LiveOrchestrator,
    LiveRequest,
    ModelUpdate,
    retraining_bars,
)
from papertrader.engine.runner import RunRequest, run
from papertrader.models.holdout import CALIBRATION_MARGIN_BARS
from papertrader.models.loading import load_version
from papertrader.models.registry import Registry
from papertrader.models.training import TrainOptions, train_and_register
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository
from papertrader.signals.ensemble import Ensemble

SYMBOLS = ("AAPL", "IBM", "MSFT")
UNTIL = "2011-01-01"
#: 2011-06-01 is a Wednesday; the live windows start there, five months after the models' data ends
LIVE_FROM = date(2011, 6, 1)


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled lake and tiny models trained on bars before UNTIL (once for the module)."""
    home = tmp_path_factory.mktemp("live-board")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        runner = CliRunner()
        assert runner.invoke(app, ["data", "import", "--source", "bundled"]).exit_code == 0
        trained = runner.invoke(app, ["train", "all", "--small", "--until", UNTIL, "--symbols", ",".join(SYMBOLS)])
        assert trained.exit_code == 0, trained.output
    stamp_passing_gate(home)
    return home


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A private copy of the trained home (its registry and database are this test's to change)."""
    copy = tmp_path / "home"
    shutil.copytree(trained_home, copy)
    return copy


def _settings(home: Path, **live: Any) -> Settings:
    """The ensemble, with a history reaching back to the lake's first bar (so live and replay share the panel)."""
    return Settings(
        home=home,
        strategy=StrategySettings(name="ensemble"),
        board=BoardSettings(calibration_bars=120),
        live=LiveSettings(**{"retrain_weekdays": (), "history_days": 20_000, **live}),
    )


def _repo(settings: Settings) -> RunRepository:
    db = make_engine(settings.db_url)
    init_db(db)
    return RunRepository(db)


def _feed(home: Path) -> RecordedFeed:
    """The live days' real bars, served only once closed."""
    bars = Lake(home / "lake").read_bars(list(SYMBOLS), "1d", pd.Timestamp(LIVE_FROM, tz=NEW_YORK), None)
    return RecordedFeed(bars)


def _orchestrator(settings: Settings, days: int, run_id: str = "live", **kwargs: Any) -> LiveOrchestrator:
    return LiveOrchestrator(
        settings,
        LiveRequest(SYMBOLS, "1d", run_id=run_id, days=days),
        feed=_feed(settings.home),
        clock=SimClock(datetime.combine(LIVE_FROM, time(6), NEW_YORK)),
        lake=Lake(settings.lake_dir),
        repo=_repo(settings),
        **kwargs,
    )


def _member_versions(strategy: object) -> dict[str, str]:
    assert isinstance(strategy, Ensemble)
    return {m.name: str(getattr(m, "version", "")) for m in strategy.members}


def test_four_live_board_sessions_equal_a_replay_of_the_same_bars_and_never_looks_ahead(home: Path) -> None:
    settings = _settings(home)
    seen: list[tuple[int, datetime]] = []

    def on_cycle(outcome: CycleOutcome) -> None:
        engine = orch.engine
        assert engine is not None
        # the decision saw only bars closed by now; every feature the board reads covers exactly that panel
        assert engine.panel.close_times[-1] <= orch.clock.now()
        assert all(v.shape[0] == len(engine.panel) for v in engine.features.values())
        seen.append((outcome.k, outcome.ts))

    orch = _orchestrator(settings, days=4, on_cycle=on_cycle)
    result = orch.run()

    assert result.status == "finished" and result.strategy == "ensemble"
    assert result.cycles == 4 == len(seen) and result.held_cycles == 0
    assert orch.engine is not None and isinstance(orch.engine.strategy, Ensemble)
    assert set(_member_versions(orch.engine.strategy)) == {"lstm", "gru", "ppo", "trend"}
    assert result.feature_latency["cycles"] == 4, "the board's features were rebuilt on every new bar"
    assert {result.health[f"model.{m}"] for m in ("lstm", "gru", "ppo")} == {"ok"}

    last = seen[-1][1].astimezone(NEW_YORK)
    start = datetime.combine(LIVE_FROM, time(0), NEW_YORK)
    replay = run(
        settings, RunRequest(SYMBOLS, "1d", start, datetime.combine(last.date(), time(12), NEW_YORK), "replay")
    )
    repo = _repo(settings)
    live, replayed = stripped_state(repo, "live"), stripped_state(repo, replay.run_id)
    assert live["fills"], "the board should trade in its first live sessions"
    assert live == replayed


def _session_first_cycles(repo: RunRepository, run_id: str) -> dict[date, int]:
    """The first cycle of each session of a run."""
    equity = repo.load_equity(run_id)
    out: dict[date, int] = {}
    for cycle, ts in zip(equity["cycle"], equity["ts"], strict=True):
        out.setdefault(pd.Timestamp(ts).tz_convert(NEW_YORK).date(), int(cycle))
    return out


class _JoinedRetrainer(BackgroundRetrainer):
    """The real background retrainer, except that the next warm-up waits for the job (sim time never does)."""

    def take_ready(self) -> ModelUpdate | None:
        self.join(120)
        return super().take_ready()


@pytest.mark.slow
def test_a_model_retrained_on_friday_is_traded_from_the_next_session_calibrated_on_bars_it_never_saw(
    home: Path,
) -> None:
    settings = _settings(home, retrain_weekdays=(4,), retrain_family="lstm")
    registry = Registry(home)
    before = registry.current("lstm")
    lake = Lake(settings.lake_dir)

    def train(data_until: datetime) -> str:
        bars = retraining_bars(lake, SYMBOLS, "1d", data_until, settings.board.calibration_bars)
        held_back = settings.board.calibration_bars + CALIBRATION_MARGIN_BARS
        assert len(lake.read_bars(["AAPL"], "1d", pd.DatetimeIndex(bars["ts"]).max(), data_until)) > held_back
        options = TrainOptions("lstm", small=True, promote=False, epochs=2)
        version = train_and_register(bars, options, registry, CostSettings()).version
        stamp_passing_gate(home, ("lstm",))
        return version

    def check(version: str) -> list[str]:
        load_version(registry, "lstm", version, None)
        return []

    used: dict[int, str] = {}

    def on_cycle(outcome: CycleOutcome) -> None:
        assert orch.engine is not None
        used[outcome.k] = _member_versions(orch.engine.strategy)["lstm"]

    retrainer = _JoinedRetrainer("lstm", train, check)
    # Wed 1, Thu 2, Fri 3 (retraining after the close), Mon 6, Tue 7 June 2011
    orch = _orchestrator(settings, days=5, retrainer=retrainer, on_cycle=on_cycle)
    result = orch.run()

    assert result.status == "finished" and len(retrainer.started) == 1
    new = result.models["lstm"]
    assert new != before and registry.current("lstm") == before, "the retrained version is used, not promoted"
    repo = _repo(settings)
    first_of = _session_first_cycles(repo, "live")
    monday = first_of[date(2011, 6, 6)]
    assert {k: v for k, v in used.items() if k < monday} == dict.fromkeys(range(min(used), monday), before)
    assert {k: v for k, v in used.items() if k >= monday} == {monday: new, monday + 1: new}

    rebuilt = repo.load_events("live", [REBUILT])
    assert len(rebuilt) == 1
    event = rebuilt[0]
    assert event.payload["versions"] == {"lstm": new} and event.payload["first_cycle"] == monday
    assert event.payload["members"]["lstm"] == new
    # issue 13 item 7: the retrained model's data (validation and test rows included) ends a calibration window
    # before Friday, so the rebuilt board calibrates on bars no model saw, right before Monday's cycle
    calibration = event.payload["calibration"]
    assert calibration is not None, "the rebuilt board is calibrated"
    new_end = pd.Timestamp(Registry(home).manifest("lstm", new).training_window["data_end"])
    assert pd.Timestamp(calibration["start"]) > new_end, "calibration never reads the retrained model's own data"
    monday_close = datetime.combine(date(2011, 6, 6), time(16), NEW_YORK)
    assert pd.Timestamp(calibration["end"]) < monday_close, "calibration used only bars before Monday's cycle"
    assert event.ts.astimezone(NEW_YORK).date() == date(2011, 6, 6), "picked up at Monday's warm-up"
    assert result.health["model.lstm"] == "ok" and result.health["models"] == "ok"


@pytest.mark.slow
def test_a_live_model_that_fails_to_load_falls_back_to_the_previous_version_and_health_shows_it(home: Path) -> None:
    settings = _settings(home)
    registry = Registry(home)
    good = registry.current("lstm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        args = ["train", "lstm", "--small", "--until", UNTIL, "--symbols", ",".join(SYMBOLS), "--promote"]
        assert CliRunner().invoke(app, args).exit_code == 0
    broken = registry.current("lstm")
    assert broken is not None and broken != good
    weights = next(p for p in registry.path("lstm", broken).iterdir() if p.name.startswith("weights"))
    weights.write_bytes(b"not a model")  # a damaged artifact on disk

    orch = _orchestrator(settings, days=3)
    result = orch.run()

    assert result.status == "finished" and result.cycles == 3, "the board kept trading"
    assert result.health["model.lstm"] == "degraded"
    assert {result.health["model.gru"], result.health["model.ppo"]} == {"ok"}
    assert orch.engine is not None
    lstm = orch.engine.strategy.health()["lstm"]  # type: ignore[attr-defined]
    assert lstm["requested"] == broken and lstm["active"] == good
    assert any(broken in p for p in lstm["problems"])
    events = [e.payload for e in _repo(settings).load_events("live", ["health"])]
    stored = [p for p in events if p["component"] == "model.lstm"]
    assert stored and stored[0]["status"] == "degraded" and str(good) in str(stored[0]["message"])


@pytest.mark.slow
def test_a_live_board_killed_after_a_model_switch_resumes_on_the_same_versions_as_if_never_killed(home: Path) -> None:
    settings = _settings(home, retrain_weekdays=(4,), retrain_family="lstm")
    registry = Registry(home)
    bars = Lake(settings.lake_dir).read_bars(list(SYMBOLS), "1d", None, pd.Timestamp(LIVE_FROM, tz=NEW_YORK))
    options = TrainOptions("lstm", small=True, promote=False, epochs=2)
    retrained = train_and_register(bars, options, registry, CostSettings()).version
    stamp_passing_gate(home, ("lstm",))

    def retrainer() -> _JoinedRetrainer:
        return _JoinedRetrainer("lstm", lambda _until: retrained, lambda _version: [])

    _orchestrator(settings, days=5, run_id="ref", retrainer=retrainer()).run()

    killed_at: list[datetime] = []

    def kill_on_monday(outcome: CycleOutcome) -> None:
        if outcome.ts.astimezone(NEW_YORK).date() == date(2011, 6, 6):
            killed_at.append(orch.clock.now())
            raise KeyboardInterrupt  # the process dies right after Monday's cycle (the first on the new model)

    orch = _orchestrator(settings, days=5, run_id="victim", retrainer=retrainer(), on_cycle=kill_on_monday)
    with pytest.raises(KeyboardInterrupt):
        orch.run()
    resumed = LiveOrchestrator(
        settings,
        LiveRequest(SYMBOLS, "1d", run_id="victim", resume=True, days=1),
        feed=_feed(home),
        clock=SimClock(killed_at[0]),
        lake=Lake(settings.lake_dir),
        repo=_repo(settings),
    )
    result = resumed.run()

    assert result.models == {"lstm": retrained} and resumed.engine is not None
    assert _member_versions(resumed.engine.strategy)["lstm"] == retrained
    repo = _repo(settings)
    assert stripped_state(repo, "victim") == stripped_state(repo, "ref")
    assert [e.payload for e in repo.load_events("victim", ["monitor.records"])] == [
        e.payload for e in repo.load_events("ref", ["monitor.records"])
    ], "the board's memory continues as if never killed"
