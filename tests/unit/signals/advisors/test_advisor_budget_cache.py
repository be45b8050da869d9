"""Daily request budgets (reserved before sending, shared across threads and instances) and the answer cache."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from papertrader.core.clock import SimClock
from papertrader.signals.advisors.budget import DailyBudget
from papertrader.signals.advisors.cache import AnswerCache, CachedAnswer, prompt_key
from papertrader.signals.advisors.schema import AdvisorAnswer


def _hammer(budgets: list[DailyBudget], threads: int, tries: int) -> int:
    granted = 0
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run(b: DailyBudget) -> None:
        nonlocal granted
        start.wait()
        mine = sum(b.reserve() for _ in range(tries))
        with lock:
            granted += mine

    workers = [threading.Thread(target=run, args=(budgets[i % len(budgets)],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return granted


def test_a_budget_is_never_exceeded_by_many_threads() -> None:
    budget = DailyBudget(50, SimClock(datetime(2024, 1, 2, 12, tzinfo=UTC)))
    assert _hammer([budget], threads=16, tries=20) == 50
    assert budget.status().used == 50 and budget.status().remaining == 0


def test_a_file_backed_budget_is_shared_by_instances_and_survives_a_restart(tmp_path: Path) -> None:
    clock = SimClock(datetime(2024, 1, 2, 12, tzinfo=UTC))
    path = tmp_path / "grok-budget.json"
    a, b = DailyBudget(30, clock, path), DailyBudget(30, clock, path)
    assert _hammer([a, b], threads=12, tries=10) == 30
    assert DailyBudget(30, clock, path).reserve() is False  # a restart the same day
    assert "key" not in path.read_text().lower()


def test_the_budget_resets_on_the_next_utc_day(tmp_path: Path) -> None:
    clock = SimClock(datetime(2024, 1, 2, 23, 59, tzinfo=UTC))
    budget = DailyBudget(2, clock, tmp_path / "b.json")
    assert budget.reserve() and budget.reserve() and not budget.reserve()
    clock.advance_to(clock.now() + timedelta(minutes=2))
    assert budget.status().used == 0
    assert budget.reserve()


def test_a_zero_budget_never_grants() -> None:
    assert DailyBudget(0, SimClock(datetime(2024, 1, 2, tzinfo=UTC))).reserve() is False


def test_the_cache_key_changes_with_advisor_model_and_prompt() -> None:
    base = prompt_key("grok", "m1", "sys", "user")
    assert base == prompt_key("grok", "m1", "sys", "user")
    assert len({base, prompt_key("kimi", "m1", "sys", "user"), prompt_key("grok", "m2", "sys", "user")}) == 3
    assert base != prompt_key("grok", "m1", "sys", "user ")


def test_answers_and_rejections_survive_a_reload_and_bad_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "claude-answers.jsonl"
    cache = AnswerCache(path)
    answer = AdvisorAnswer(direction="up", confidence=0.55, reason="trend intact")
    cache.put("k1", "m", CachedAnswer(answer))
    cache.put("k2", "m", CachedAnswer(None, "not a bare JSON object"))
    with path.open("a") as fh:
        fh.write("{broken\n")
        fh.write('{"key": "k3", "answer": {"direction": "UP", "confidence": 2, "reason": ""}}\n')
    again = AnswerCache(path)
    assert len(again) == 2
    assert again.get("k1") == CachedAnswer(answer)
    hit = again.get("k2")
    assert hit is not None and hit.answer is None and hit.rejected == "not a bare JSON object"
    assert again.get("k3") is None and AnswerCache().get("k1") is None
