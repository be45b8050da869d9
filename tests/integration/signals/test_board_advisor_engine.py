"""An LLM advisor sits on the board through the real engine (bundled bars, the fake LLM server); no key, no seat."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from advisor_rig import SYMBOLS, board_settings
from fake_llm import OPENAI_KEY, FakeLLM

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.runner import RunRequest, run
from papertrader.persistence.db import make_engine
from papertrader.persistence.repository import RunRepository
from papertrader.signals.advisors import AdvisorMember
from papertrader.signals.ensemble import Ensemble

START, END = datetime(2012, 1, 3, tzinfo=UTC), datetime(2012, 3, 1, tzinfo=UTC)
SETTLE_S = 15.0  # upper bound for the fake's answers on a loaded machine; never asserted as a time


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("advisor-board")
    import_bundled(Lake(home / "lake"))
    return home


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def _settings(home: Path, fake: FakeLLM) -> Settings:
    return Settings(
        home=home,
        strategy=StrategySettings(name="ensemble"),
        board=BoardSettings(members=("trend", "grok"), calibration_bars=120),
        advisors=board_settings(fake, "openai", horizon_bars=3),
    )


def _run(settings: Settings, run_id: str) -> tuple[Any, list[Ensemble], list[int]]:
    """Run the window; after each cycle wait until the advisor's questions are answered (a deterministic pace)."""
    boards: list[Ensemble] = []
    cycles: list[int] = []

    def keep(engine: Engine, _total: int) -> None:
        assert isinstance(engine.strategy, Ensemble)
        boards.append(engine.strategy)

    def settle(outcome: CycleOutcome) -> None:
        cycles.append(outcome.k)
        for m in boards[0].members:
            if isinstance(m, AdvisorMember):
                assert m.wait_idle(SETTLE_S)

    request = RunRequest(symbols=SYMBOLS, start=START, end=END, run_id=run_id)
    return run(settings, request, on_engine=keep, on_cycle=settle), boards, cycles


def test_an_advisor_with_a_key_votes_through_the_engine_and_is_closed_at_the_end(
    lake_home: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("XAI_API_KEY", OPENAI_KEY)
    result, boards, cycles = _run(_settings(lake_home, fake), "with-key")
    (board,) = boards
    assert [m.name for m in board.members] == ["trend", "grok"]
    assert board.horizons["grok"] == 3, "the board scores an advisor over the horizon its question names"
    assert result.extra["health"]["advisor.grok"] == "ok"
    assert 0 < fake.count() <= len(SYMBOLS) * len(cycles), "asked only on traded cycles: never for calibration"

    repo = RunRepository(make_engine(_settings(lake_home, fake).db_url))
    votes = [v for e in repo.load_events("with-key", ["signal"]) for v in e.payload["votes"]]
    grok = [v for v in votes if v["member"] == "grok" and v["p_up"] is not None]
    assert grok, "the advisor's answers never reached a stored vote"
    assert all(v["timeframe"] == "advisor" and v["p_up"] > v["p_down"] and v["weight"] > 0 for v in grok)
    assert "momentum and trend agree" in grok[0]["reason"]
    advisor = board.members[1]
    assert isinstance(advisor, AdvisorMember) and advisor._closed, "the run closed its advisor"


def test_without_a_key_the_advisor_is_absent_and_nothing_is_sent(
    lake_home: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    result, boards, _ = _run(_settings(lake_home, fake), "no-key")
    assert [m.name for m in boards[0].members] == ["trend"]
    assert fake.count() == 0
    assert "advisor.grok" not in result.extra["health"]
    repo = RunRepository(make_engine(_settings(lake_home, fake).db_url))
    assert all(v["member"] == "trend" for e in repo.load_events("no-key", ["signal"]) for v in e.payload["votes"])
