"""ATR stop-loss and take-profit on every position, kept as one OCO pair the broker works like any order.

Each cycle, after the strategy's orders are in, `reconcile` makes every symbol's protective pair cover
exactly the shares that stay held even if every pending order fills: a new position gets a stop
`stop_atr_mult` ATRs against its average entry price and a take-profit `take_profit_atr_mult` ATRs in its
favour (ATR from bars up to this cycle only); a position that grew or shrank gets its pair resized at the
same (split/dividend-adjusted) prices; a closed one loses it. Orders placed at a bar's close work from the
next bar, the same timing as a bracket's exits. When a protective order fills, the symbol is blocked: its
target is forced to flat until the strategy itself says flat (or short) once, so a stop always wins over a
signal that still says "long". Blocks are events, so a resumed run rebuilds them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import talib

from papertrader.config.settings import RiskSettings
from papertrader.core.arrays import Array
from papertrader.domain.events import (
    DomainEvent,
    PositionUnprotected,
    StopBlockCleared,
    StopExited,
)
from papertrader.domain.types import Fill, Order, OrderType, Side, TimeInForce
from papertrader.execution.broker import BrokerReport, PaperBroker
from papertrader.execution.fees import to_decimal
from papertrader.features.technical import PriceArrays, per_symbol
from papertrader.portfolio.ledger import Ledger
from papertrader.risk.stops import stop_levels

STOP, TAKE = "sl", "tp"
EXIT_EVENT, CLEARED_EVENT = StopExited.KIND, StopBlockCleared.KIND


def atr_panel(prices: PriceArrays, period: int) -> Array:
    """(T, N) average true range per symbol; row t uses bars up to t only."""

    def one(p: PriceArrays, _j: int) -> dict[str, Array]:
        return {"atr": talib.ATR(p.high, p.low, p.close, timeperiod=period)}

    return per_symbol(prices, one, ("atr",))["atr"]


def protective_id(run_id: str, cycle: int, symbol: str, leg: str) -> str:
    """Reproducible id of a protective leg, distinct from the strategy's order ids."""
    return f"{run_id}:{cycle:08d}:{leg}:{symbol}"


def is_protective(order_id: str) -> bool:
    """True for the ids protective_id makes."""
    parts = order_id.rsplit(":", 2)
    return len(parts) == 3 and parts[1] in (STOP, TAKE)


class Protector:
    """Owns the protective pairs of one run and the symbols blocked after a protective exit."""

    def __init__(self, run_id: str, symbols: Sequence[str], settings: RiskSettings, atr: Array) -> None:
        self.run_id = run_id
        self.symbols = tuple(symbols)
        self.settings = settings
        self.atr = atr
        #: the cycle number of atr's first row (a bounded live panel drops old rows; cycle numbers stay)
        self.base = 0
        self.blocked: set[str] = set()
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._pairs: dict[str, tuple[str, str]] = {}

    def restore(self, open_orders: Iterable[Order], events: Iterable[DomainEvent]) -> None:
        """Rebuild the pairs from the broker's open orders and the blocks from the stored events."""
        legs: dict[str, dict[str, str]] = {}
        for order in open_orders:
            if is_protective(order.id):
                legs.setdefault(order.symbol, {})[order.id.rsplit(":", 2)[1]] = order.id
        self._pairs = {s: (leg[STOP], leg[TAKE]) for s, leg in legs.items() if STOP in leg and TAKE in leg}
        for event in events:
            if isinstance(event, StopExited):
                self.blocked.add(event.symbol)
            elif isinstance(event, StopBlockCleared):
                self.blocked.discard(event.symbol)

    def on_fills(self, fills: Iterable[Fill], events: list[DomainEvent]) -> None:
        """Block every symbol whose protective order just filled."""
        for fill in fills:
            if is_protective(fill.order_id) and fill.symbol not in self.blocked:
                self.blocked.add(fill.symbol)
                leg = "stop-loss" if fill.order_id.rsplit(":", 2)[1] == STOP else "take-profit"
                events.append(StopExited(fill.ts, fill.symbol, fill.order_id, leg, fill.price))

    def gate(self, weights: Array, now: datetime, events: list[DomainEvent]) -> Array:
        """Targets with blocked symbols forced flat; a block clears once the strategy itself is not long."""
        if not self.blocked:
            return weights
        out = weights.copy()
        for symbol in sorted(self.blocked):
            i = self._index[symbol]
            if weights[i] <= 0.0:
                self.blocked.discard(symbol)
                events.append(StopBlockCleared(now, symbol, float(weights[i])))
            else:
                out[i] = 0.0
        return out

    def reconcile(
        self, k: int, now: datetime, ledger: Ledger, broker: PaperBroker, pending: Array, report: BrokerReport
    ) -> None:
        """Resize, create or cancel each symbol's pair so it covers the shares that stay held.

        `pending` is the signed quantity the strategy's working orders will still trade (pairs excluded).
        """
        held = {s: p.qty for s, p in ledger.positions.items()}
        for symbol in sorted(set(held) | set(self._pairs)):
            qty = held.get(symbol, 0)
            after = qty + int(pending[self._index[symbol]])
            keep = min(abs(qty), abs(after)) if qty * after > 0 else 0
            ids = self._pairs.pop(symbol, ())
            legs = [o for o in (broker.get(i) for i in ids) if o is not None]
            if len(legs) == 2 and legs[0].remaining == keep and keep > 0:
                self._pairs[symbol] = (legs[0].id, legs[1].id)
                continue
            prices = (legs[0].stop_price, legs[1].limit_price) if len(legs) == 2 else (None, None)
            for leg in legs:
                broker.cancel(leg.id, now, f"protection resized to {keep} shares", report)
            if keep == 0:
                continue
            direction = 1 if qty > 0 else -1
            stop_price, take_price = prices
            if stop_price is None or take_price is None:
                levels = self._levels(k, symbol, ledger.positions[symbol].avg_price, direction)
                if levels is None:
                    report.events.append(PositionUnprotected(now, symbol, "no ATR yet for a stop"))
                    continue
                stop_price, take_price = levels
            self._submit(k, now, symbol, keep, direction, stop_price, take_price, broker, report)

    def settled(self, ledger: Ledger, broker: PaperBroker) -> bool:
        """True when `reconcile` would change nothing with no strategy orders pending: every held symbol has its
        pair working in the broker, sized to the position, and no pair outlives its position (sparse stepping)."""
        held = ledger.positions
        if set(held) != set(self._pairs):
            return False
        for symbol, (stop_id, take_id) in self._pairs.items():
            stop, take = broker.get(stop_id), broker.get(take_id)
            if stop is None or take is None or stop.remaining != abs(held[symbol].qty):
                return False
        return True

    def _levels(self, k: int, symbol: str, entry: Decimal, direction: int) -> tuple[Decimal, Decimal] | None:
        atr = float(self.atr[k - self.base, self._index[symbol]])
        if not math.isfinite(atr) or atr <= 0 or entry <= 0:
            return None
        stop, take = stop_levels(
            float(entry), atr, direction, self.settings.stop_atr_mult, self.settings.take_profit_atr_mult
        )
        return _cents(stop), _cents(take)

    def _submit(
        self,
        k: int,
        now: datetime,
        symbol: str,
        qty: int,
        direction: int,
        stop_price: Decimal,
        take_price: Decimal,
        broker: PaperBroker,
        report: BrokerReport,
    ) -> None:
        side = Side.SELL if direction > 0 else Side.BUY
        group = f"{self.run_id}:{k:08d}:protect:{symbol}"
        stop = Order(
            protective_id(self.run_id, k, symbol, STOP),
            symbol,
            side,
            qty,
            OrderType.STOP,
            now,
            tif=TimeInForce.GTC,
            tag="protect",
            stop_price=stop_price,
            oco_group=group,
        )
        take = Order(
            protective_id(self.run_id, k, symbol, TAKE),
            symbol,
            side,
            qty,
            OrderType.LIMIT,
            now,
            limit_price=take_price,
            tif=TimeInForce.GTC,
            tag="protect",
            oco_group=group,
        )
        broker.submit(stop, now, report)
        broker.submit(take, now, report)
        if broker.get(stop.id) is not None and broker.get(take.id) is not None:
            self._pairs[symbol] = (stop.id, take.id)
        else:
            for leg in (stop, take):
                broker.cancel(leg.id, now, "the other protective leg was rejected", report)


def _cents(price: float) -> Decimal:
    """Prices of protective orders on the cent grid."""
    return to_decimal(round(max(price, 0.01), 2))
