"""LLM advisors against a real local HTTP server speaking the xAI/Moonshot and Anthropic wire formats."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from advisor_rig import FIRST, SYMBOLS, Wire, board_settings, keys, member, tiled, view
from fake_llm import ANTHROPIC_KEY, OPENAI_KEY, FakeLLM

from papertrader.config.advisors import AdvisorName
from papertrader.core.clock import SimClock
from papertrader.signals.advisors.clients import AdvisorAuthError, make_client
from papertrader.signals.advisors.member import AdvisorMember

WIRES: tuple[Wire, ...] = ("openai", "anthropic")
PATH = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
SETTLE_S = 15.0  # generous upper bound for background work on a loaded CI machine; never asserted


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2024, 3, 4, 15, 0, tzinfo=UTC))


def settle(m: AdvisorMember) -> None:
    assert m.wait_idle(SETTLE_S), "the advisor's background requests did not finish"


@pytest.mark.parametrize("wire", WIRES)
def test_valid_answers_become_opinions_only_on_a_later_cycle_than_the_one_that_asked(
    fake: FakeLLM, clock: SimClock, wire: Wire
) -> None:
    m = member(fake, wire, clock)
    first = m.opine(clock.now(), view(FIRST))
    assert not first.has_view.any()
    settle(m)
    assert fake.count(PATH[wire]) == len(SYMBOLS)
    assert all(r.authorized and r.model == "fake-model" for r in fake.requests)
    again = m.opine(clock.now(), view(FIRST))
    assert not again.has_view.any(), "an answer must never be used on the bar that asked for it"
    later = m.opine(clock.now(), view(FIRST + 1))
    assert later.has_view.all()
    np.testing.assert_allclose(later.p_up, (1 + 2 * 0.7) / 3)
    np.testing.assert_allclose(later.p_down, (1 - 0.7) / 3)
    assert later.timeframe == "advisor" and not later.exit.any()
    assert "momentum and trend agree" in later.reason(0)
    m.close()


def test_answers_expire_after_max_age_bars(fake: FakeLLM, clock: SimClock) -> None:
    m = member(fake, "openai", clock, max_age_bars=2, ask_every_bars=50)
    m.opine(clock.now(), view(FIRST))
    settle(m)
    assert m.opine(clock.now(), view(FIRST + 1)).has_view.all()
    assert m.opine(clock.now(), view(FIRST + 2)).has_view.all()
    assert not m.opine(clock.now(), view(FIRST + 3)).has_view.any()
    assert fake.count() == len(SYMBOLS)
    m.close()


@pytest.mark.parametrize("mode", ["malformed", "prose"])
@pytest.mark.parametrize("wire", WIRES)
def test_malformed_or_prose_answers_are_rejected_and_the_advisor_is_absent(
    fake: FakeLLM, clock: SimClock, wire: Wire, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake.mode = mode  # type: ignore[assignment]
    m = member(fake, wire, clock)
    with caplog.at_level(logging.WARNING):
        m.opine(clock.now(), view(FIRST))
        settle(m)
    health = m.health()
    assert health.rejected == len(SYMBOLS) and health.answered == 0
    assert not m.opine(clock.now(), view(FIRST + 1)).has_view.any()
    assert health.status == "degraded"
    assert "answer rejected" in caplog.text
    m.close()


def test_opine_returns_while_the_server_is_still_holding_the_request(fake: FakeLLM, clock: SimClock) -> None:
    fake.mode = "slow"
    m = member(fake, "openai", clock, timeout_s=60.0)
    m.opine(clock.now(), view(FIRST))
    assert fake.wait_held(len(SYMBOLS), SETTLE_S)
    opinions = [m.opine(clock.now(), view(k)) for k in (FIRST + 1, FIRST + 2)]
    # Ordering is the proof: both cycles completed while the server still held every request.
    assert fake.held == len(SYMBOLS) and not fake.release.is_set()
    assert all(not o.has_view.any() for o in opinions)
    assert fake.count() == len(SYMBOLS), "symbols with a request outstanding are not asked again"
    assert m.health().in_flight == len(SYMBOLS)
    fake.release.set()
    settle(m)
    late = m.opine(clock.now(), view(FIRST + 3))
    assert late.has_view.all(), "answers asked at FIRST arrive within max_age_bars and are used"
    m.close()


def test_a_timeout_leaves_the_cycle_unaffected_and_shows_in_health(fake: FakeLLM, clock: SimClock) -> None:
    fake.mode = "slow"
    m = member(fake, "anthropic", clock, timeout_s=0.2)
    m.opine(clock.now(), view(FIRST))
    assert fake.wait_held(len(SYMBOLS), SETTLE_S)
    settle(m)
    assert fake.held == len(SYMBOLS), "the server is still holding: the client gave up, not the server"
    health = m.health()
    assert health.failures.get("timeout") == len(SYMBOLS) and health.status == "degraded"
    assert not m.opine(clock.now(), view(FIRST + 1)).has_view.any()
    m.close()


@pytest.mark.parametrize("wire", WIRES)
def test_server_errors_leave_the_cycle_unaffected_and_the_next_bar_asks_again(
    fake: FakeLLM, clock: SimClock, wire: Wire
) -> None:
    fake.mode = "error"
    m = member(fake, wire, clock)
    m.opine(clock.now(), view(FIRST))
    settle(m)
    assert m.health().failures.get("unavailable") == len(SYMBOLS)
    assert not m.opine(clock.now(), view(FIRST + 1)).has_view.any()
    fake.mode = "valid"
    settle(m)  # the asks made at FIRST + 1 hit the 500 before the switch or the valid mode after it
    m.opine(clock.now(), view(FIRST + 2))
    settle(m)
    assert m.opine(clock.now(), view(FIRST + 3)).has_view.all()
    m.close()


def test_a_429_pauses_asking_until_its_retry_after_has_passed_on_the_clock(fake: FakeLLM, clock: SimClock) -> None:
    fake.mode = "rate_limit"
    fake.retry_after = "120"
    m = member(fake, "openai", clock, workers=1)
    m.opine(clock.now(), view(FIRST))
    settle(m)
    assert fake.count() == 1, "queued requests behind a 429 are not sent"
    health = m.health()
    assert health.failures.get("rate_limited") == 1
    assert health.backoff_until == datetime(2024, 3, 4, 15, 2, tzinfo=UTC)
    fake.mode = "valid"
    m.opine(clock.now(), view(FIRST + 1))
    settle(m)
    assert fake.count() == 1
    clock.advance_to(clock.now() + timedelta(seconds=121))
    m.opine(clock.now(), view(FIRST + 2))
    settle(m)
    assert fake.count() == 1 + len(SYMBOLS)
    assert m.opine(clock.now(), view(FIRST + 3)).has_view.all()
    m.close()


def test_the_daily_budget_is_never_exceeded_across_threads_and_members(
    fake: FakeLLM, clock: SimClock, tmp_path: Path
) -> None:
    wide = tiled(20)  # 60 symbols
    n = wide["close"].shape[1]
    members = [
        member(fake, "openai", clock, cache_dir=tmp_path, n_symbols=n, daily_budget=7, workers=16) for _ in range(2)
    ]
    for k in range(FIRST, FIRST + 3):
        for m in members:
            m.opine(clock.now(), view(k, wide))
    for m in members:
        settle(m)
    assert fake.count() == 7
    assert members[0].health().budget_used == 7 and members[0].health().status == "down"
    clock.advance_to(datetime(2024, 3, 5, 0, 0, 1, tzinfo=UTC))  # a new UTC day: a fresh budget
    members[0].opine(clock.now(), view(FIRST + 10, wide))
    settle(members[0])
    assert fake.count() == 14
    for m in members:
        m.close()


@pytest.mark.parametrize("mode", ["valid", "prose"])
def test_a_second_identical_replay_is_answered_from_the_cache_and_sends_nothing(
    fake: FakeLLM, clock: SimClock, tmp_path: Path, mode: str
) -> None:
    fake.mode = mode  # type: ignore[assignment]

    def replay() -> list[np.ndarray]:
        m = member(fake, "anthropic", clock, cache_dir=tmp_path)
        seen = []
        for k in range(FIRST, FIRST + 8):
            seen.append(m.opine(clock.now(), view(k)).p_up)
            settle(m)
        m.close()
        return seen

    first = replay()
    sent = fake.count()
    assert sent == 8 * len(SYMBOLS)
    second = replay()
    assert fake.count() == sent, "the second replay must not send a single request"
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("wire", WIRES)
def test_keys_never_appear_in_logs_errors_reprs_or_the_cache(
    fake: FakeLLM, clock: SimClock, wire: Wire, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    right = OPENAI_KEY if wire == "openai" else ANTHROPIC_KEY
    secrets = (right, right[::-1])
    with caplog.at_level(logging.DEBUG):
        good = member(fake, wire, clock, cache_dir=tmp_path)
        good.opine(clock.now(), view(FIRST))
        settle(good)
        bad = member(fake, wire, clock, cache_dir=tmp_path / "bad", wrong_key=True)
        bad.opine(clock.now(), view(FIRST))
        settle(bad)
        name: AdvisorName = "grok" if wire == "openai" else "claude"
        settings = board_settings(fake, wire).of(name)
        wrong = keys(wire, wrong=True).key(name)
        assert wrong is not None
        client = make_client(name, settings, wrong)
        with pytest.raises(AdvisorAuthError) as refused:
            client.complete("system", "user")
    health = bad.health()
    assert health.status == "down" and health.failures.get("auth", 0) >= 1
    assert not bad.opine(clock.now(), view(FIRST + 1)).has_view.any()
    texts = [
        caplog.text,
        str(refused.value),
        repr(refused.value),
        repr(good),
        repr(client),
        repr(health),
        health.message,
        *(p.read_text() for p in tmp_path.rglob("*") if p.is_file()),
    ]
    assert refused.value.__context__ is None and refused.value.__cause__ is None
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert "HTTP 401" in str(refused.value)
    client.close()
    good.close()
    bad.close()
