"""Fill models: where and how much of an order trades inside one bar, conservatively.

The path model. A bar gives open, high, low, close but not the order in which high and low happened.
The open is the bar's first print, so anything decided AT the open is certain; everything after it is
resolved against the trader:

- Market orders fill at the open of the first eligible bar (never a bar that opened before the order,
  plus latency), paying half the spread, slippage and market impact.
- A buy limit at L fills at the open if the open is at or below L (a marketable order: it pays the
  costs of a market order but never more than L); otherwise only if the bar TRADES THROUGH L
  (low < L; a touch is not enough, since the queue ahead of us may have absorbed it), at L and with no
  spread (it rests and provides liquidity). Sell limits mirror this.
- A buy stop at S triggers when the price reaches S. If the bar opens at or beyond S the stop gapped:
  it fills at the open (worse than S), plus costs. Otherwise, if high >= S it fills at S plus costs.
  Sell stops mirror this with the low. A triggered stop that could not fill in full keeps working as a
  market order.
- A stop-limit triggers like a stop and then works as a limit. After a gap trigger at the open, the
  limit may still fill later in the bar (low < L for a buy), because the open precedes the low. After
  an intra-bar trigger the limit fills only if the trigger price itself is within the limit; whether
  the price came back through the limit later in that bar is unknown, so the model assumes it did not.
- OCO siblings (a bracket's stop-loss and take-profit) that could both fill in one bar: if one of them
  fills at the open, that one; otherwise the one with the WORSE price for the trader (the stop-loss).
- Partial fills: all our orders in one symbol take at most `max_volume_fraction` of the bar's volume;
  what is left keeps working into later bars under its time in force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from papertrader.domain.types import Order, OrderType, Side
from papertrader.execution.fees import adverse_price

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Match:
    """Where an order meets one bar: a reference price, whether it was the open, and what it costs.

    price is None when the bar only triggered a stop-limit whose limit it then did not reach.
    takes_liquidity: it pays spread, slippage and impact on the reference (market-like); otherwise
    it fills exactly at its resting limit price. cap: a marketable limit never pays beyond its limit.
    """

    price: Decimal | None
    at_open: bool
    takes_liquidity: bool
    triggers: bool = False
    cap: Decimal | None = None


def _better_or_equal(side: Side, a: Decimal, b: Decimal) -> bool:
    """For this side, is price a at least as good as b (lower for buys, higher for sells)?"""
    return a <= b if side is Side.BUY else a >= b


def _through(side: Side, low: Decimal, high: Decimal, limit: Decimal) -> bool:
    """Did the bar trade strictly through a resting limit (below a buy, above a sell)?"""
    return low < limit if side is Side.BUY else high > limit


def _reaches(side: Side, low: Decimal, high: Decimal, stop: Decimal) -> bool:
    """Did the bar reach a stop (at or above a buy stop, at or below a sell stop)?"""
    return high >= stop if side is Side.BUY else low <= stop


def _limit_match(order: Order, open_: Decimal, low: Decimal, high: Decimal, triggers: bool = False) -> Match | None:
    limit = order.limit_price
    assert limit is not None
    if _better_or_equal(order.side, open_, limit):
        return Match(open_, True, True, triggers, cap=limit)
    if _through(order.side, low, high, limit):
        return Match(limit, False, False, triggers)
    return Match(None, True, False, True) if triggers else None


def match_order(order: Order, open_: Decimal, high: Decimal, low: Decimal) -> Match | None:
    """Where this order would trade in a bar under the adverse path model, or None if it does not."""
    if order.type is OrderType.MARKET or (order.type is OrderType.STOP and order.is_triggered):
        return Match(open_, True, True)
    if order.type is OrderType.LIMIT or (order.type is OrderType.STOP_LIMIT and order.is_triggered):
        return _limit_match(order, open_, low, high)
    stop = order.stop_price
    assert stop is not None
    gapped = not _better_or_equal(order.side, open_, stop) or open_ == stop
    if order.type is OrderType.STOP:
        if gapped:
            return Match(open_, True, True, True)
        if _reaches(order.side, low, high, stop):
            return Match(stop, False, True, True)
        return None
    # stop-limit, not yet triggered
    limit = order.limit_price
    assert limit is not None
    if gapped:
        return _limit_match(order, open_, low, high, triggers=True)
    if _reaches(order.side, low, high, stop):
        if _better_or_equal(order.side, stop, limit):
            return Match(stop, False, True, True, cap=limit)
        return Match(None, False, False, True)
    return None


def cost_price(reference: Decimal, side: Side, adverse_bps: Decimal, cap: Decimal | None = None) -> Decimal:
    """Reference moved against the trader by adverse_bps, but never beyond a limit price cap."""
    price = adverse_price(reference, side, adverse_bps)
    if cap is not None:
        price = min(price, cap) if side is Side.BUY else max(price, cap)
    return price


def sqrt_impact_bps(qty: float, adv: float, sigma: float, k: float) -> float:
    """Square-root market impact k * sigma * sqrt(qty / ADV) in basis points; 0 when inputs are unknown."""
    if k <= 0 or qty <= 0 or not (math.isfinite(adv) and math.isfinite(sigma)) or adv <= 0 or sigma <= 0:
        return 0.0
    return k * sigma * math.sqrt(qty / adv) * 1e4


def volume_capacity(volume: float, fraction: float | None) -> int:
    """Shares all our orders in a symbol may take from a bar with this volume."""
    if fraction is None:
        return 2**62
    if not math.isfinite(volume) or volume <= 0:
        return 0
    return math.floor(volume * fraction + 1e-9)


def adverse_choice(candidates: list[tuple[Order, Match]]) -> tuple[Order, Match]:
    """Of OCO siblings that could all fill in one bar: the one at the open, else the worst for the trader."""
    at_open = [c for c in candidates if c[1].at_open and c[1].price is not None]
    if at_open:
        return at_open[0]

    def worst(c: tuple[Order, Match]) -> Decimal:
        order, m = c
        price = m.price if m.price is not None else ZERO
        return price if order.side is Side.BUY else -price

    return max(candidates, key=worst)
