"""The bulk readings of a quiet stretch (engine/quiet.py) equal the per-cycle code they replace, number for number.

Real daily bars from tests/support.py (AAPL, SPY) where the series matters; a synthetic series only where a test says
so (intraday sessions that fire the daily loss limit and the kill switch at known cycles).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array
from papertrader.domain.types import Lot, Position
from papertrader.engine.guard import DrawdownGuard
from papertrader.engine.quiet import budget_fractions, cash_ticks, fixed_marks, guard_quiet_span, observe_span
from papertrader.execution.fees import to_decimal
from papertrader.portfolio.ledger import Ledger
from papertrader.risk.drawdown import budget_fraction
from papertrader.risk.limits import DailyLossLimit, DrawdownKillSwitch
from support import load_shared_daily


def _real(symbol: str, rows: int = 1500) -> tuple[Array, Array, Array, Array, list[date]]:
    bars = load_shared_daily(symbol).tail(rows)
    days = [t.date() for t in bars["ts"].dt.tz_convert("America/New_York")]
    cols = (bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close"))
    o, h, lo, c = cols
    return o, h, lo, c, days


def _loop(
    kill: DrawdownKillSwitch, daily: DailyLossLimit, equity: Array, days: list[date]
) -> tuple[int, list[float], DrawdownKillSwitch, DailyLossLimit]:
    """What `RiskEngine.observe` does cycle by cycle, stopping before the first cycle a limit fires on."""
    kill, daily = copy.copy(kill), copy.copy(daily)
    peaks: list[float] = []
    for r, (e, d) in enumerate(zip(equity.tolist(), days, strict=True)):
        trial_kill, trial_daily = copy.copy(kill), copy.copy(daily)
        fired_kill = trial_kill.observe(e)
        fired_daily = trial_daily.observe(d, e)
        if fired_kill or fired_daily:
            return r, peaks, kill, daily
        kill, daily = trial_kill, trial_daily
        peaks.append(kill.peak)
    return len(equity), peaks, kill, daily


def _codes(days: list[date]) -> tuple[np.ndarray, list[date]]:
    unique = sorted(set(days))
    where = {d: i for i, d in enumerate(unique)}
    return np.array([where[d] for d in days], dtype=np.int32), unique


def _assert_same(equity: Array, days: list[date], kill: DrawdownKillSwitch, daily: DailyLossLimit) -> int:
    day, unique = _codes(days)
    got = observe_span(kill, daily, equity, day, unique)
    n, peaks, k_after, d_after = _loop(kill, daily, equity, days)
    assert got.quiet == n
    assert got.peaks.tolist() == peaks
    assert (got.kill_switch.peak, got.kill_switch.fired_at_drawdown) == (k_after.peak, k_after.fired_at_drawdown)
    assert (got.daily.session, got.daily.start_equity, got.daily.last_equity, got.daily.hit_at_loss) == (
        d_after.session,
        d_after.start_equity,
        d_after.last_equity,
        d_after.hit_at_loss,
    )
    return n


@pytest.mark.parametrize("symbol", ["AAPL", "SPY"])
def test_vectorised_loss_limits_equal_observing_each_cycle_on_real_bars(symbol: str) -> None:
    _, _, _, close, days = _real(symbol)
    equity = 50_000.0 + 300.0 * close  # cash and 300 shares marked at each real close
    fired = 0
    for limit, drawdown in ((0.01, 0.05), (0.03, 0.2), (0.2, 0.9)):
        for start in range(0, len(equity) - 200, 97):
            kill = DrawdownKillSwitch(drawdown, peak=float(equity[start]) * 1.01)
            daily = DailyLossLimit(limit, session=days[start] - timedelta(days=1), last_equity=float(equity[start]))
            n = _assert_same(equity[start + 1 : start + 200], days[start + 1 : start + 200], kill, daily)
            fired += n < 199
    assert fired > 10, "the real series crosses the limits often enough to test where the stretch ends"


def test_vectorised_loss_limits_equal_the_loop_within_sessions_on_a_synthetic_series_that_says_so() -> None:
    # synthetic: 5 cycles a session, equity walking so that both limits fire at known places, and a session the
    # state already started (no new session at the first cycle) with its start equity carried in
    rng = np.random.default_rng(7)
    equity = 100_000.0 * np.cumprod(1.0 + rng.normal(0.0, 0.004, 400))
    days = [date(2020, 1, 1) + timedelta(days=r // 5) for r in range(400)]
    for start in range(0, 380, 3):
        kill = DrawdownKillSwitch(0.08, peak=float(equity[: start + 1].max()))
        daily = DailyLossLimit(0.006, session=days[start], start_equity=float(equity[start - start % 5]))
        daily.last_equity = float(equity[start])
        _assert_same(equity[start + 1 :], days[start + 1 :], kill, daily)
    fired = DrawdownKillSwitch(0.01, peak=2e5, fired_at_drawdown=-0.5)  # already fired: never again, peak moves
    _assert_same(equity, days, fired, DailyLossLimit(1.0))


def test_vectorised_guard_reading_equals_drawdown_guard_quiet_bar_by_bar_on_real_bars() -> None:
    o, h, lo, c, _ = _real("AAPL", 2500)
    settings = RiskSettings(max_drawdown=0.1, gap_allowance=0.02)
    guard = DrawdownGuard("t", ("X", "Y"), settings)
    acted = 0
    for qty, cash in ((400.0, 20_000.0), (-150.0, 90_000.0), (2_000.0, 1_000.0)):
        held = np.array([0.0, qty])
        for peak_scale in (1.0, 1.03, 1.08):
            opens = np.column_stack([np.full_like(o, np.nan), o])
            highs, lows = np.column_stack([np.full_like(h, np.nan), h]), np.column_stack([np.full_like(lo, np.nan), lo])
            before = np.column_stack([np.full_like(c, np.nan), np.r_[c[0], c[:-1]]])
            peaks = (cash + qty * np.maximum.accumulate(np.r_[c[0], c[:-1]])) * peak_scale
            got = guard_quiet_span(settings, guard.exit_cost, opens, lows, highs, peaks, cash, held, before)
            assert got is not None
            want = [
                guard.quiet(opens[r], lows[r], highs[r], float(peaks[r]), cash, held, before[r]) for r in range(len(o))
            ]
            assert got.tolist() == want
            acted += len(want) - sum(want)
    assert acted > 50, "the guard acts on enough real bars for the comparison to mean something"


def test_guard_reading_of_several_positions_is_left_to_the_per_bar_code() -> None:
    settings = RiskSettings()
    rows = np.ones((3, 2))
    got = guard_quiet_span(settings, 0.0, rows, rows, rows, np.ones(3), 1.0, np.array([1.0, 2.0]), rows)
    assert got is None
    flat = guard_quiet_span(settings, 0.0, rows, rows, rows, np.ones(3), 1.0, np.zeros(2), rows)
    assert flat is not None and flat.all()


def _ledger(cash: str, holdings: dict[str, int], symbols: tuple[str, ...]) -> Ledger:
    positions = [Position(s, (Lot(q, Decimal("10.00")),)) for s, q in holdings.items()]
    return Ledger(Decimal(cash), positions, symbols=symbols)


@pytest.mark.parametrize(
    ("cash", "holdings"),
    [
        ("100000.00", {}),
        ("12345.6789", {"A": 300}),
        ("-5000.5", {"A": 120, "B": -40}),
        ("77.1", {"A": -10}),
        ("1000", {"A": 5, "B": 7}),
    ],
)
def test_fixed_point_valuations_equal_the_ledger_digit_for_digit_on_real_closes(
    cash: str, holdings: dict[str, int]
) -> None:
    _, _, _, aapl, _ = _real("AAPL", 400)
    _, _, _, spy, _ = _real("SPY", 400)
    closes = np.column_stack([aapl, spy])
    ledger = _ledger(cash, holdings, ("A", "B"))
    marks = fixed_marks(ledger.cash, ledger.holdings().astype(np.int64), closes)
    assert marks is not None and len(marks) == len(closes)
    equity = marks.equity
    gross = marks.gross_floats()
    for r in range(len(closes)):
        want = ledger.value_closes(closes[r])
        got = marks.valuation(r)
        assert repr(got) == repr(want)  # the same digits and exponents, not only equal values
        assert equity[r] == float(want.equity) and gross[r] == float(want.gross_exposure)
    head = marks.head(7)
    assert [repr(head.valuation(r)) for r in range(7)] == [repr(marks.valuation(r)) for r in range(7)]


def test_fixed_point_path_declines_what_it_cannot_promise() -> None:
    ledger = _ledger("1000", {"A": 3}, ("A",))
    assert fixed_marks(ledger.cash, np.array([3]), np.array([[10.00001]])) is None  # off the 0.0001 grid
    assert fixed_marks(ledger.cash, np.array([3]), np.array([[np.nan]])) is None
    assert fixed_marks(Decimal("10.123456"), np.array([3]), np.array([[10.0]])) is None  # a dividend's digits
    assert cash_ticks(Decimal("10.1234")) == 101234 and cash_ticks(Decimal("1E+3")) == 10_000_000
    assert fixed_marks(ledger.cash, np.array([3]), np.array([[to_decimal(10.5).__float__()]])) is not None


def test_budget_fractions_equal_budget_fraction_on_real_equity() -> None:
    _, _, _, close, _ = _real("SPY")
    equity = np.r_[0.0, -5.0, 10_000.0 + 50.0 * close]
    peaks = np.maximum.accumulate(equity) * 1.02
    for limit in (0.0, 0.1, 0.45):
        want = [budget_fraction(float(e), float(p), limit) for e, p in zip(equity, peaks, strict=True)]
        assert budget_fractions(equity, peaks, limit).tolist() == want
