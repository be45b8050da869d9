"""Cash, positions and fees in Decimal: the book of record that every number on screen comes from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from papertrader.domain.types import Fill, Position

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Valuation:
    """The account marked to market at one moment."""

    cash: Decimal
    market_value: Decimal
    gross_exposure: Decimal

    @property
    def equity(self) -> Decimal:
        """Cash plus the market value of every position."""
        return self.cash + self.market_value


class Ledger:
    """Applies fills exactly; never guesses a price it was not given."""

    def __init__(self, initial_cash: Decimal, positions: Iterable[Position] = (), fees: Decimal = ZERO):
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.fees_paid = fees
        self.traded_notional = ZERO
        self._positions: dict[str, Position] = {p.symbol: p for p in positions if p.qty != 0}
        self._realized_closed = ZERO

    @property
    def positions(self) -> Mapping[str, Position]:
        """Open positions by symbol."""
        return self._positions

    def qty(self, symbol: str) -> int:
        """Shares held (negative when short)."""
        pos = self._positions.get(symbol)
        return pos.qty if pos else 0

    @property
    def realized_pnl(self) -> Decimal:
        """Gross realised P&L over the life of the account (fees are separate)."""
        return self._realized_closed + sum((p.realized_pnl for p in self._positions.values()), ZERO)

    def apply(self, fill: Fill) -> Position:
        """Book one fill: move cash by notional and fee, update the position, return its new state."""
        self.cash += fill.cash_delta
        self.fees_paid += fill.fee
        self.traded_notional += fill.notional
        current = self._positions.get(fill.symbol, Position(fill.symbol))
        updated = current.apply(fill.side, fill.qty, fill.price)
        if updated.qty == 0:
            self._positions.pop(fill.symbol, None)
            self._realized_closed += updated.realized_pnl
        else:
            self._positions[fill.symbol] = updated
        return updated

    def value(self, marks: Mapping[str, Decimal]) -> Valuation:
        """Mark every position at its latest known price."""
        market = ZERO
        gross = ZERO
        for symbol, pos in self._positions.items():
            worth = marks[symbol] * pos.qty
            market += worth
            gross += abs(worth)
        return Valuation(self.cash, market, gross)
