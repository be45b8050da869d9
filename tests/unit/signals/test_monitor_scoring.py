"""PerformanceMonitor scoring on SYNTHETIC data (random walks, members with a dialled accuracy)."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from monitor_synth import START, coin, drive, oracle, random_walk

from papertrader.config.monitor import MonitorSettings
from papertrader.signals.monitor import RECORDS, PerformanceMonitor
from papertrader.signals.votes import Opinion


def test_always_right_member_has_hit_rate_one_and_the_max_multiplier() -> None:
    closes = random_walk(400, 5, seed=1)
    monitor = PerformanceMonitor(5)
    drive(monitor, closes, [oracle("oracle", closes, 3, lambda _k: 1.0, seed=2)], {"oracle": 3})
    rec = monitor.records()["oracle"]
    assert rec.hit_rate == 1.0
    assert rec.n == monitor.settings.window * 5
    assert rec.pnl > 0
    assert not rec.degraded
    assert monitor.weight_multipliers()["oracle"] == monitor.settings.max_multiplier


def test_coin_flip_member_scores_about_half_and_stays_near_neutral_weight() -> None:
    closes = random_walk(600, 8, seed=3)
    monitor = PerformanceMonitor(8)
    drive(monitor, closes, [coin("coin", 8, seed=4)], {"coin": 1})
    rec = monitor.records()["coin"]
    assert rec.n == monitor.settings.window * 8
    assert abs(rec.hit_rate - 0.5) < 0.04
    assert 0.24 < rec.brier < 0.28  # the Brier of calls at 0.5-0.7 that are right half the time
    assert rec.pnl < 0  # no edge, and every turn pays costs
    assert 0.7 < monitor.weight_multipliers()["coin"] < 1.3
    assert not rec.degraded


def test_multiplier_is_neutral_until_min_obs_pairs_are_scored() -> None:
    closes = random_walk(60, 5, seed=5)
    monitor = PerformanceMonitor(5, MonitorSettings(min_obs=100))
    # 19 opinions scored x 5 symbols = 95 pairs < 100 after bar 19 (horizon 1)
    drive(monitor, closes, [oracle("o", closes, 1, lambda _k: 1.0, seed=6)], {"o": 1}, until=20)
    assert monitor.records()["o"].n == 95
    assert monitor.weight_multipliers()["o"] == 1.0
    drive_more = [oracle("o", closes, 1, lambda _k: 1.0, seed=6)]
    for k in range(20, 22):
        monitor.observe(k, START + timedelta(days=k), closes[k], [drive_more[0](k)], {"o": 1})
    assert monitor.records()["o"].n >= 100
    assert monitor.weight_multipliers()["o"] > 1.0


def test_an_opinion_is_scored_only_once_its_horizon_has_passed_and_by_hand() -> None:
    closes = np.array([[100.0, 50.0], [101.0, 49.0], [99.0, 48.0], [102.0, 51.0]])
    s = MonitorSettings(cost_bps=10.0, ece_bins=10)
    monitor = PerformanceMonitor(2, s)
    op = Opinion("m", "short", np.array([0.8, 0.3]), np.array([0.2, 0.6]), np.zeros(2, dtype=bool), lambda _i: "")
    silent = Opinion.silent("m", "short", 2, "done")
    monitor.observe(0, START, closes[0], [op], {"m": 2})
    monitor.observe(1, START, closes[1], [silent], {"m": 2})
    assert monitor.records()["m"].n == 0  # bar 1 < 0 + 2: not scored yet
    monitor.observe(2, START, closes[2], [silent], {"m": 2})
    rec = monitor.records()["m"]
    # symbol 0: up 0.8 vs 0.2, return 99/100-1 < 0 -> miss; symbol 1: down 0.6 vs 0.3, 48/50-1 < 0 -> hit
    assert rec.n == 2
    assert rec.hit_rate == 0.5
    p = np.array([0.8, 0.3 / 0.9])
    y = np.array([0.0, 0.0])
    assert rec.brier == pytest.approx(float(np.mean((p - y) ** 2)))
    assert rec.ece == pytest.approx(float(np.sum(p)) / 2)  # different bins, each |p - y| / n
    r = np.array([-0.01, -0.04])
    e = np.array([0.6, -0.3])
    assert rec.pnl == pytest.approx(float(np.mean(e * r - np.abs(e) * 0.001)) / 2)


def test_no_view_opinions_and_missing_closes_are_not_scored() -> None:
    closes = random_walk(50, 4, seed=7)
    closes[:, 3] = np.nan  # symbol 3 never trades
    monitor = PerformanceMonitor(4)
    half = np.array([0.7, np.nan, 0.7, 0.7])

    def partial(_k: int) -> Opinion:
        return Opinion("partial", "short", half, 1.0 - half, np.zeros(4, dtype=bool), lambda _i: "")

    def mute(_k: int) -> Opinion:
        return Opinion.silent("mute", "advisor", 4, "no answer")

    drive(monitor, closes, [partial, mute], {})
    records = monitor.records()
    assert records["partial"].n == 49 * 2  # symbols 0 and 2 only: 1 has no view, 3 no close
    assert records["mute"].n == 0
    assert math.isnan(records["mute"].hit_rate)
    assert monitor.weight_multipliers()["mute"] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(min_value=5, max_value=58),
    seed=st.integers(min_value=0, max_value=10_000),
    horizon=st.integers(min_value=1, max_value=4),
)
def test_records_at_bar_k_do_not_change_when_later_closes_change(k: int, seed: int, horizon: int) -> None:
    closes = random_walk(60, 3, seed=seed)
    altered = closes.copy()
    altered[k + 1 :] *= np.random.default_rng(seed + 1).uniform(0.5, 1.5, size=altered[k + 1 :].shape)

    rng = np.random.default_rng(seed)
    p_up = rng.uniform(0.0, 1.0, (60, 3))
    views = [Opinion("m", "short", p, 1.0 - p, np.zeros(3, dtype=bool), lambda _i: "") for p in p_up]
    small = MonitorSettings(min_obs=3, baseline_obs=20, propose_every=3)
    one, two = PerformanceMonitor(3, small), PerformanceMonitor(3, small)
    events_one = drive(one, closes, [lambda j: views[j]], {"m": horizon}, until=k + 1)
    events_two = drive(two, altered, [lambda j: views[j]], {"m": horizon}, until=k + 1)
    assert one.records() == two.records()
    assert one.weight_multipliers() == two.weight_multipliers()
    assert [(j, e.kind, json.dumps(e.payload)) for j, e in events_one] == [
        (j, e.kind, json.dumps(e.payload)) for j, e in events_two
    ]


def test_timeframe_records_pool_the_members_of_each_timeframe() -> None:
    closes = random_walk(120, 4, seed=8)
    monitor = PerformanceMonitor(4)
    members = [
        oracle("a", closes, 1, lambda _k: 1.0, seed=9, timeframe="short"),
        oracle("b", closes, 1, lambda _k: 0.0, seed=10, timeframe="short"),
        coin("c", 4, seed=11, timeframe="trend"),
    ]
    drive(monitor, closes, members, {"short": 1, "trend": 1})
    pooled = monitor.timeframe_records()
    assert set(pooled) == {"short", "trend"}
    assert pooled["short"].n == monitor.records()["a"].n + monitor.records()["b"].n
    assert pooled["short"].hit_rate == pytest.approx(0.5)
    assert pooled["trend"].n == monitor.records()["c"].n


def test_record_snapshots_are_strict_json_and_come_every_propose_every_cycles() -> None:
    closes = random_walk(100, 3, seed=12)
    monitor = PerformanceMonitor(3, MonitorSettings(propose_every=25))
    events = drive(monitor, closes, [coin("c", 3, seed=13), lambda _k: Opinion.silent("s", "advisor", 3, "")], {})
    snaps = [(k, e) for k, e in events if e.kind == RECORDS]
    assert [k for k, _ in snaps] == [24, 49, 74, 99]
    for _k, e in snaps:
        json.dumps(e.payload, allow_nan=False)
    last = {r["member"]: r for r in snaps[-1][1].payload["records"]}
    assert last["s"]["hit_rate"] is None and last["c"]["n"] == 99 * 3


def test_observing_bars_out_of_order_is_refused() -> None:
    monitor = PerformanceMonitor(2)
    monitor.observe(3, START, np.ones(2), [], {})
    with pytest.raises(ValueError, match="in order"):
        monitor.observe(3, START, np.ones(2), [], {})
