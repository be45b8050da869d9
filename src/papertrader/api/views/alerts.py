"""Alerts: risk and health events as a severity and one sentence, for the risk page and the stream.

No route of its own: GET /risk lists a run's alerts and the stream sends each one as it happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from papertrader.api.schemas import AlertView, Severity
from papertrader.api.views.convert import to_float
from papertrader.domain.events import DomainEvent
from papertrader.risk.wording import resize_sentence


def _jsonable(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Event payloads as JSON values (Decimal and datetimes as strings)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, str | int | float | bool) or value is None:
            out[str(key)] = value
        elif isinstance(value, Mapping):
            out[str(key)] = _jsonable(value)
        elif isinstance(value, list | tuple):
            out[str(key)] = [v if isinstance(v, str | int | float | bool) or v is None else str(v) for v in value]
        else:
            out[str(key)] = str(value)
    return out


def alert_view(event: DomainEvent) -> AlertView:
    """A risk or health event as an alert with a severity and a sentence."""
    p = event.payload
    symbol = p.get("symbol")
    rule = p.get("rule")
    severity: Severity = "warning"
    if event.kind == "order.denied":
        numbers = ", ".join(f"{k}={to_float(v):.4g}" for k, v in p.items() if k not in ("symbol", "rule"))
        message = f"{symbol}: order denied by {rule}" + (f" ({numbers})" if numbers else "")
    elif event.kind in ("order.reduced", "order.resized"):
        severity = "info"
        message = resize_sentence(event.kind, p)
    elif event.kind == "order.rejected":
        message = f"{symbol}: order {p.get('order_id', '')} rejected: {p.get('reason', '')}"
    elif event.kind == "halt":
        halted = bool(p.get("halted"))
        severity = "critical" if halted else "info"
        message = f"trading {'halted' if halted else 'resumed'}: {p.get('reason', '')}"
    elif event.kind == "risk.kill_switch":
        severity = "critical"
        message = (
            f"kill switch fired: drawdown {to_float(p.get('drawdown')):.2%} past {to_float(p.get('limit')):.0%}; "
            "positions are flattened until an operator resets"
        )
    elif event.kind == "risk.daily_loss_limit":
        message = (
            f"daily loss limit hit: {to_float(p.get('loss')):.2%} past {to_float(p.get('limit')):.2%}; "
            "no new entries this session"
        )
    elif event.kind == "risk.drawdown_exit":
        message = (
            f"{symbol}: drawdown guard exit ({p.get('cause', '')}) of {p.get('qty', '')} at {p.get('price', '')}, "
            f"keeping equity above the floor {to_float(p.get('floor')):,.2f}"
        )
    elif event.kind == "risk.gap_through":
        severity = "critical"
        moves = p.get("symbols")
        named = ", ".join(f"{s} {to_float(m):+.1%}" for s, m in moves.items()) if isinstance(moves, dict) else ""
        message = (
            f"gap beyond the allowance: {to_float(p.get('gap')):.1%} against the book "
            f"(allowance {to_float(p.get('allowance')):.0%}; {named})"
        )
    elif event.kind == "risk.flatten":
        severity = "critical"
        message = f"flattening all positions ({rule})"
    elif event.kind == "health":
        state = str(p.get("status", ""))
        severity = {"ok": "info", "degraded": "warning"}.get(state, "critical")  # type: ignore[assignment]
        message = f"{p.get('component', '?')} {state}: {p.get('message', '')}"
    else:
        message = f"{event.kind}: {', '.join(f'{k}={v}' for k, v in p.items())}"
    return AlertView(
        ts=event.ts,
        kind=event.kind,
        severity=severity,
        symbol=None if symbol is None else str(symbol),
        rule=None if rule is None else str(rule),
        message=message,
        payload=_jsonable(p),
    )
