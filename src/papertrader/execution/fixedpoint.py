"""Exact int64 fixed point for the broker's vectorised market-order step: prices in 0.0001 ticks, fees in cents.

Each function here reproduces one Decimal computation of `execution.fees` digit for digit over arrays of
orders (and, for the few orders of a quiet bar, where numpy's call cost would dominate, over one order in
Python ints with the same formula and the same bounds), or answers None where it cannot promise that (a
price off the 0.0001 grid, a product that would leave int64 or pass Decimal's 28 digits, a commission
model it does not know), so the caller takes the Decimal path instead. Decimal objects are built only for
the fills the step records (`price_decimal`, `fee_decimal`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import Array, BoolArray, IntArray
from papertrader.execution.fees import to_decimal

_BPS = Decimal(10_000)
#: 0.0001, the broker's price grid, is one tick
TICKS_PER_UNIT = 10_000
#: largest |price| taken: below it a float on the 4-decimal grid has a shortest repr that is that number
_MAX_PRICE = 1e9
#: int64 headroom for a product before the half-up rounding doubles it
_ROOM = 2**61


def decimal_parts(value: Decimal) -> tuple[int, int]:
    """value as (n, p) with value == n / 10**p and p >= 0, so Decimal arithmetic becomes integer arithmetic."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{value} is not a finite number")
    n = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    return (n * 10**exponent, 0) if exponent >= 0 else (n, -exponent)


def half_up(num: IntArray, den: int) -> IntArray:
    """num / den rounded half away from zero, for num >= 0 (Decimal's ROUND_HALF_UP)."""
    result: IntArray = (2 * num + den) // (2 * den)
    return result


def grid_ticks(px: Array) -> IntArray | None:
    """Prices as int64 ticks of 0.0001, or None when one is not finite, not positive, too large or off the grid.

    On the grid, `to_decimal(px)` (the float's shortest repr) is exactly ticks / 10**4.
    """
    if not (np.isfinite(px).all() and (px > 0).all() and (px < _MAX_PRICE).all()):
        return None
    ticks = np.rint(px * TICKS_PER_UNIT)
    if not (ticks / TICKS_PER_UNIT == px).all():
        return None
    return ticks.astype(np.int64)


def grid_tick(px: float) -> int | None:
    """`grid_ticks` for one price (Python's round and true division round as numpy's rint and divide do)."""
    if not (math.isfinite(px) and 0 < px < _MAX_PRICE):
        return None
    ticks = round(px * TICKS_PER_UNIT)
    return ticks if ticks / TICKS_PER_UNIT == px else None


def price_decimal(ticks: int) -> Decimal:
    """A price in ticks as the Decimal `adverse_price` returns (always quantized to 0.0001)."""
    return Decimal(ticks).scaleb(-4)


def fee_decimal(cents: int) -> Decimal:
    """A fee in cents as the Decimal `fill_fee` returns for a first fill (quantized to the cent)."""
    return Decimal(cents).scaleb(-2)


@dataclass(frozen=True, slots=True)
class MarketPricer:
    """`cost_price(reference, side, adverse)` of a market order for fixed costs, in ticks.

    adverse_price computes reference * (1 + sign * adverse / 10000) and rounds half-up to 0.0001; the factor
    is the same Decimal for every order of a side, kept here as n / 10**p, so a price is one integer product.
    """

    buy: tuple[int, int]
    sell: tuple[int, int]

    @classmethod
    def for_costs(cls, adverse_bps: Decimal) -> MarketPricer | None:
        """The factors of both sides for this adverse move in basis points, built by adverse_price's own Decimal
        expression; None when a factor is not positive."""
        buy, sell = (decimal_parts(1 + sign * adverse_bps / _BPS) for sign in (1, -1))
        return cls(buy, sell) if buy[0] > 0 and sell[0] > 0 else None

    def ticks(self, reference: IntArray, buys: BoolArray) -> IntArray | None:
        """Fill prices in ticks for references in ticks; None if a product could leave int64."""
        (bn, bp), (sn, sp) = self.buy, self.sell
        if bp != sp:  # 1 +- x / 10**4 carry the same decimals; anything else goes the Decimal way
            return None
        top = int(reference.max()) if reference.size else 0
        if top * max(bn, sn) >= _ROOM or 10**bp >= _ROOM:
            return None
        factor = np.where(buys, bn, sn).astype(np.int64)
        return half_up(reference * factor, 10**bp)

    def tick(self, reference: int, buy: bool) -> int | None:
        """`ticks` for one order, under the same bounds."""
        (bn, bp), (sn, sp) = self.buy, self.sell
        if bp != sp or reference * max(bn, sn) >= _ROOM or 10**bp >= _ROOM:
            return None
        den: int = 10**bp
        return (2 * reference * (bn if buy else sn) + den) // (2 * den)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """`fill_fee` of an order's first fill, in cents, for the commission models that are fixed rationals."""

    model: str
    parts: tuple[tuple[int, int], ...]

    @classmethod
    def for_costs(cls, costs: CostSettings) -> FeeSchedule | None:
        """The schedule for these costs, or None for a model this path leaves to Decimal (Questrade's ECN fees)."""
        model = costs.commission_model
        if model == "bps":
            return cls(model, (decimal_parts(to_decimal(costs.commission_bps)),))
        if model == "flat":
            return cls(model, (decimal_parts(to_decimal(costs.commission_flat)),))
        if model == "per_share":
            return cls(
                model,
                (
                    decimal_parts(to_decimal(costs.commission_min)),
                    decimal_parts(to_decimal(costs.commission_per_share)),
                    decimal_parts(to_decimal(costs.commission_max_pct)),
                ),
            )
        return None

    def cents(self, price: IntArray, qty: IntArray) -> IntArray | None:
        """Fees in cents for first fills of qty shares at price ticks; None if a product could leave int64."""
        notional = price * qty  # ticks x shares; the caller checked it fits
        if self.model == "flat":
            (n, p) = self.parts[0]
            cents = (2 * n * 100 + 10**p) // (2 * 10**p)  # Python ints: the same rounding, any size
            return np.full(price.shape, cents, dtype=np.int64) if cents < _ROOM else None
        if self.model == "bps":
            (n, p) = self.parts[0]
            top = int(notional.max()) if notional.size else 0
            if top * abs(n) >= _ROOM or 10 ** (6 + p) >= _ROOM:
                return None
            # notional * bps / 10**4 dollars: ticks * n / 10**(4 + p + 4) dollars, x100 for cents
            return half_up(notional * n, 10 ** (6 + p))
        (mn, mp), (sn, sp), (cn, cp) = self.parts
        scale = max(mp, sp, cp + 4)  # every term as an integer count of 10**-scale dollars
        top = max(int(notional.max()) if notional.size else 0, int(qty.max()) if qty.size else 0)
        if top * max(abs(mn), abs(sn), abs(cn)) * 10 ** (scale - min(mp, sp, cp + 4)) >= _ROOM or 10**scale >= _ROOM:
            return None
        floor = mn * 10 ** (scale - mp)
        per_share = qty * (sn * 10 ** (scale - sp))
        cap = notional * (cn * 10 ** (scale - cp - 4))
        fee = np.minimum(np.maximum(floor, per_share), cap)
        if scale >= 2:
            return half_up(fee, 10 ** (scale - 2))
        result: IntArray = fee * 10 ** (2 - scale)
        return result

    def cent(self, price: int, qty: int) -> int | None:
        """`cents` for one first fill, under the same bounds."""
        notional = price * qty
        if self.model == "flat":
            (n, p) = self.parts[0]
            cents = (2 * n * 100 + 10**p) // (2 * 10**p)
            return cents if cents < _ROOM else None
        if self.model == "bps":
            (n, p) = self.parts[0]
            if notional * abs(n) >= _ROOM or 10 ** (6 + p) >= _ROOM:
                return None
            den: int = 10 ** (6 + p)
            return (2 * notional * n + den) // (2 * den)
        (mn, mp), (sn, sp), (cn, cp) = self.parts
        scale = max(mp, sp, cp + 4)
        top = max(notional, qty)
        if top * max(abs(mn), abs(sn), abs(cn)) * 10 ** (scale - min(mp, sp, cp + 4)) >= _ROOM or 10**scale >= _ROOM:
            return None
        fee: int = min(
            max(mn * 10 ** (scale - mp), qty * (sn * 10 ** (scale - sp))), notional * (cn * 10 ** (scale - cp - 4))
        )
        if scale >= 2:
            unit: int = 10 ** (scale - 2)
            return (2 * fee + unit) // (2 * unit)
        up: int = 10 ** (2 - scale)
        return fee * up
