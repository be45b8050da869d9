"""Trial scoring on crafted events: uptime, critical failures, the criteria and the pass-rate intervals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from papertrader.domain.events import DomainEvent, HaltChanged, HealthChanged, KillSwitchFired
from papertrader.engine.trial_score import (
    Criteria,
    WindowScore,
    critical_failures,
    summarize_windows,
    uptime,
    wilson,
)

T0 = datetime(2010, 3, 1, 21, tzinfo=UTC)
CYCLES = [T0 + timedelta(days=i) for i in range(7)]


def _health(i: int, component: str, status: str) -> DomainEvent:
    return HealthChanged(CYCLES[i], component, status, "crafted")


def test_uptime_is_one_when_every_scheduled_cycle_completed_healthy() -> None:
    assert uptime(7, CYCLES, [_health(0, "signals", "ok")]) == 1.0


def test_uptime_counts_cycles_while_a_component_is_down_as_down() -> None:
    events = [_health(2, "signals", "down"), _health(4, "signals", "ok")]
    assert uptime(7, CYCLES, events) == pytest.approx(5 / 7)  # cycles 2 and 3 were down


def test_uptime_treats_degraded_as_up_and_another_component_down_as_down() -> None:
    events = [_health(1, "database", "degraded"), _health(5, "broker", "down")]
    assert uptime(7, CYCLES, events) == pytest.approx(5 / 7)  # 5 and 6 down; degraded loses nothing


def test_uptime_counts_cycles_that_never_ran_as_down() -> None:
    assert uptime(7, CYCLES[:5], []) == pytest.approx(5 / 7)


def test_uptime_ignores_health_events_after_the_cycle() -> None:
    late = HealthChanged(CYCLES[6] + timedelta(minutes=1), "signals", "down", "crafted")
    assert uptime(7, CYCLES, [late]) == 1.0


def test_critical_failures_count_a_raise_a_kill_switch_and_a_ledger_mismatch_once_each() -> None:
    kill = KillSwitchFired(CYCLES[3], "max_drawdown", -0.21, 0.2, 100_000.0, 79_000.0)
    halt = HaltChanged(CYCLES[3], True, "kill switch: drawdown -21.00% past 20%")
    failures = critical_failures("RuntimeError: boom", [kill, halt], ["cash: stored 1, rebuilt 2"])
    assert len(failures) == 3
    assert failures[0] == "run raised: RuntimeError: boom"
    assert "kill switch" in failures[1] and "ledger check mismatch: cash" in failures[2]


def test_an_operator_flatten_halt_is_not_a_critical_failure() -> None:
    halt = HaltChanged(CYCLES[3], True, "flatten requested by the operator")
    assert critical_failures(None, [halt, _health(1, "signals", "down")], []) == ()


def test_a_kill_switch_halt_alone_counts() -> None:
    halt = HaltChanged(CYCLES[3], True, "kill switch: drawdown -21.00% past 20%")
    assert len(critical_failures(None, [halt], [])) == 1


def _score(
    i: int,
    ret: float,
    sharpe: float,
    dd: float,
    up: float = 1.0,
    failures: tuple[str, ...] = (),
    vm: float = -0.001,
    trend: float | None = -0.001,
) -> WindowScore:
    return WindowScore(
        index=i,
        run_id=f"w{i}",
        start=CYCLES[0],
        end=CYCLES[-1],
        scheduled=7,
        cycles=7,
        total_return=ret,
        sharpe=sharpe,
        max_drawdown=dd,
        trades=2,
        fees_paid=1.0,
        bench_total_return=0.01,
        bench_sharpe=1.0,
        bench_max_drawdown=-0.02,
        uptime=up,
        failures=failures,
        vm_total_return=vm,
        trend_total_return=trend,
    )


def test_criteria_thresholds_are_strict() -> None:
    c = Criteria()
    at_limit = _score(1, 0.0, 0.8, -0.08, up=0.995).passes(c)
    assert not at_limit["sharpe"] and not at_limit["max_drawdown"] and not at_limit["uptime"]
    inside = _score(2, 0.0, 0.81, -0.0799, up=0.996).passes(c)
    assert inside == {
        "sharpe": True,
        "max_drawdown": True,
        "uptime": True,
        "critical_failures": True,
        "baselines": True,
        "all": True,
    }


def test_an_unmeasurable_window_fails_its_metric_criteria() -> None:
    p = _score(1, math.nan, math.nan, math.nan, up=0.0, failures=("run raised: X",)).passes(Criteria())
    assert not any(p.values())


def test_wilson_interval_matches_the_textbook_values_and_edges() -> None:
    r = wilson(3, 5)
    assert r.rate == 0.6
    assert r.low == pytest.approx(0.2307, abs=1e-4) and r.high == pytest.approx(0.8824, abs=1e-4)
    assert wilson(0, 10).low == 0.0 and wilson(0, 10).high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10).high == 1.0 and wilson(10, 10).low == pytest.approx(0.7225, abs=1e-4)
    assert wilson(30, 100).high - wilson(30, 100).low < wilson(3, 10).high - wilson(3, 10).low
    with pytest.raises(ValueError):
        wilson(4, 3)


def test_pass_rates_count_every_window_and_means_skip_only_nans() -> None:
    scores = [
        _score(1, 0.02, 2.0, -0.01),  # passes all, beats buy-and-hold (0.01)
        _score(2, 0.005, 0.5, -0.01),  # fails Sharpe
        _score(3, -0.05, -3.0, -0.09),  # fails Sharpe and drawdown
        _score(4, math.nan, math.nan, math.nan, up=3 / 7, failures=("run raised: X",)),
    ]
    s = summarize_windows(scores, Criteria())
    rates = {k: (r.passed, r.n) for k, r in s.pass_rates.items()}
    assert rates == {
        "sharpe": (1, 4),
        "max_drawdown": (2, 4),
        "uptime": (3, 4),
        "critical_failures": (3, 4),
        "baselines": (2, 4),
        "all": (1, 4),
    }
    assert (s.beat_buy_and_hold.passed, s.beat_buy_and_hold.n) == (1, 4)
    assert s.stats["total_return"]["mean"] == pytest.approx((0.02 + 0.005 - 0.05) / 3)
    assert s.stats["total_return"]["median"] == pytest.approx(0.005)
    assert s.stats["critical_failures"]["mean"] == 0.25
    data = s.to_json()
    assert data["pass_rates"]["all"]["rate"] == 0.25 and data["n_windows"] == 4


def test_sitting_in_cash_passes_drawdown_uptime_and_failures_but_never_a_window() -> None:
    # all cash: return 0, Sharpe 0 (metrics.sharpe of a flat curve), no drawdown, every cycle up, no failure;
    # its volatility is 0, so its vol-matched buy-and-hold holds 0% of buy-and-hold: return 0 as well
    cash = _score(1, 0.0, 0.0, 0.0, vm=0.0, trend=-0.03)  # even in a window where the trend baseline lost
    passes = cash.passes(Criteria())
    assert passes["max_drawdown"] and passes["uptime"] and passes["critical_failures"]
    assert not passes["baselines"] and not passes["sharpe"] and not passes["all"]
    summary = summarize_windows([cash, _score(2, 0.0, 0.0, 0.0, vm=0.0, trend=0.01)], Criteria())
    assert summary.pass_rates["all"].passed == 0 and summary.pass_rates["baselines"].passed == 0


def test_a_high_sharpe_window_that_trails_a_baseline_does_not_pass() -> None:
    assert not _score(1, 0.01, 2.0, -0.01, vm=0.02).passes(Criteria())["all"]  # below vol-matched buy-and-hold
    assert not _score(2, 0.01, 2.0, -0.01, trend=0.015).passes(Criteria())["all"]  # below the trend baseline
    assert not _score(3, 0.01, 2.0, -0.01, vm=math.nan).passes(Criteria())["baselines"]  # unmeasured fails
    assert _score(4, 0.01, 2.0, -0.01, vm=0.0, trend=0.0).passes(Criteria())["all"]


def test_the_trend_baseline_trial_is_not_compared_with_itself() -> None:
    own = _score(1, 0.01, 2.0, -0.01, vm=0.0, trend=None)
    assert own.passes(Criteria())["baselines"]
    assert own.to_json(Criteria())["trend_baseline"] is None
    assert own.to_json(Criteria())["buy_and_hold_vol_matched"]["total_return"] == 0.0
