"""Settings of live paper trading: which exchange calendar, when to warm up, report and retrain, how stale is stale."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class LiveSettings(BaseModel):
    """How the live orchestrator plans a trading day and judges its data feed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    calendar: Literal["XNYS", "XTSE"] = Field("XNYS", description="exchange calendar that sets sessions and holidays")
    warm_up_minutes: int = Field(
        30, ge=0, le=600, description="minutes before the open to backfill, load models and restore state"
    )
    fetch_delay_seconds: float = Field(
        5.0, ge=0, le=600, description="wait after a bar closes before asking the feed (vendors publish late)"
    )
    stale_after_bars: int = Field(
        3, ge=1, description="bars in a row without data after which the data component is DOWN, not DEGRADED"
    )
    report_delay_minutes: int = Field(15, ge=0, description="end-of-day report this long after the close")
    report_dir: Path | None = Field(None, description="where end-of-day reports go; default PAPERTRADER_HOME/reports")
    retrain_weekdays: tuple[int, ...] = Field((4,), description="weekdays (Monday=0) with a retraining slot")
    retrain_after_close_minutes: int = Field(60, ge=0, description="retraining starts this long after the close")
    retrain_family: Literal["lstm", "gru", "ppo"] | None = Field(
        None, description="model family retrained in the slot; None leaves retraining off"
    )
    feed_sources: tuple[str, ...] = Field(
        ("yahoo", "alphavantage", "questrade"), description="bar sources in failover order"
    )
    feed_workers: int = Field(
        8, ge=1, le=64, description="symbols the live feed asks the vendors for at once (their round trips overlap)"
    )
    history_days: int = Field(365, ge=1, description="calendar days of stored bars loaded to warm up indicators")
    quotes_every_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="poll quotes this often between bar closes (marks, protective stops and the kill switch act "
        "at them; the key budgets may stretch it); None leaves quotes off",
    )
    breaker_cooldown_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="how long the live feed leaves a failing vendor alone before one trial request (circuit "
        "breaker); short, so a vendor's stall of a few seconds costs no bar: the in-bar re-fetch finds it closed",
    )
    refetch_attempts: int = Field(
        3,
        ge=0,
        le=10,
        description="re-requests, within the same bar, of the symbols a bar close's feed request missed (timeout, "
        "5xx, 429; through the router, so the key budgets still pace them); 0 turns re-fetching off",
    )
    refetch_backoff_seconds: float = Field(
        2.0, gt=0, le=60, description="wait before the first re-request of a bar close; doubled before each next one"
    )
    refetch_deadline_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        description="no re-request starts later than this after the close's cycle was due (at most a quarter of "
        "the bar); a close counts on time (live uptime) when its cycle commits within twice this (half a bar)",
    )
    panel_rows: int | None = Field(
        0,
        ge=0,
        description="bars of history the live panel keeps in memory, at least the longest look-back of the "
        "features, models and risk (0: just that, plus a margin); older rows are dropped in chunks, cycle numbers "
        "stay; None keeps every bar",
    )
    wait_chunk_seconds: float = Field(
        1.0, gt=0, le=60, description="longest single wall-clock sleep, so a stop request is seen promptly"
    )

    @field_validator("retrain_weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [d for d in value if not 0 <= d <= 6]
        if bad:
            raise ValueError(f"retrain_weekdays must be 0 (Monday) .. 6 (Sunday), got {bad}")
        return tuple(sorted(set(value)))
