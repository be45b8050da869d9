from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from papertrader.domain.types import Fill, Side
from papertrader.portfolio.ledger import Ledger

T0 = datetime(2020, 1, 2, tzinfo=UTC)


def test_round_trip_books_cash_fees_and_realised_pnl_exactly() -> None:
    ledger = Ledger(Decimal("100000"))
    ledger.apply(Fill("o1", "SPY", Side.BUY, 10, Decimal("100.0600"), Decimal("1.00"), T0, 1))
    assert ledger.value({"SPY": Decimal("101")}).equity == Decimal("100000") - Decimal("1000.60") - 1 + 1010
    ledger.apply(Fill("o2", "SPY", Side.SELL, 10, Decimal("109.9400"), Decimal("1.00"), T0, 2))
    assert ledger.positions == {}
    assert ledger.cash == Decimal("100000") + Decimal("98.80") - 2
    assert ledger.realized_pnl == Decimal("98.80")
    assert ledger.fees_paid == Decimal("2.00")


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=4)
fills = st.lists(
    st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(list(Side)), st.integers(1, 500), prices),
    max_size=40,
)


@given(fills, prices, prices)
def test_equity_always_equals_cash_plus_market_value_and_pnl_is_conserved(
    trades: list[tuple[str, Side, int, Decimal]], mark_a: Decimal, mark_b: Decimal
) -> None:
    initial = Decimal("100000")
    ledger = Ledger(initial)
    fees = Decimal(0)
    for n, (symbol, side, qty, price) in enumerate(trades):
        fee = Decimal("1.25")
        fees += fee
        ledger.apply(Fill(f"o{n}", symbol, side, qty, price, fee, T0, n))
    marks = {"A": mark_a, "B": mark_b}
    value = ledger.value(marks)
    assert value.equity == value.cash + sum((marks[s] * p.qty for s, p in ledger.positions.items()), Decimal(0))
    unrealized = sum((p.unrealized(marks[s]) for s, p in ledger.positions.items()), Decimal(0))
    assert value.equity - initial == ledger.realized_pnl + unrealized - fees
    assert ledger.fees_paid == fees
