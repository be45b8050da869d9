"""`papertrader trial` end to end on the bundled real data: JSON and HTML written, every window a checked run."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings
from papertrader.engine.trial import TrialRequest, Window, open_repository, plan_trial, run_window
from papertrader.engine.trial_score import Criteria
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository

runner = CliRunner()
TOP_KEYS = {
    "trial_id",
    "strategy",
    "interval",
    "symbols",
    "days",
    "initial_cash",
    "layout",
    "windows_requested",
    "windows_available",
    "held_out",
    "criteria",
    "confidence",
    "windows",
    "summary",
    "html",
}
WINDOW_KEYS = {
    "index",
    "run_id",
    "start",
    "end",
    "scheduled_cycles",
    "cycles",
    "strategy",
    "buy_and_hold",
    "uptime",
    "critical_failures",
    "passes",
    "beat_buy_and_hold",
    "buy_and_hold_vol_matched",
    "trend_baseline",
    "beat_baselines",
    "equity",
    "buy_and_hold_equity",
}
CRITERIA = {"sharpe", "max_drawdown", "uptime", "critical_failures", "baselines", "all"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PAPERTRADER_HOME with the bundled data imported once."""
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = runner.invoke(app, ["data", "import", "--source", "bundled"])
    assert result.exit_code == 0, result.output
    return path


def _invoke(home: Path, *args: str, code: int = 0) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "160")
        result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def trial(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One three-window trial on the bundled data: its JSON and its HTML page."""
    out = tmp_path_factory.mktemp("trial")
    json_file, html_file = out / "trial.json", out / "trial.html"
    _invoke(home, "trial", "--days", "7", "--windows", "3", "--json", str(json_file), "--html", str(html_file))
    data = json.loads(json_file.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    return data, html_file.read_text()


def test_trial_json_has_the_documented_keys_and_three_held_out_windows(trial: tuple[dict[str, Any], str]) -> None:
    data, _ = trial
    assert set(data) == TOP_KEYS
    assert data["strategy"] == "trend" and data["days"] == 7 and data["initial_cash"] == 100_000
    assert set(data["symbols"]) == {"AAPL", "IBM", "MSFT"}  # GOOG and FB list after the span starts
    windows = data["windows"]
    assert isinstance(windows, list) and len(windows) == 3
    held_start = datetime.fromisoformat(data["held_out"]["start"])
    starts = [datetime.fromisoformat(w["start"]) for w in windows]
    ends = [datetime.fromisoformat(w["end"]) for w in windows]
    assert starts[0] >= held_start
    assert all(e < s for e, s in zip(ends, starts[1:], strict=False)), "windows do not overlap"
    for w in windows:
        assert set(w) == WINDOW_KEYS
        assert w["scheduled_cycles"] == w["cycles"] == 7 == len(w["equity"]) == len(w["buy_and_hold_equity"])
        assert w["equity"][0] == pytest.approx(100_000, rel=0.01), "fresh cash each window"
        assert w["uptime"] == 1.0 and w["critical_failures"] == []
        assert set(w["passes"]) == CRITERIA
        assert w["trend_baseline"] is None, "the trend strategy is not compared with itself"
        matched = w["buy_and_hold_vol_matched"]
        assert 0 <= matched["fraction"] <= 1 and w["passes"]["baselines"] == (
            w["strategy"]["total_return"] > matched["total_return"]
        )
        assert timedelta(days=6) <= datetime.fromisoformat(w["end"]) - datetime.fromisoformat(w["start"])
    summary = data["summary"]
    assert summary["n_windows"] == 3
    for name in CRITERIA:
        r = summary["pass_rates"][name]
        assert r["n"] == 3 and 0 <= r["low"] <= r["rate"] <= r["high"] <= 1
        assert r["passed"] == sum(w["passes"][name] for w in windows)


def test_every_window_is_a_persisted_run_that_check_and_report_accept(
    home: Path, trial: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    data, _ = trial
    repo = RunRepository(make_engine(f"sqlite:///{home / 'papertrader.db'}"))
    for w in data["windows"]:
        run = repo.get_run(w["run_id"])
        assert run is not None and run.status == "finished" and run.mode == "replay"
        assert run.start is not None and run.end is not None
        assert run.start.isoformat() == w["start"] and run.end.isoformat() == w["end"], "no bar past the window"
        assert float(repo.load_equity(w["run_id"])["equity"].iloc[-1]) == pytest.approx(w["equity"][-1])
        assert "ok" in _invoke(home, "check", w["run_id"])
    first = data["windows"][0]["run_id"]
    _invoke(home, "report", first, "--html", str(tmp_path / "w1.html"))
    assert (tmp_path / "w1.html").stat().st_size > 10_000


def test_trial_html_is_self_contained_with_pass_rates_and_plots(trial: tuple[dict[str, Any], str]) -> None:
    data, page = trial
    assert page.count("data:image/png;base64,") == 2  # returns vs buy-and-hold, equity strips
    for heading in ("Pass rates", "Window returns vs buy-and-hold", "Equity per window", "Windows"):
        assert heading in page
    for w in data["windows"]:
        assert w["run_id"] in page
    assert "http://" not in page and "https://" not in page


def test_more_windows_than_fit_is_a_clear_error(home: Path) -> None:
    out = _invoke(home, "trial", "--days", "7", "--windows", "100000", code=2)
    assert "non-overlapping windows fit" in out


def test_an_after_date_moves_the_span_and_admits_later_listings(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    _invoke(home, "trial", "--days", "5", "--windows", "2", "--after", "2006-01-01", "--json", str(out))
    data = json.loads(out.read_text())
    assert data["held_out"]["start"].startswith("2006-01-01")
    assert "GOOG" in data["symbols"] and "FB" not in data["symbols"]
    assert data["windows"][0]["start"] >= "2006-01-03" and data["windows"][0]["scheduled_cycles"] == 5


def test_a_window_whose_run_raises_is_a_critical_failure_not_an_abort(home: Path) -> None:
    settings = Settings(home=home)
    plan = plan_trial(settings, TrialRequest(days=7, windows=1), "trial-raise")
    beyond = Window(1, 0, datetime(2030, 1, 2, tzinfo=UTC), datetime(2030, 1, 10, tzinfo=UTC), 7)
    score, result = run_window(settings, plan, beyond, open_repository(settings))
    assert result is None
    assert len(score.failures) == 1 and score.failures[0].startswith("run raised: DataError")
    assert score.uptime == 0.0 and score.cycles == 0 and math.isnan(score.total_return)
    assert not score.passes(Criteria())["all"]


def test_a_kill_switch_halt_counts_as_a_critical_failure(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_RISK__MAX_DRAWDOWN", "0.002")
        mp.setenv("PAPERTRADER_RISK__DRAWDOWN_BUDGET", "false")  # the guard would keep it above the floor
        _invoke(home, "trial", "--days", "7", "--windows", "5", "--json", str(out))
    windows = json.loads(out.read_text())["windows"]
    halted = [w for w in windows if any("kill switch" in f for f in w["critical_failures"])]
    assert halted, "a 0.2% kill switch fires in some window"
    for w in halted:
        assert not w["passes"]["critical_failures"] and not w["passes"]["all"]
        assert w["strategy"]["max_drawdown"] <= -0.002
        assert "ok" in _invoke(home, "check", w["run_id"]), "a halt is a failure of the strategy, not of the ledger"
