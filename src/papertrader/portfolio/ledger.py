"""Cash, positions and fees in Decimal: the book of record that every number on screen comes from.

Marking to market runs every cycle, so a ledger built with its universe (`symbols=`) also keeps the
shares held per symbol as an int64 array and values the book in exact fixed point (`value_closes`):
prices on the 0.0001 grid as int64 ticks, market value as the integer sum of shares x ticks, and one
Decimal built per total, with the exponent Decimal arithmetic would have given, so the result is
identical to `value` (a mark off the grid falls back to the Decimal path).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from papertrader.core.arrays import Array, IntArray
from papertrader.domain.types import Fill, Lot, Position, Side

ZERO = Decimal(0)
#: Fixed-point scale of a price: 0.0001 (the broker's price grid) is one tick.
TICKS_PER_UNIT = 10_000
#: Largest |mark| the fixed-point path takes: beyond it a float's shortest repr may leave the 4-decimal grid.
_MAX_MARK = 1e9
_INT64_ROOM = 2**62


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

    def __init__(
        self,
        initial_cash: Decimal,
        positions: Iterable[Position] = (),
        fees: Decimal = ZERO,
        symbols: Sequence[str] | None = None,
    ):
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.fees_paid = fees
        self.traded_notional = ZERO
        self._positions: dict[str, Position] = {p.symbol: p for p in positions if p.qty != 0}
        self._realized_closed = ZERO
        self.dividends = ZERO
        self._slot: dict[str, int] | None = None
        self._held = np.zeros(0, dtype=np.int64)
        if symbols is not None:
            self._slot = {s: i for i, s in enumerate(symbols)}
            self._held = np.zeros(len(symbols), dtype=np.int64)
            for pos in self._positions.values():
                self._held[self._slot[pos.symbol]] = pos.qty

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
        """Book one fill: move cash by notional and fee, update the position, return its new state.

        The notional is computed once (`Fill.cash_delta` and `Fill.notional` are the same products), and a fill
        that opens a position or closes its only lot is booked directly: the Decimals `Position.apply` computes.
        """
        symbol, price, qty, fee = fill.symbol, fill.price, fill.qty, fill.fee
        notional = price * qty
        buy = fill.side is Side.BUY
        self.cash += -1 * notional - fee if buy else 1 * notional - fee  # Fill.cash_delta
        self.fees_paid += fee
        self.traded_notional += notional
        signed = qty if buy else -qty
        current = self._positions.get(symbol)
        if current is None:  # Position(symbol).apply: one new lot, nothing realised
            updated = Position(symbol, (Lot(signed, price),), ZERO)
            self._positions[symbol] = updated
            if self._slot is not None:
                self._held[self._slot[symbol]] = signed
            return updated
        lots = current.lots
        if len(lots) == 1 and lots[0].qty == -signed:  # closes the one lot: Position.apply's loop, once
            lot = lots[0]
            direction = 1 if lot.qty > 0 else -1
            realized = current.realized_pnl
            realized += (price - lot.price) * qty * direction
            updated = Position(symbol, (), realized)
        else:
            updated = current.apply(fill.side, qty, price)
        self._store(updated)
        return updated

    def _store(self, updated: Position) -> None:
        """Keep a position's new state (dropping it at zero) and the shares-held array in step."""
        qty = updated.qty
        if qty == 0:
            self._positions.pop(updated.symbol, None)
            self._realized_closed += updated.realized_pnl
        else:
            self._positions[updated.symbol] = updated
        if self._slot is not None:
            self._held[self._slot[updated.symbol]] = qty

    def holdings(self) -> Array:
        """Shares held per symbol in universe order, as floats (a fresh array the caller may change)."""
        if self._slot is None:
            raise ValueError("holdings() needs a ledger built with its symbols")
        return self._held.astype(np.float64)

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
        self._store(Position(symbol, lots, realized))
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

    def value_closes(self, closes: Array) -> Valuation:
        """`value` with each held symbol marked at closes[i] (universe order), in exact int64 fixed point.

        Identical to `value({s: to_decimal(closes[i])})`, digit for digit; any mark that is not finite or not
        on the 0.0001 grid sends the whole valuation down the Decimal path.
        """
        if self._slot is None:
            raise ValueError("value_closes() needs a ledger built with its symbols")
        idx = self._held.nonzero()[0]
        if idx.size == 0:
            return Valuation(self.cash, ZERO, ZERO)
        if idx.size == 1:  # one position (a one-symbol run): the same integer arithmetic in Python ints
            one = _fixed_one(int(self._held[idx[0]]), float(closes[idx[0]]))
            if one is not None:
                return Valuation(self.cash, one[0], one[1])
        held = self._held[idx]
        px = closes[idx]
        fixed = fixed_marks(px)
        if fixed is not None:
            ticks, exponent = fixed
            if int(np.abs(held).max()) * int(ticks.max()) < _INT64_ROOM // max(1, idx.size):
                worth = held * ticks
                market = from_ticks(int(worth.sum()), exponent)
                gross = from_ticks(int(np.abs(worth).sum()), exponent)
                return Valuation(self.cash, market, gross)
        from papertrader.execution.fees import to_decimal  # the Decimal path, exactly as the engine marks

        symbols = list(self._slot)
        return self.value({symbols[i]: to_decimal(closes[i]) for i in idx})


def _fixed_one(held: int, px: float) -> tuple[Decimal, Decimal] | None:
    """(market value, gross exposure) of one position as `value_closes`' array path books it, or None where that
    path would refuse the mark or the product (then the caller takes the array and Decimal paths as before).

    The same float tests as `fixed_marks` on one element (`round` rounds half to even, as `np.rint` does; a
    non-finite mark is refused first, as every comparison refuses it there) and the same int64 room bound.
    """
    if not (math.isfinite(px) and px > 0 and px < _MAX_MARK):
        return None
    ticks = float(round(px * TICKS_PER_UNIT))
    if ticks / TICKS_PER_UNIT != px:
        return None
    whole = int(ticks)
    if abs(held) * whole >= _INT64_ROOM:
        return None
    common = math.gcd(whole, 1000)
    exponent = -1 if common == 1000 else -2 if common % 100 == 0 else -3 if common % 10 == 0 else -4
    worth = held * whole
    return from_ticks(worth, exponent), from_ticks(abs(worth), exponent)


def fixed_marks(px: Array) -> tuple[IntArray, int] | None:
    """Marks as int64 ticks of 0.0001 and the smallest Decimal exponent their shortest reprs carry, or None.

    None when a mark is not finite, not positive, too large, or not on the 0.0001 grid. A float x is on the
    grid exactly when rint(x * 10**4) / 10**4 == x (below 1e9 a 4-decimal number has at most 13 significant
    digits, so its shortest repr is that number); its decimals are then those of the tick count, and repr
    writes at least one decimal ('100.0'), so the exponent is -max(decimals, 1).
    """
    ticks = np.rint(px * TICKS_PER_UNIT)
    # a NaN fails every comparison and an infinity the bound, so this one mask also refuses what is not finite
    if not ((ticks / TICKS_PER_UNIT == px) & (px > 0) & (px < _MAX_MARK)).all():
        return None
    whole = ticks.astype(np.int64)
    # on the grid, the decimals are those of the integer tick count: the largest of 1000, 100, 10 dividing all
    common = math.gcd(int(np.gcd.reduce(whole)), 1000)
    return whole, -1 if common == 1000 else -2 if common % 100 == 0 else -3 if common % 10 == 0 else -4


def from_ticks(total: int, exponent: int) -> Decimal:
    """An exact integer count of 0.0001 ticks as the Decimal with the given exponent (-4 <= exponent <= 0)."""
    step = 10 ** (4 + exponent)
    coefficient, rest = divmod(total, step)
    if rest:
        raise ValueError(f"{total} ticks are not on the 1e{exponent} grid")
    return Decimal(coefficient).scaleb(exponent)
