"""Typed response, request and stream-message models: the OpenAPI schema the dashboard's client is generated from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema, field_validator

from papertrader.engine.control import MAX_SPEED, MIN_SPEED, check_speed

Source = Literal["live", "stored"]
ModelKind = Literal["baseline", "lstm", "gru", "rl", "ensemble", "advisor", "other"]
Severity = Literal["info", "warning", "critical"]
HealthStatus = Literal["ok", "degraded", "down", "idle"]


class ApiModel(BaseModel):
    """Frozen and strict, so a typo in a field name fails loudly; output schemas mark every field required."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)


class ErrorView(ApiModel):
    """What FastAPI returns for 401, 404 and 409: a sentence saying what to do."""

    detail: str


# ---- runs ---------------------------------------------------------------------------------------


class RunSummary(ApiModel):
    """One stored run as a run picker shows it."""

    id: str
    mode: str
    status: str
    interval: str
    symbols: list[str]
    start: datetime | None
    end: datetime | None
    created_at: datetime
    finished_at: datetime | None
    initial_cash: float
    last_cycle: int
    last_cycle_ts: datetime | None
    final_equity: float | None = Field(description="from the run's summary once it finished")
    total_return: float | None
    live: bool = Field(description="this run is the one the engine in this process is running now")


class RunList(ApiModel):
    """Every stored run, newest first."""

    live_run_id: str | None
    runs: list[RunSummary]


class RunDetail(RunSummary):
    """A run with its stored summary and (masked) configuration."""

    summary: dict[str, JsonValue] | None
    config: dict[str, JsonValue]


# ---- portfolio ----------------------------------------------------------------------------------


class PositionView(ApiModel):
    """One open position; mark-dependent fields are null when no price is known."""

    symbol: str
    qty: int
    avg_price: float
    mark: float | None
    market_value: float | None
    unrealized_pnl: float | None
    realized_pnl: float
    weight: float | None = Field(description="market value / equity")


class PortfolioView(ApiModel):
    """The account after the latest committed (stored) or processed (live) cycle."""

    run_id: str
    source: Source
    status: str
    mode: str
    interval: str
    symbols: list[str]
    as_of: datetime | None = Field(description="time of the latest cycle; null before the first")
    cycle: int | None
    cycles_done: int
    progress: float | None = Field(description="share of the run's window already processed, 0..1")
    initial_cash: float
    cash: float
    market_value: float
    equity: float
    total_pnl: float
    total_return: float
    gross_exposure: float = Field(description="sum of |position values| / equity")
    peak_equity: float
    drawdown: float = Field(description="equity / peak - 1 (0 or negative)")
    max_drawdown: float
    open_positions: int
    working_orders: int
    fees_paid: float
    halted: str | None = Field(description="why trading is halted (flatten or kill switch), null when trading")


class PositionsView(ApiModel):
    """Open positions, largest first."""

    run_id: str
    source: Source
    as_of: datetime | None
    positions: list[PositionView]


class OrderView(ApiModel):
    """An order in its latest state."""

    id: str
    symbol: str
    side: str
    qty: int
    type: str
    status: str
    filled_qty: int
    avg_fill_price: float | None
    limit_price: float | None
    reason: str
    tag: str
    created_at: datetime
    updated_at: datetime | None


class OrdersView(ApiModel):
    """Orders, newest first."""

    run_id: str
    total: int
    orders: list[OrderView]


class FillView(ApiModel):
    """One execution; price includes spread and slippage, fee is the commission."""

    seq: int
    ts: datetime
    order_id: str
    symbol: str
    side: str
    qty: int
    price: float
    fee: float
    notional: float


class FillsView(ApiModel):
    """Fills, newest first."""

    run_id: str
    total: int
    fills: list[FillView]


class TradeView(FillView):
    """A fill with what it did to the position: realised P&L (FIFO) and the position after it."""

    realized_pnl: float
    position_after: int
    tag: str
    reason: str


class TradesView(ApiModel):
    """The trade log, newest first, with run totals."""

    run_id: str
    total: int
    realized_pnl_total: float
    fees_total: float
    trades: list[TradeView]
    offset: int = Field(0, description="how many newer fills this page skipped")


# ---- performance --------------------------------------------------------------------------------


class EquityPoint(ApiModel):
    """Equity, drawdown and the benchmark at one cycle."""

    ts: datetime
    cycle: int
    equity: float
    drawdown: float
    gross_exposure: float
    benchmark: float | None


class EquitySeries(ApiModel):
    """The equity and drawdown curves beside buy-and-hold of the same symbols."""

    run_id: str
    source: Source
    initial_cash: float
    benchmark_name: str | None
    benchmark_note: str | None = Field(description="why the benchmark is missing, when it is")
    max_drawdown: float
    points: list[EquityPoint]


class DailyPnl(ApiModel):
    """Profit and loss of one New York trading day."""

    date: date
    pnl: float
    day_return: float
    equity: float


class DailyPnlView(ApiModel):
    """Daily P&L, oldest first."""

    run_id: str
    days: list[DailyPnl]


# ---- signals ------------------------------------------------------------------------------------


class DecisionVote(ApiModel):
    """One board member's opinion in a decision; p_up/p_down are null when the member had no view."""

    member: str
    timeframe: str
    p_up: float | None
    p_down: float | None
    exit: bool = Field(description="the member asked to close the position")
    weight: float = Field(description="the member's weight in this decision (base x confidence x record)")
    reason: str


class SignalView(ApiModel):
    """A model's (or the ensemble's) target for one symbol, with its reason."""

    ts: datetime
    symbol: str
    source: str
    model: ModelKind
    target_weight: float
    confidence: float
    rationale: str
    votes: list[DecisionVote] = Field(description="every board member's vote; empty for a single strategy")


class ModelSummary(ApiModel):
    """A signal source seen in the run."""

    source: str
    model: ModelKind
    signals: int
    last_ts: datetime | None
    drives_orders: bool = Field(description="orders of this run follow this source's targets")


class SymbolSignals(ApiModel):
    """The latest view of every model and the ensemble on one symbol."""

    symbol: str
    ensemble: SignalView | None
    models: list[SignalView]


class SignalsView(ApiModel):
    """Signals per symbol and model; LSTM, GRU, RL and ensemble sources appear here once they emit."""

    run_id: str
    decision_source: str | None
    ensemble_source: str | None
    models: list[ModelSummary]
    symbols: list[SymbolSignals]
    recent: list[SignalView]
    note: str | None


# ---- risk and health ----------------------------------------------------------------------------


class RiskLimits(ApiModel):
    """The limits every order passes (the run's own settings); `settings` holds every risk setting."""

    max_position_fraction: float
    max_gross_exposure: float
    allow_short: bool
    min_order_notional: float
    max_drawdown: float | None = Field(description="drawdown that fires the kill switch, when configured")
    daily_loss_limit: float | None = Field(description="session loss that blocks new entries, when configured")
    settings: dict[str, JsonValue]


class BucketView(ApiModel):
    """A capital bucket's gross weight against its cap."""

    name: str
    weight: float
    cap: float
    symbols: list[str]


class AlertView(ApiModel):
    """A risk veto, reduction, rejection, halt or health change."""

    ts: datetime
    kind: str
    severity: Severity
    symbol: str | None
    rule: str | None
    message: str
    payload: dict[str, JsonValue]


class LargestPosition(ApiModel):
    """The position closest to its per-symbol limit."""

    symbol: str
    weight: float


class RiskView(ApiModel):
    """Drawdown, exposure against limits, halt state and recent alerts."""

    run_id: str
    source: Source
    drawdown: float
    max_drawdown: float
    peak_equity: float
    gross_exposure: float
    gross_limit_used: float = Field(description="gross exposure / max_gross_exposure")
    largest_position: LargestPosition | None
    halted: str | None
    limits: RiskLimits
    buckets: list[BucketView] = Field(description="empty when the run's settings define no buckets")
    sectors: list[BucketView] = Field(
        default_factory=list,
        description="gross weight per sector held (risk.sectors over the universe file's) against max_sector_fraction",
    )
    alert_counts: dict[str, int]
    alerts: list[AlertView]


class HealthComponent(ApiModel):
    """One component's state."""

    name: str
    status: str


class LatencyView(ApiModel):
    """Cycle wall-clock latency over the recent window."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    cycles: int


class LiveScoreView(ApiModel):
    """A live run's uptime over its scheduled bar closes and its critical failures (the trial's definitions)."""

    as_of: datetime | None
    scheduled: int
    up: int
    uptime: float | None
    missed_closes: int
    critical_failures: list[str]


class HealthView(ApiModel):
    """Whether the engine is healthy and how fast cycles run; the only route open without a token."""

    status: HealthStatus
    live: bool
    run_id: str | None
    as_of: datetime | None
    components: list[HealthComponent]
    latency: LatencyView | None
    live_score: LiveScoreView | None = None


class ConfigView(ApiModel):
    """Effective configuration with every key/token/secret/password value masked."""

    settings: dict[str, JsonValue]
    api: dict[str, JsonValue]
    vendors: dict[str, JsonValue]
    run_id: str | None
    run_config: dict[str, JsonValue] | None
    masked: list[str] = Field(description="dotted names of the masked values")


# ---- controls -----------------------------------------------------------------------------------


class ControlView(ApiModel):
    """What the operator can do now and what the loop was asked to do."""

    available: bool
    reason: str | None = Field(description="why controls are unavailable")
    run_id: str | None
    mode: str | None
    paused: bool
    stopping: bool
    flatten_requested: bool
    speed: float | None = Field(description="market seconds per wall second; 0 = as fast as possible")
    halted: str | None
    trading: Literal["paper", "observe"] | None = Field(
        None,
        description="paper: decisions become orders; observe: signals and risk run but no orders are sent "
        "(a switch asked for shows here at once and applies from the next cycle)",
    )


SPEED_DOC = f"market seconds per wall second: 0 = as fast as possible, else {MIN_SPEED:g} (real time) to {MAX_SPEED:g}"


class SpeedRequest(ApiModel):
    """New replay speed."""

    speed: Annotated[
        float,
        Field(allow_inf_nan=False),
        WithJsonSchema(
            {
                "title": "Speed",
                "description": SPEED_DOC,
                "anyOf": [
                    {"type": "number", "const": 0},
                    {"type": "number", "minimum": MIN_SPEED, "maximum": MAX_SPEED},
                ],
            }
        ),
    ] = Field(description=SPEED_DOC)

    @field_validator("speed")
    @classmethod
    def _loop_can_honour(cls, speed: float) -> float:
        return check_speed(speed)


class ModeRequest(ApiModel):
    """Switch the live run between paper trading and observe-only (signals and risk run, no orders are sent)."""

    mode: Literal["paper", "observe"]


class AuditEntry(ApiModel):
    """Who asked for what, when, and whether it was done."""

    at: datetime
    client: str
    user_agent: str
    action: str
    detail: str
    outcome: Literal["accepted", "refused"]


class AuditView(ApiModel):
    """Recent control actions, newest first."""

    entries: list[AuditEntry]


# ---- WebSocket stream ---------------------------------------------------------------------------


class CycleData(ApiModel):
    """The newest state after a cycle; intermediate cycles are dropped for slow clients."""

    run_id: str
    cycle: int
    ts: datetime | None
    progress: float | None
    initial_cash: float
    cash: float
    equity: float
    total_pnl: float
    total_return: float
    gross_exposure: float
    peak_equity: float
    drawdown: float
    working_orders: int
    halted: str | None
    positions: list[PositionView]
    health: list[HealthComponent]
    latency: LatencyView
    control: ControlView


class FillEvent(ApiModel):
    """A fill as it happens."""

    ts: datetime
    order_id: str
    seq: int
    symbol: str
    side: str
    qty: int
    price: float
    fee: float


class HealthEvent(ApiModel):
    """A component changed state."""

    ts: datetime
    component: str
    status: str
    message: str


class StreamSnapshot(ApiModel):
    """Everything needed to (re)draw the dashboard; clients refetch lists and series on receipt."""

    reason: str = Field(description="connect, resync request, or events dropped for a slow client")
    portfolio: PortfolioView | None
    control: ControlView
    health: HealthView
    note: str | None


class ControlEvent(ApiModel):
    """An operator action and the control state after it."""

    entry: AuditEntry
    state: ControlView


class SnapshotMessage(ApiModel):
    """Full state: sent on connect, on {"type": "resync"} and after a slow client lost events."""

    type: Literal["snapshot"] = "snapshot"
    data: StreamSnapshot


class CycleMessage(ApiModel):
    """Latest cycle state."""

    type: Literal["cycle"] = "cycle"
    data: CycleData


class FillMessage(ApiModel):
    """A fill."""

    type: Literal["fill"] = "fill"
    data: FillEvent


class SignalMessage(ApiModel):
    """A model changed its target."""

    type: Literal["signal"] = "signal"
    data: SignalView


class RiskMessage(ApiModel):
    """A risk alert: veto, reduction, rejection or halt."""

    type: Literal["risk"] = "risk"
    data: AlertView


class HealthMessage(ApiModel):
    """A health transition."""

    type: Literal["health"] = "health"
    data: HealthEvent


class ControlMessage(ApiModel):
    """An operator action through the API."""

    type: Literal["control"] = "control"
    data: ControlEvent


StreamMessage = Annotated[
    SnapshotMessage | CycleMessage | FillMessage | SignalMessage | RiskMessage | HealthMessage | ControlMessage,
    Field(discriminator="type"),
]
