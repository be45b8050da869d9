"""Read-only views for the API: the live engine's snapshot where there is one, the database otherwise.

Routes never touch the engine's objects directly: they read LiveState's immutable snapshots (thread-safe)
and the repository (its own connections; SQLite WAL lets them read while the engine commits).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from fastapi import HTTPException, status
from pydantic import BaseModel, ValidationError

from papertrader.api.config import ApiSettings
from papertrader.api.redact import mask_url
from papertrader.api.schemas import (
    AlertView,
    BucketView,
    ConfigView,
    ControlView,
    CycleData,
    DailyPnl,
    DailyPnlView,
    DecisionVote,
    EquityPoint,
    EquitySeries,
    FillsView,
    FillView,
    HealthComponent,
    HealthView,
    LargestPosition,
    LatencyView,
    ModelKind,
    ModelSummary,
    OrdersView,
    OrderView,
    PortfolioView,
    PositionsView,
    PositionView,
    RiskLimits,
    RiskView,
    RunDetail,
    RunList,
    RunSummary,
    Severity,
    SignalsView,
    SignalView,
    SymbolSignals,
    TradesView,
    TradeView,
)
from papertrader.config.settings import RiskSettings, Settings
from papertrader.core.errors import DataError
from papertrader.data.store import Lake
from papertrader.data.universe import universe_sectors
from papertrader.domain.events import ALERT_KINDS as ALERT_KINDS  # the API's alert list (one catalogue)
from papertrader.domain.events import DomainEvent
from papertrader.domain.types import Fill, Order, Position
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.control import RunControl
from papertrader.engine.live import LiveState, Snapshot
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, load_panel
from papertrader.persistence.decisions import StoredVote, decision_from_row
from papertrader.persistence.repository import RunRepository, RunRow
from papertrader.risk.sectors import with_sectors
from papertrader.risk.wording import resize_sentence

log = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
SECRET_WORDS = ("key", "token", "secret", "password")
MASK = "***"
BENCHMARK_NAME = "equal-weight buy-and-hold of the same symbols, same window and entry costs"
NO_RUNS = "no runs stored yet: start one with `papertrader demo` or `papertrader paper --replay`"


def not_found(detail: str) -> HTTPException:
    """404 with a sentence saying what to do."""
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)


def mask_secrets(value: Any, path: str = "", masked: list[str] | None = None) -> Any:
    """Copy of a JSON-able structure with secret-named values replaced by *** (None stays None: unset)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if any(word in str(key).lower() for word in SECRET_WORDS):
                out[str(key)] = None if item in (None, "", [], {}) else MASK
                if masked is not None and out[str(key)] is not None:
                    masked.append(name)
            else:
                out[str(key)] = mask_secrets(item, name, masked)
        return out
    if isinstance(value, list | tuple):
        return [mask_secrets(v, f"{path}[{i}]", masked) for i, v in enumerate(value)]
    if isinstance(value, str):
        hidden = mask_url(value)
        if hidden != value and masked is not None:
            masked.append(path)
        return hidden
    return value


def model_kind(source: str) -> ModelKind:
    """Which family a signal source belongs to, from its name (trend_sma_20_50 -> baseline)."""
    s = source.lower()
    if "ensemble" in s:
        return "ensemble"
    if "lstm" in s:
        return "lstm"
    if "gru" in s:
        return "gru"
    if s == "rl" or s.startswith(("rl_", "rl-", "ppo", "sac", "a2c", "dqn")) or "ppo" in s:
        return "rl"
    if "advisor" in s or "llm" in s:
        return "advisor"
    if any(word in s for word in ("trend", "sma", "baseline", "momentum", "buy_and_hold")):
        return "baseline"
    return "other"


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


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


def vote_view(vote: StoredVote) -> DecisionVote:
    """A board member's stored vote as the API shows it (non-finite numbers as null): one shape for every route."""
    return DecisionVote(
        member=vote.member,
        timeframe=vote.timeframe,
        p_up=_probability(vote.p_up),
        p_down=_probability(vote.p_down),
        exit=vote.exit,
        weight=_probability(vote.weight) or 0.0,
        reason=vote.reason,
    )


def _probability(value: float | None) -> float | None:
    """A stored vote number, None where the member had no view (NaN) or it is missing."""
    return None if value is None or not math.isfinite(value) else value


def signal_view(event: DomainEvent) -> SignalView:
    """A stored or streamed signal event as the API shows it."""
    p = event.payload
    source = str(p.get("source", "unknown"))
    votes = [vote_view(v) for v in decision_from_row(0, 0, event.ts, p).votes]
    return SignalView(
        ts=event.ts,
        symbol=str(p.get("symbol", "")),
        source=source,
        model=model_kind(source),
        target_weight=_float(p.get("target_weight")),
        confidence=_float(p.get("confidence")),
        rationale=str(p.get("rationale", "")),
        votes=votes,
    )


def alert_view(event: DomainEvent) -> AlertView:
    """A risk or health event as an alert with a severity and a sentence."""
    p = event.payload
    symbol = p.get("symbol")
    rule = p.get("rule")
    severity: Severity = "warning"
    if event.kind == "order.denied":
        numbers = ", ".join(f"{k}={_float(v):.4g}" for k, v in p.items() if k not in ("symbol", "rule"))
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
            f"kill switch fired: drawdown {_float(p.get('drawdown')):.2%} past {_float(p.get('limit')):.0%}; "
            "positions are flattened until an operator resets"
        )
    elif event.kind == "risk.daily_loss_limit":
        message = (
            f"daily loss limit hit: {_float(p.get('loss')):.2%} past {_float(p.get('limit')):.2%}; "
            "no new entries this session"
        )
    elif event.kind == "risk.drawdown_exit":
        message = (
            f"{symbol}: drawdown guard exit ({p.get('cause', '')}) of {p.get('qty', '')} at {p.get('price', '')}, "
            f"keeping equity above the floor {_float(p.get('floor')):,.2f}"
        )
    elif event.kind == "risk.gap_through":
        severity = "critical"
        moves = p.get("symbols")
        named = ", ".join(f"{s} {_float(m):+.1%}" for s, m in moves.items()) if isinstance(moves, dict) else ""
        message = (
            f"gap beyond the allowance: {_float(p.get('gap')):.1%} against the book "
            f"(allowance {_float(p.get('allowance')):.0%}; {named})"
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


def fill_view(fill: Fill) -> FillView:
    """A domain fill as the API shows it."""
    return FillView(
        seq=fill.seq,
        ts=fill.ts,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side.value,
        qty=fill.qty,
        price=float(fill.price),
        fee=float(fill.fee),
        notional=float(fill.notional),
    )


def order_view(order: Order) -> OrderView:
    """A domain order as the API shows it."""
    return OrderView(
        id=order.id,
        symbol=order.symbol,
        side=order.side.value,
        qty=order.qty,
        type=order.type.value,
        status=order.status.value,
        filled_qty=order.filled_qty,
        avg_fill_price=float(order.avg_fill_price) if order.filled_qty else None,
        limit_price=None if order.limit_price is None else float(order.limit_price),
        reason=order.reason,
        tag=order.tag,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def latency_view(values: Mapping[str, float]) -> LatencyView:
    """LatencyTracker percentiles as a typed view."""
    return LatencyView(
        p50_ms=_float(values.get("p50_ms")),
        p99_ms=_float(values.get("p99_ms")),
        max_ms=_float(values.get("max_ms")),
        cycles=int(_float(values.get("cycles"))),
    )


def snapshot_positions(snap: Snapshot) -> list[PositionView]:
    """Live positions, largest market value first."""
    views = [
        PositionView(
            symbol=p.symbol,
            qty=p.qty,
            avg_price=p.avg_price,
            mark=p.mark,
            market_value=p.market_value,
            unrealized_pnl=p.unrealized_pnl,
            realized_pnl=p.realized_pnl,
            weight=p.weight,
        )
        for p in snap.positions
        if p.qty != 0
    ]
    return sorted(views, key=lambda v: -abs(v.market_value or 0.0))


@dataclass(frozen=True)
class _Curve:
    """A run's stored equity curve with its running peak and drawdown."""

    frame: pd.DataFrame
    peak: np.ndarray[Any, np.dtype[np.float64]]
    drawdown: np.ndarray[Any, np.dtype[np.float64]]

    @property
    def max_drawdown(self) -> float:
        return float(self.drawdown.min()) if len(self.drawdown) else 0.0


@dataclass(frozen=True)
class _Market:
    """A run's bars (for marks) and buy-and-hold benchmark, or why they are unavailable."""

    panel: Panel | None
    first: int
    benchmark: np.ndarray[Any, np.dtype[np.float64]] | None
    note: str | None


class ApiService:
    """Builds every response; one instance per app, safe to call from any worker thread."""

    def __init__(
        self,
        settings: Settings,
        repo: RunRepository,
        live: LiveState | None = None,
        control: RunControl | None = None,
        api_settings: ApiSettings | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.live = live
        self.control = control
        self.api_settings = api_settings or ApiSettings()
        self._market: OrderedDict[str, _Market] = OrderedDict()
        self._lock = threading.Lock()
        self._live_row: RunRow | None = None

    # ---- runs ---------------------------------------------------------------------------------

    def live_run_id(self) -> str | None:
        """Id of the run the engine in this process is running, if any."""
        return None if self.live is None else self.live.snapshot().run_id

    def resolve(self, run: str | None) -> RunRow:
        """The requested run, else the live one, else the newest stored one (404 when there is none)."""
        wanted = run or self.live_run_id()
        if wanted is not None:
            row = self.repo.get_run(wanted)
            if row is None:
                raise not_found(f"no run {wanted!r}: GET /api/v1/runs lists the stored runs")
            return row
        rows = self.repo.list_runs()
        if not rows:
            raise not_found(NO_RUNS)
        return rows[0]

    def live_snapshot(self, row: RunRow) -> Snapshot | None:
        """The live snapshot when `row` is the live run."""
        if self.live is None:
            return None
        snap = self.live.snapshot()
        return snap if snap.run_id == row.id else None

    def live_row(self) -> RunRow | None:
        """The live run's stored row (setup only; cached since it does not change)."""
        run_id = self.live_run_id()
        if run_id is None:
            return None
        if self._live_row is None or self._live_row.id != run_id:
            self._live_row = self.repo.get_run(run_id)
        return self._live_row

    def _summary(self, row: RunRow, live_id: str | None) -> RunSummary:
        summary = row.summary or {}
        final = summary.get("final_equity")
        total = summary.get("total_return")
        return RunSummary(
            id=row.id,
            mode=row.mode.value,
            status=row.status.value,
            interval=row.interval,
            symbols=list(row.symbols),
            start=row.start,
            end=row.end,
            created_at=row.created_at,
            finished_at=row.finished_at,
            initial_cash=float(row.initial_cash),
            last_cycle=row.last_cycle,
            last_cycle_ts=row.last_cycle_ts,
            final_equity=None if final is None else _float(final),
            total_return=None if total is None else _float(total),
            live=row.id == live_id,
        )

    def runs(self) -> RunList:
        """Every stored run, newest first."""
        live_id = self.live_run_id()
        return RunList(live_run_id=live_id, runs=[self._summary(r, live_id) for r in self.repo.list_runs()])

    def run_detail(self, run_id: str) -> RunDetail:
        """One run with its summary and masked configuration."""
        row = self.repo.get_run(run_id)
        if row is None:
            raise not_found(f"no run {run_id!r}: GET /api/v1/runs lists the stored runs")
        base = self._summary(row, self.live_run_id())
        return RunDetail(
            **base.model_dump(),
            summary=None if row.summary is None else mask_secrets(_json_safe(row.summary)),
            config=mask_secrets(_json_safe(row.config)),
        )

    # ---- curves -------------------------------------------------------------------------------

    def _curve(self, row: RunRow) -> _Curve:
        frame = self.repo.load_equity(row.id)
        equity = frame["equity"].to_numpy(dtype=np.float64)
        peak = np.maximum.accumulate(np.maximum(equity, float(row.initial_cash))) if len(equity) else equity
        drawdown = equity / np.where(peak > 0, peak, 1.0) - 1.0 if len(equity) else equity
        return _Curve(frame, peak, np.minimum(drawdown, 0.0))

    def _run_settings(self, row: RunRow) -> Settings:
        """The settings the run was started with (its stored config), falling back to the current ones."""
        try:
            return Settings(**{**row.config, "home": self.settings.home, "database_url": self.settings.database_url})
        except (ValidationError, TypeError):
            log.warning("run %s has a config this version cannot read; showing current settings", row.id)
            return self.settings

    def _market_data(self, row: RunRow) -> _Market:
        """Bars and benchmark of a run from the lake, cached per run (the window never changes)."""
        with self._lock:
            cached = self._market.get(row.id)
            if cached is not None:
                self._market.move_to_end(row.id)
                return cached
        market = self._load_market(row)
        with self._lock:
            self._market[row.id] = market
            while len(self._market) > 4:
                self._market.popitem(last=False)
        return market

    def _load_market(self, row: RunRow) -> _Market:
        if row.start is None or row.end is None:
            return _Market(None, 0, None, "the run has no stored window")
        request = RunRequest(tuple(row.symbols), row.interval, row.start, row.end + timedelta(microseconds=1))
        try:
            panel, first = load_panel(Lake(self.settings.lake_dir), request)
        except (DataError, OSError, ValueError, KeyError) as exc:
            return _Market(None, 0, None, f"the lake cannot supply the run's bars: {exc}")
        costs = self._run_settings(row).costs
        bench, _ = buy_and_hold(panel, float(row.initial_cash), costs, first)
        return _Market(panel, first, bench, None)

    def equity(self, run: str | None, max_points: int) -> EquitySeries:
        """Equity, drawdown and benchmark per cycle, thinned evenly to at most max_points (last kept)."""
        row = self.resolve(run)
        curve = self._curve(row)
        market = self._market_data(row) if len(curve.frame) else _Market(None, 0, None, "no cycles yet")
        frame = curve.frame
        n = len(frame)
        idx = np.arange(n)
        if n > max_points:
            idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(int))
        cycles = frame["cycle"].to_numpy()
        bench = market.benchmark
        points = []
        for i in idx:
            k = int(cycles[i]) - market.first
            b = float(bench[k]) if bench is not None and 0 <= k < len(bench) else None
            points.append(
                EquityPoint(
                    ts=frame["ts"].iloc[i].to_pydatetime(),
                    cycle=int(cycles[i]),
                    equity=float(frame["equity"].iloc[i]),
                    drawdown=float(curve.drawdown[i]),
                    gross_exposure=_finite(float(frame["gross_exposure"].iloc[i])),
                    benchmark=b,
                )
            )
        return EquitySeries(
            run_id=row.id,
            source="live" if self.live_snapshot(row) else "stored",
            initial_cash=float(row.initial_cash),
            benchmark_name=BENCHMARK_NAME if bench is not None else None,
            benchmark_note=market.note,
            max_drawdown=curve.max_drawdown,
            points=points,
        )

    def daily_pnl(self, run: str | None) -> DailyPnlView:
        """Profit and loss per New York session date, from the last equity of each day."""
        row = self.resolve(run)
        frame = self.repo.load_equity(row.id)
        if frame.empty:
            return DailyPnlView(run_id=row.id, days=[])
        dates = frame["ts"].dt.tz_convert(NEW_YORK).dt.date
        closing = frame.groupby(dates, sort=True)["equity"].last()
        prev = closing.shift(1).fillna(float(row.initial_cash))
        days = [
            DailyPnl(date=d, pnl=float(e - p), day_return=float(e / p - 1.0) if p else 0.0, equity=float(e))
            for d, e, p in zip(closing.index, closing.to_numpy(), prev.to_numpy(), strict=True)
        ]
        return DailyPnlView(run_id=row.id, days=days)

    # ---- portfolio ----------------------------------------------------------------------------

    def _progress(self, row: RunRow, ts: datetime | None) -> float | None:
        if ts is None or row.start is None or row.end is None or row.end <= row.start:
            return None
        share = (ts - row.start) / (row.end - row.start)
        return float(min(1.0, max(0.0, share)))

    def portfolio(self, run: str | None) -> PortfolioView:
        """Cash, equity, P&L, exposure and drawdown of the run now."""
        row = self.resolve(run)
        curve = self._curve(row)
        fills = self.repo.load_fills(row.id)
        fees = float(sum(f.fee for f in fills))
        initial = float(row.initial_cash)
        snap = self.live_snapshot(row)
        frame = curve.frame
        if snap is not None and snap.cycle >= 0:
            cash, equity, gross = snap.cash, snap.equity, snap.gross_exposure
            market_value = equity - cash
            as_of, cycle = snap.ts, snap.cycle
            peak = max(snap.peak_equity, float(curve.peak[-1]) if len(curve.peak) else initial)
            open_positions = sum(1 for p in snap.positions if p.qty != 0)
            working, halted = snap.working_orders, snap.halted
        elif len(frame):
            last = frame.iloc[-1]
            cash, equity = float(last["cash"]), float(last["equity"])
            market_value, gross = float(last["market_value"]), _finite(float(last["gross_exposure"]))
            as_of, cycle = last["ts"].to_pydatetime(), int(last["cycle"])
            peak = float(curve.peak[-1])
            open_positions = sum(1 for p in self.repo.load_positions(row.id) if p.qty != 0)
            working = sum(1 for o in self.repo.load_orders(row.id) if o.is_open)
            halted = snap.halted if snap is not None else self._stored_halt(row)
        else:
            cash = equity = peak = initial
            market_value = gross = 0.0
            as_of, cycle, open_positions, working = None, None, 0, 0
            halted = None if snap is None else snap.halted
        drawdown = min(0.0, equity / peak - 1.0) if peak > 0 else 0.0
        return PortfolioView(
            run_id=row.id,
            source="live" if snap is not None else "stored",
            status=row.status.value,
            mode=row.mode.value,
            interval=row.interval,
            symbols=list(row.symbols),
            as_of=as_of,
            cycle=cycle,
            cycles_done=len(frame),
            progress=self._progress(row, as_of),
            initial_cash=initial,
            cash=cash,
            market_value=market_value,
            equity=equity,
            total_pnl=equity - initial,
            total_return=equity / initial - 1.0 if initial else 0.0,
            gross_exposure=gross,
            peak_equity=peak,
            drawdown=drawdown,
            max_drawdown=min(curve.max_drawdown, drawdown),
            open_positions=open_positions,
            working_orders=working,
            fees_paid=fees,
            halted=halted,
        )

    def _stored_halt(self, row: RunRow) -> str | None:
        """Why a stored run was halted at its last cycle (its last halt event), or None."""
        halts = self.repo.load_events(row.id, ["halt"])
        if not halts or not halts[-1].payload.get("halted"):
            return None
        return str(halts[-1].payload.get("reason", "halted"))

    def _stored_positions(self, row: RunRow) -> list[PositionView]:
        held = [p for p in self.repo.load_positions(row.id) if p.qty != 0]
        if not held:
            return []
        frame = self.repo.load_equity(row.id)
        equity = float(frame["equity"].iloc[-1]) if len(frame) else float(row.initial_cash)
        market = self._market_data(row)
        marks: dict[str, float] = {}
        if market.panel is not None and len(frame):
            closes = market.panel.last_closes(int(frame["cycle"].iloc[-1]))
            marks = {s: float(c) for s, c in zip(market.panel.symbols, closes, strict=True) if np.isfinite(c)}
        views = [_position_view(p, marks.get(p.symbol), equity) for p in held]
        return sorted(views, key=lambda v: -abs(v.market_value or 0.0))

    def positions(self, run: str | None) -> PositionsView:
        """Open positions with marks, P&L and weights."""
        row = self.resolve(run)
        snap = self.live_snapshot(row)
        if snap is not None and snap.cycle >= 0:
            return PositionsView(run_id=row.id, source="live", as_of=snap.ts, positions=snapshot_positions(snap))
        return PositionsView(
            run_id=row.id,
            source="stored" if snap is None else "live",
            as_of=row.last_cycle_ts,
            positions=self._stored_positions(row),
        )

    def orders(self, run: str | None, limit: int, open_only: bool) -> OrdersView:
        """Orders newest first, optionally only the working ones."""
        row = self.resolve(run)
        orders = [o for o in self.repo.load_orders(row.id) if o.is_open or not open_only]
        orders.sort(key=lambda o: (o.updated_at or o.created_at, o.id), reverse=True)
        return OrdersView(run_id=row.id, total=len(orders), orders=[order_view(o) for o in orders[:limit]])

    def fills(self, run: str | None, limit: int) -> FillsView:
        """Fills newest first."""
        row = self.resolve(run)
        fills = self.repo.load_fills(row.id)
        newest = list(reversed(fills))[:limit]
        return FillsView(run_id=row.id, total=len(fills), fills=[fill_view(f) for f in newest])

    def trades(self, run: str | None, limit: int, offset: int = 0) -> TradesView:
        """The trade log: each fill with its FIFO realised P&L and the position it left."""
        row = self.resolve(run)
        fills = self.repo.load_fills(row.id)
        orders = {o.id: o for o in self.repo.load_orders(row.id)}
        positions: dict[str, Position] = {}
        trades: list[TradeView] = []
        for fill in fills:
            before = positions.get(fill.symbol, Position(fill.symbol))
            after = before.apply(fill.side, fill.qty, fill.price)
            positions[fill.symbol] = after
            order = orders.get(fill.order_id)
            trades.append(
                TradeView(
                    **fill_view(fill).model_dump(),
                    realized_pnl=float(after.realized_pnl - before.realized_pnl),
                    position_after=after.qty,
                    tag="" if order is None else order.tag,
                    reason="" if order is None else order.reason,
                )
            )
        return TradesView(
            run_id=row.id,
            total=len(trades),
            realized_pnl_total=float(sum((t.realized_pnl for t in trades), start=0.0)),
            fees_total=float(sum((t.fee for t in trades), start=0.0)),
            trades=list(reversed(trades))[offset : offset + limit],
            offset=offset,
        )

    # ---- signals and risk ---------------------------------------------------------------------

    def signals(self, run: str | None, symbol: str | None, limit: int) -> SignalsView:
        """The latest target per symbol and model, the ensemble's where one exists, and recent changes."""
        row = self.resolve(run)
        events = self.repo.load_events(row.id, ["signal"])
        views = [signal_view(e) for e in events]
        if symbol:
            views = [v for v in views if v.symbol == symbol.upper()]
        latest: dict[tuple[str, str], SignalView] = {}
        counts: Counter[str] = Counter()
        last_ts: dict[str, datetime] = {}
        for view in views:
            latest[(view.symbol, view.source)] = view
            counts[view.source] += 1
            last_ts[view.source] = view.ts
        decision = self._decision_source(row, list(counts))
        ensemble = next((s for s in counts if model_kind(s) == "ensemble"), None)
        symbols = sorted({v.symbol for v in views} | ({symbol.upper()} if symbol else set(row.symbols)))
        per_symbol = [
            SymbolSignals(
                symbol=s,
                ensemble=latest.get((s, ensemble)) if ensemble else None,
                models=sorted(
                    (v for (sym, src), v in latest.items() if sym == s and src != ensemble), key=lambda v: v.source
                ),
            )
            for s in symbols
        ]
        models = [
            ModelSummary(
                source=src,
                model=model_kind(src),
                signals=n,
                last_ts=last_ts.get(src),
                drives_orders=src == decision,
            )
            for src, n in sorted(counts.items())
        ]
        note = None
        if not views:
            note = "no signals recorded yet: a model emits one when its target for a symbol changes"
        elif ensemble is None:
            note = (
                f"one decision source ({decision or 'unknown'}) drives this run; no ensemble combines models yet, "
                "so there are no votes to show"
                if len(counts) <= 1
                else "several models emitted signals but none is an ensemble"
            )
        return SignalsView(
            run_id=row.id,
            decision_source=decision,
            ensemble_source=ensemble,
            models=models,
            symbols=per_symbol,
            recent=list(reversed(views))[:limit],
            note=note,
        )

    def _decision_source(self, row: RunRow, sources: Sequence[str]) -> str | None:
        orders = self.repo.load_orders(row.id)
        tags = [o.tag for o in orders if o.tag in sources]  # not "protect": protective stops follow positions
        if tags:
            return tags[-1]
        return sources[0] if len(sources) == 1 else None

    def risk(self, run: str | None, limit: int) -> RiskView:
        """Drawdown and exposure against the run's limits, halt state, and recent alerts."""
        row = self.resolve(run)
        port = self.portfolio(row.id)
        limits: RiskSettings = self._run_settings(row).risk
        events = self.repo.load_events(row.id, list(ALERT_KINDS))
        if self.live is not None and self.live_snapshot(row) is not None:
            stored = {(e.ts, e.kind) for e in events}
            events += [e for e in self.live.recent_events(("halt",)) if (e.ts, e.kind) not in stored]
        events.sort(key=lambda e: e.ts)
        positions = self.positions(row.id).positions
        weighted = [p for p in positions if p.weight is not None]
        largest = max(weighted, key=lambda p: abs(p.weight or 0.0), default=None)
        return RiskView(
            run_id=row.id,
            source=port.source,
            drawdown=port.drawdown,
            max_drawdown=port.max_drawdown,
            peak_equity=port.peak_equity,
            gross_exposure=port.gross_exposure,
            gross_limit_used=port.gross_exposure / limits.max_gross_exposure,
            largest_position=None
            if largest is None
            else LargestPosition(symbol=largest.symbol, weight=float(largest.weight or 0.0)),
            halted=port.halted,
            limits=RiskLimits(
                max_position_fraction=limits.max_position_fraction,
                max_gross_exposure=limits.max_gross_exposure,
                allow_short=limits.allow_short,
                min_order_notional=limits.min_order_notional,
                max_drawdown=_optional_float(limits, "max_drawdown"),
                daily_loss_limit=_optional_float(limits, "daily_loss_limit"),
                settings=_json_safe(limits.model_dump(mode="json")),
            ),
            buckets=_buckets(limits, positions),
            sectors=_sectors(limits, positions, self.settings.home),
            alert_counts=dict(Counter(e.kind for e in events)),
            alerts=[alert_view(e) for e in reversed(events[-limit:])],
        )

    # ---- health, config, control --------------------------------------------------------------

    def health(self) -> HealthView:
        """Component health and cycle latency of the live engine, or the newest run's last word."""
        if self.live is not None:
            snap = self.live.snapshot()
            components = [HealthComponent(name=n, status=s) for n, s in sorted(snap.health.items())]
            statuses = set(snap.health.values())
            overall = "down" if "down" in statuses else "degraded" if "degraded" in statuses else "ok"
            return HealthView(
                status=overall,
                live=True,
                run_id=snap.run_id,
                as_of=snap.ts,
                components=components,
                latency=latency_view(snap.latency),
            )
        rows = self.repo.list_runs()
        if not rows:
            return HealthView(status="idle", live=False, run_id=None, as_of=None, components=[], latency=None)
        summary = rows[0].summary or {}
        stored_health = summary.get("health") if isinstance(summary.get("health"), dict) else {}
        stored_latency = summary.get("cycle_latency")
        return HealthView(
            status="idle",
            live=False,
            run_id=rows[0].id,
            as_of=rows[0].last_cycle_ts,
            components=[HealthComponent(name=str(n), status=str(s)) for n, s in sorted((stored_health or {}).items())],
            latency=latency_view(stored_latency) if isinstance(stored_latency, dict) else None,
        )

    def config(self, run: str | None) -> ConfigView:
        """The effective settings, API settings, vendor settings and the run's own config, secrets masked."""
        masked: list[str] = []
        settings = mask_secrets(self.settings.model_dump(mode="json"), "settings", masked)
        api = mask_secrets(self.api_settings.model_dump(mode="json"), "api", masked)
        vendors = mask_secrets(_vendor_settings(), "vendors", masked)
        row: RunRow | None
        try:
            row = self.resolve(run)
        except HTTPException:
            if run is not None:
                raise
            row = None
        run_config = None if row is None else mask_secrets(_json_safe(row.config), "run_config", masked)
        return ConfigView(
            settings=settings,
            api=api,
            vendors=vendors,
            run_id=None if row is None else row.id,
            run_config=run_config,
            masked=masked,
        )

    def control_view(self, check_stored: bool = True) -> ControlView:
        """The control state; unavailable (with the reason) when no live run can be steered.

        check_stored=False skips the database read of the run's status (cycle messages: a run that is still
        producing cycles has not finished).
        """
        row = self.live_row() if self.control is not None else None
        snap = None if self.live is None else self.live.snapshot()
        halted = None if snap is None else snap.halted
        if self.control is None or self.live is None or row is None:
            return ControlView(
                available=False,
                reason=(
                    "no live run: this server shows stored runs; controls steer a running "
                    "`papertrader paper --replay` or `papertrader demo`"
                ),
                run_id=None if snap is None else snap.run_id,
                mode=None if row is None else row.mode.value,
                paused=False,
                stopping=False,
                flatten_requested=False,
                speed=None,
                halted=halted,
            )
        state = self.control.state()
        current = self.repo.get_run(row.id) if check_stored else row
        finished = current is not None and current.status.value != "running"
        return ControlView(
            available=not finished and not state.stopping,
            reason=(
                f"run {row.id} is {current.status.value}"
                if finished and current is not None
                else "the run is stopping"
                if state.stopping
                else None
            ),
            run_id=row.id,
            mode=row.mode.value,
            paused=state.paused,
            stopping=state.stopping,
            flatten_requested=state.flatten_requested,
            speed=state.speed,
            halted=halted,
            trading=self._trading(snap),
        )

    def _trading(self, snap: Any) -> Literal["paper", "observe"] | None:
        """The live run's trading mode: a switch the operator asked for, else the engine's current one."""
        if snap is None:
            return None
        pending = None if self.control is None else self.control.pending_mode()
        observing = snap.observing if pending is None else pending
        return "observe" if observing else "paper"

    def cycle_data(self) -> CycleData | None:
        """The newest live state for a `cycle` stream message (no database reads, except a cached row)."""
        if self.live is None:
            return None
        snap = self.live.snapshot()
        row = self.live_row()
        initial = float(row.initial_cash) if row is not None else snap.peak_equity
        return CycleData(
            run_id=snap.run_id,
            cycle=snap.cycle,
            ts=snap.ts,
            progress=None if row is None else self._progress(row, snap.ts),
            initial_cash=initial,
            cash=snap.cash,
            equity=snap.equity,
            total_pnl=snap.equity - initial,
            total_return=snap.equity / initial - 1.0 if initial else 0.0,
            gross_exposure=snap.gross_exposure,
            peak_equity=snap.peak_equity,
            drawdown=min(0.0, snap.drawdown),
            working_orders=snap.working_orders,
            halted=snap.halted,
            positions=snapshot_positions(snap),
            health=[HealthComponent(name=n, status=s) for n, s in sorted(snap.health.items())],
            latency=latency_view(snap.latency),
            control=self.control_view(check_stored=False),
        )


def _finite(value: float) -> float:
    """Gross exposure is stored as inf when equity is not positive; JSON has no infinity."""
    return value if np.isfinite(value) else 0.0


def _optional_float(settings: BaseModel, name: str) -> float | None:
    """A risk setting that only some versions of RiskSettings define."""
    value = getattr(settings, name, None)
    return None if value is None else _float(value)


def _sectors(limits: RiskSettings, positions: Sequence[PositionView], home: Path) -> list[BucketView]:
    """Gross weight per sector of the held symbols, against the sector cap, as the risk engine groups them."""
    cap = getattr(limits, "max_sector_fraction", None)
    if cap is None:
        return []
    held = [p.symbol for p in positions]
    sectors = dict(getattr(limits, "sectors", {}) or {})
    if getattr(limits, "sectors_from_universe", False):
        sectors = with_sectors(limits, universe_sectors(home, held)).sectors
    members: dict[str, list[PositionView]] = {}
    for p in positions:
        if p.symbol in sectors:
            members.setdefault(sectors[p.symbol], []).append(p)
    return [
        BucketView(
            name=name,
            weight=float(sum(abs(p.weight or 0.0) for p in group)),
            cap=_float(cap),
            symbols=sorted(p.symbol for p in group),
        )
        for name, group in sorted(members.items())
    ]


def _buckets(limits: RiskSettings, positions: Sequence[PositionView]) -> list[BucketView]:
    """Gross weight per capital bucket (ETF list, penny price, else core), when the settings define buckets."""
    caps = {name: getattr(limits, f"{name}_cap", None) for name in ("core", "etf", "speculative")}
    if any(cap is None for cap in caps.values()):
        return []
    etfs = set(getattr(limits, "etfs", ()))
    penny = _float(getattr(limits, "penny_below", 0.0))
    members: dict[str, list[PositionView]] = {name: [] for name in caps}
    for p in positions:
        if p.symbol in etfs:
            members["etf"].append(p)
        elif p.mark is not None and p.mark < penny:
            members["speculative"].append(p)
        else:
            members["core"].append(p)
    return [
        BucketView(
            name=name,
            weight=float(sum(abs(p.weight or 0.0) for p in held)),
            cap=_float(caps[name]),
            symbols=sorted(p.symbol for p in held),
        )
        for name, held in members.items()
    ]


def _position_view(position: Position, mark: float | None, equity: float) -> PositionView:
    qty = position.qty
    value = None if mark is None else mark * qty
    return PositionView(
        symbol=position.symbol,
        qty=qty,
        avg_price=float(position.avg_price),
        mark=mark,
        market_value=value,
        unrealized_pnl=None if mark is None else float(mark * qty - float(position.cost_basis)),
        realized_pnl=float(position.realized_pnl),
        weight=None if value is None or equity <= 0 else value / equity,
    )


def _json_safe(value: Any) -> Any:
    """Stored JSON may hold NaN/inf floats (metrics of a flat run); JSON responses cannot."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _vendor_settings() -> dict[str, Any]:
    """Vendor client settings (keys masked by the caller); a misconfigured vendor shows its error."""
    from papertrader.config.alphavantage import AlphaVantageKeySettings, AlphaVantageSettings
    from papertrader.config.questrade import QuestradeSettings
    from papertrader.config.yahoo import YahooSettings

    out: dict[str, Any] = {}
    classes: Iterable[tuple[str, type[BaseModel]]] = (
        ("alphavantage", AlphaVantageSettings),
        ("alphavantage_credentials", AlphaVantageKeySettings),
        ("questrade", QuestradeSettings),
        ("yahoo", YahooSettings),
    )
    for name, cls in classes:
        try:
            out[name] = _json_safe(cls().model_dump(mode="json"))
        except (ValidationError, ValueError) as exc:
            out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    return out
