"""Risk events in words, shared by the API's alerts and the tear sheet so both say the same thing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: what each risk event kind means, for readers who do not know the event names
MEANING = {
    "order.denied": "an order the strategy wanted was not sent (the rule named blocked it)",
    "order.reduced": "a target weight was cut by the rule named before ordering",
    "order.resized": "position sizing raised a target weight; the rule named limited how far",
    "order.rejected": "the broker refused an order (e.g. not enough cash)",
    "order.cancelled": "a working order was cancelled (replaced by a newer target, or at the session's end)",
    "order.expired": "a day order reached the session's end unfilled",
    "health": "a component (data, signals, database, models) changed status",
}


def _pct(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "?"
    return f"{number:.2%}" if math.isfinite(number) else "?"


def _abs(value: Any) -> float:
    try:
        number = abs(float(value))
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def is_rise(kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether a resize event raised the target (runs stored before order.resized logged rises as order.reduced)."""
    return kind == "order.resized" or _abs(payload.get("allowed_weight")) > _abs(payload.get("requested_weight"))


def resize_sentence(kind: str, payload: Mapping[str, Any]) -> str:
    """`AAPL: target weight cut from 20.00% to 10.00% by vol_target` (or `raised`): a rise never reads as a cut."""
    symbol, rule = payload.get("symbol"), payload.get("rule")
    if "requested_weight" not in payload:  # max_order_fraction: in shares
        return f"{symbol}: order cut from {payload.get('requested')} to {payload.get('allowed')} shares by {rule}"
    before, after = _pct(payload.get("requested_weight")), _pct(payload.get("allowed_weight"))
    if is_rise(kind, payload):
        return (
            f"{symbol}: target weight raised from {before} to {after} by position sizing ({rule} limited the increase)"
        )
    return f"{symbol}: target weight cut from {before} to {after} by {rule}"
