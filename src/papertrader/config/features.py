"""Settings of the data families the models read besides prices: when collected side data becomes visible.

Mounted as ``Settings.features``; every field reads ``PAPERTRADER_FEATURES__<FIELD>`` from the environment
(for example ``PAPERTRADER_FEATURES__FUNDAMENTALS_LAG_DAYS=2``). Each lag only ever makes data visible LATER
than the vendor's own date, so a larger value is always the safer one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeatureSettings(BaseModel):
    """Point-in-time lags of the fundamentals, macro and news families (collected with `data collect`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fundamentals_lag_days: float = Field(
        1.0,
        ge=0,
        description="days after a report's publication time (earnings reportedDate and reportTime) before a "
        "feature may read it; stored with each trained model",
    )
    statement_lag_days: float = Field(
        90.0,
        ge=0,
        description="INCOME_STATEMENT / BALANCE_SHEET rows carry no report date: they count as published this "
        "many days after fiscalDateEnding (90 = the longest SEC 10-K deadline; 10-Qs are due within 40-45)",
    )
    macro_lag_days: int = Field(
        0,
        ge=0,
        description="extra days added to every macro series' own publication lag (features/macro.py)",
    )
    news_lag_minutes: float = Field(
        0.0, ge=0, description="minutes after an article's time_published before sentiment features read it"
    )
