"""`Ledger.apply` books a fill that opens a position or closes its only lot directly; the result must be the
Decimals the general path (`Fill.cash_delta`, `Position.apply`) gives, record for record (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from papertrader.domain.types import Fill, Position, Side
from papertrader.portfolio.ledger import Ledger

SYMBOLS = ("AAA", "BBB")
AT = datetime(2020, 1, 6, 14, 30, tzinfo=UTC)
FILL = st.tuples(
    st.sampled_from(SYMBOLS),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 300),
    st.integers(1, 2_000_000).map(lambda t: Decimal(t).scaleb(-4)),
    st.sampled_from([Decimal("0"), Decimal("1.00"), Decimal("0.37")]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(FILL, min_size=1, max_size=30), st.booleans())
def test_the_fast_booking_equals_position_apply_fill_for_fill(fills: list[tuple], close_often: bool) -> None:
    ledger = Ledger(Decimal("100000.00"), symbols=SYMBOLS)
    cash, fees, notional = Decimal("100000.00"), Decimal(0), Decimal(0)
    positions: dict[str, Position] = {}
    closed = Decimal(0)
    for seq, (symbol, side, qty, price, fee) in enumerate(fills):
        held = positions.get(symbol, Position(symbol)).qty
        if close_often and held and seq % 2:  # close the position exactly (the one-lot close)
            side, qty = (Side.SELL if held > 0 else Side.BUY), abs(held)
        fill = Fill(f"o{seq}", symbol, side, qty, price, fee, AT, seq)
        got = ledger.apply(fill)
        cash, fees, notional = cash + fill.cash_delta, fees + fee, notional + fill.notional
        expected = positions.get(symbol, Position(symbol)).apply(side, qty, price)
        positions[symbol] = expected
        if expected.qty == 0:  # the ledger drops a flat position and keeps what it realised
            closed += positions.pop(symbol).realized_pnl
        assert repr(got) == repr(expected)
        assert (repr(ledger.cash), repr(ledger.fees_paid), repr(ledger.traded_notional)) == (
            repr(cash),
            repr(fees),
            repr(notional),
        )
    assert ledger.holdings().tolist() == [float(positions.get(s, Position(s)).qty) for s in SYMBOLS]
    assert repr(ledger.realized_pnl) == repr(closed + sum((p.realized_pnl for p in positions.values()), Decimal(0)))
