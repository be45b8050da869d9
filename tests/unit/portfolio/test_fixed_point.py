"""The ledger's fixed-point valuation is the Decimal valuation, digit for digit (value, sign and exponent)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from papertrader.domain.types import Fill, Position, Side
from papertrader.execution.fees import to_decimal
from papertrader.portfolio.ledger import Ledger, fixed_marks, from_ticks

T0 = datetime(2020, 1, 2, tzinfo=UTC)
SYMBOLS = ("A", "B", "C")


def _decimal_value(ledger: Ledger, closes: np.ndarray) -> tuple[str, str, str]:
    """The valuation the engine made before the array core: Decimal marks through `Ledger.value`."""
    marks = {s: to_decimal(closes[SYMBOLS.index(s)]) for s in ledger.positions}
    v = ledger.value(marks)
    return str(v.cash), str(v.market_value), str(v.gross_exposure)


def _fixed_value(ledger: Ledger, closes: np.ndarray) -> tuple[str, str, str]:
    v = ledger.value_closes(closes)
    return str(v.cash), str(v.market_value), str(v.gross_exposure)


def test_fixed_marks_carry_the_exponent_that_to_decimal_gives() -> None:
    for price in (100.0, 97.3, 97.31, 97.315, 97.3156, 0.0001, 12345678.5, 3.0):
        fixed = fixed_marks(np.array([price]))
        assert fixed is not None
        ticks, exponent = fixed
        assert Decimal(int(ticks[0])).scaleb(-4) == to_decimal(price)
        assert exponent == to_decimal(price).as_tuple().exponent


def test_fixed_marks_refuse_off_grid_non_finite_and_non_positive_prices() -> None:
    for price in (97.31234, 1 / 3, float("nan"), float("inf"), 0.0, -5.0, 2e9):
        assert fixed_marks(np.array([100.0, price])) is None


def test_from_ticks_builds_the_decimal_with_the_asked_exponent_and_refuses_off_grid_counts() -> None:
    assert repr(from_ticks(973100, -2)) == "Decimal('97.31')"
    assert repr(from_ticks(-4865500, -2)) == "Decimal('-486.55')"
    assert repr(from_ticks(0, -1)) == "Decimal('0.0')"
    try:
        from_ticks(973101, -2)
    except ValueError:
        pass
    else:
        raise AssertionError("an off-grid tick count must not be rounded silently")


def test_holdings_follow_fills_and_flat_positions_leave_the_array_at_zero() -> None:
    ledger = Ledger(Decimal("100000"), symbols=SYMBOLS)
    ledger.apply(Fill("o1", "B", Side.BUY, 10, Decimal("10.0000"), Decimal("1.00"), T0, 1))
    ledger.apply(Fill("o2", "C", Side.SELL, 4, Decimal("20.0000"), Decimal("1.00"), T0, 2))
    assert ledger.holdings().tolist() == [0.0, 10.0, -4.0]
    ledger.apply(Fill("o3", "B", Side.SELL, 10, Decimal("11.0000"), Decimal("1.00"), T0, 3))
    assert ledger.holdings().tolist() == [0.0, 0.0, -4.0]
    ledger.apply_split("C", Decimal(2))
    assert ledger.holdings().tolist() == [0.0, 0.0, -8.0]


def test_a_ledger_restored_from_positions_starts_with_their_holdings() -> None:
    pos = Position("A").apply(Side.BUY, 7, Decimal("5.0000"))
    ledger = Ledger(Decimal("1000"), [pos], symbols=SYMBOLS)
    assert ledger.holdings().tolist() == [7.0, 0.0, 0.0]


def test_an_empty_book_values_to_cash_as_the_decimal_path_does() -> None:
    ledger = Ledger(Decimal("100000.0"), symbols=SYMBOLS)
    closes = np.array([1.0, 2.0, np.nan])
    assert _fixed_value(ledger, closes) == _decimal_value(ledger, closes)


def test_off_grid_and_missing_marks_fall_back_to_the_decimal_path() -> None:
    ledger = Ledger(Decimal("100000.0"), symbols=SYMBOLS)
    ledger.apply(Fill("o1", "A", Side.BUY, 3, Decimal("10.0000"), Decimal("1.00"), T0, 1))
    for closes in (np.array([10.123456, 1.0, 1.0]), np.array([1 / 3, 1.0, 1.0])):
        assert _fixed_value(ledger, closes) == _decimal_value(ledger, closes)
    nan = np.array([np.nan, 1.0, 1.0])
    assert _fixed_value(ledger, nan)[1] == _decimal_value(ledger, nan)[1] == "NaN"


grid_prices = st.integers(1, 50_000_000).map(lambda t: t / 10_000)
trades = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(list(Side)), st.integers(1, 5_000), grid_prices),
    max_size=30,
)


@given(trades, st.lists(st.one_of(grid_prices, st.floats(0.01, 5000)), min_size=3, max_size=3))
def test_fixed_point_valuation_equals_the_decimal_one_digit_for_digit(
    book: list[tuple[str, Side, int, float]], marks: list[float]
) -> None:
    ledger = Ledger(to_decimal(100000.0), symbols=SYMBOLS)
    for n, (symbol, side, qty, price) in enumerate(book):
        ledger.apply(Fill(f"o{n}", symbol, side, qty, to_decimal(price), Decimal("1.00"), T0, n))
    closes = np.array(marks)
    assert _fixed_value(ledger, closes) == _decimal_value(ledger, closes)


@given(
    st.sampled_from(list(Side)),
    st.integers(1, 5_000_000),
    grid_prices,
    st.one_of(grid_prices, st.floats(0.01, 5000), st.sampled_from([np.nan, np.inf, 0.0, -1.0, 2e9, 123456.78905])),
)
def test_a_single_position_is_valued_in_python_ints_digit_for_digit_as_the_decimal_path(
    side: Side, qty: int, price: float, mark: float
) -> None:
    # one position takes `value_closes`' Python-int path; any mark it refuses falls back, so all agree
    ledger = Ledger(to_decimal(100000.0), symbols=SYMBOLS)
    ledger.apply(Fill("o1", "B", side, qty, to_decimal(price), Decimal("1.00"), T0, 1))
    closes = np.array([1.0, mark, 2.0])
    assert _fixed_value(ledger, closes) == _decimal_value(ledger, closes)
