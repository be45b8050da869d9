"""Cash, positions and fees in Decimal: the book of record that every number on screen comes from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from papertrader.domain.types import Fill, Lot, Position

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
        self.dividends = ZERO

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

    def apply_split(self, symbol: str, ratio: Decimal, cash_in_lieu_price: Decimal | None = None) -> Decimal:
        """Apply a split of `ratio` new shares per old one to the lots; pay any fractional share in cash.

        Each lot keeps its cost: qty times ratio, price divided by ratio. Whole shares are rounded toward
        zero for the position, the leftover shares go to the lots with the largest fractions, and the
        fraction is sold at cash_in_lieu_price (required when there is one), realising its P&L. Returns
        the cash paid (negative for a short, which pays it).
        """
        if ratio <= 0:
            raise ValueError(f"split ratio must be positive, got {ratio}")
        pos = self._positions.get(symbol)
        if pos is None or ratio == 1:
            return ZERO
        exact = [lot.qty * ratio for lot in pos.lots]
        total_exact = sum(exact, ZERO)
        total = int(total_exact)
        whole = [int(e) for e in exact]
        short = total - sum(whole)
        step = 1 if short > 0 else -1
        by_fraction = sorted(range(len(exact)), key=lambda j: (-abs(exact[j] - whole[j]), j))
        for j in by_fraction[: abs(short)]:
            whole[j] += step
        lots = tuple(Lot(q, lot.price / ratio) for q, lot in zip(whole, pos.lots, strict=True) if q != 0)
        fraction = total_exact - total
        cash = ZERO
        realized = pos.realized_pnl
        if fraction:
            if cash_in_lieu_price is None:
                raise ValueError(f"{symbol}: a {ratio} split leaves {fraction} shares; give cash_in_lieu_price")
            cash = fraction * cash_in_lieu_price
            retained_cost = sum((lot.price * lot.qty for lot in lots), ZERO)
            realized += cash - (pos.cost_basis - retained_cost)
            self.cash += cash
        updated = Position(symbol, lots, realized)
        if updated.qty == 0:
            self._positions.pop(symbol, None)
            self._realized_closed += updated.realized_pnl
        else:
            self._positions[symbol] = updated
        return cash

    def apply_dividend(self, symbol: str, amount_per_share: Decimal) -> Decimal:
        """Credit a cash dividend on the shares held at the ex-date (a short position pays it)."""
        cash = amount_per_share * self.qty(symbol)
        self.cash += cash
        self.dividends += cash
        return cash

    def value(self, marks: Mapping[str, Decimal]) -> Valuation:
        """Mark every position at its latest known price."""
        market = ZERO
        gross = ZERO
        for symbol, pos in self._positions.items():
            worth = marks[symbol] * pos.qty
            market += worth
            gross += abs(worth)
        return Valuation(self.cash, market, gross)
