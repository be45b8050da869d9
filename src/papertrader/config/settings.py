"""Settings with documented, non-zero-cost defaults; secrets come only from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from papertrader.config.advisors import AdvisorsSettings
from papertrader.config.board import BoardSettings
from papertrader.config.features import FeatureSettings
from papertrader.config.live import LiveSettings
from papertrader.config.monitor import MonitorSettings
from papertrader.core.private import private_dir


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExecutionSettings(_Frozen):
    """How orders meet bars (the fill model); see papertrader.execution.fills for the rules.

    Defaults keep a daily backtest's market orders exactly where they always filled (next open plus the
    fixed spread and slippage) while refusing what a real broker would refuse: fills larger than a share
    of the bar's volume, fills outside the exchange session and fills in halted symbols.
    """

    max_volume_fraction: float | None = Field(
        0.1, gt=0, le=1, description="share of a bar's volume all our orders in a symbol may take; None = no cap"
    )
    latency_ms: int = Field(0, ge=0, description="an order may fill only on bars opening this long after it")
    spread_model: Literal["fixed", "estimate"] = Field(
        "fixed", description="without quotes: CostSettings.spread_bps, or a high-low estimate from past bars"
    )
    spread_estimator: Literal["abdi_ranaldo", "corwin_schultz"] = Field(
        "abdi_ranaldo", description="high-low spread estimator used when spread_model is estimate"
    )
    min_tick: float = Field(0.01, gt=0, description="price increment; an estimated spread is at least one tick")
    impact_k: float = Field(
        1.0, ge=0, description="square-root impact: k * sigma * sqrt(order qty / ADV), when sigma and ADV are known"
    )
    market_window: int = Field(
        0, ge=0, description="past bars the broker keeps to estimate sigma, ADV and spread itself; 0 = caller's"
    )
    enforce_calendar: bool = Field(True, description="no fills outside the exchange's regular session")
    extended_hours: bool = Field(False, description="let every order trade pre- and post-market bars")
    halt_on_zero_volume: bool = Field(True, description="a bar with zero volume means the symbol is halted")
    halted_symbols: tuple[str, ...] = Field((), description="symbols that must not fill (trading halts)")


class CostSettings(_Frozen):
    """What a fill costs. Defaults are a US discount broker trading liquid large caps."""

    commission_model: Literal["per_share", "bps", "flat", "questrade_classic", "questrade_zero"] = Field(
        "per_share", description="how commission is charged; see papertrader.execution.fees for each model"
    )
    commission_per_share: float = Field(0.005, ge=0, description="USD per share (per_share model)")
    commission_min: float = Field(1.0, ge=0, description="minimum USD per order fill (per_share model)")
    commission_max_pct: float = Field(0.01, gt=0, description="cap as a fraction of notional (per_share)")
    commission_bps: float = Field(1.0, ge=0, description="basis points of notional (bps model)")
    slippage_bps: float = Field(5.0, ge=0, description="adverse move on market orders, basis points")
    spread_bps: float = Field(2.0, ge=0, description="full quoted spread; market orders pay half")
    commission_flat: float = Field(4.95, ge=0, description="USD per order, however it fills (flat model)")
    execution: ExecutionSettings = ExecutionSettings()


class RiskSettings(_Frozen):
    """Limits every order passes before it reaches the broker."""

    max_position_fraction: float = Field(0.25, gt=0, le=1, description="per-symbol cap, fraction of equity")
    max_gross_exposure: float = Field(1.0, gt=0, le=4, description="sum of |positions| / equity")
    allow_short: bool = Field(False, description="when false, short targets are denied with an order.denied event")
    min_order_notional: float = Field(100.0, ge=0, description="smaller orders are not worth the fees")
    max_order_fraction: float = Field(0.25, gt=0, le=4, description="one order's notional / equity, at most")
    kelly_fraction: float = Field(0.25, gt=0, le=1, description="fraction of full Kelly used with probabilities")
    vol_target: float | None = Field(
        0.35, gt=0, description="annualised volatility each position is scaled to (never up); None disables"
    )
    vol_window: int = Field(20, ge=5, description="bars of history for the volatility estimate")
    protective_stops: bool = Field(
        True, description="attach an ATR stop-loss and take-profit (one OCO pair) to every position"
    )
    atr_period: int = Field(14, ge=2, description="bars in the average true range the stops are measured in")
    stop_atr_mult: float = Field(2.0, gt=0, description="stop-loss distance in ATRs below a long entry")
    take_profit_atr_mult: float = Field(4.0, gt=0, description="take-profit distance in ATRs above a long entry")
    daily_loss_limit: float = Field(0.025, gt=0, le=1, description="session loss that blocks new entries")
    flatten_on_daily_limit: bool = Field(False, description="also close everything when the daily limit hits")
    max_drawdown: float = Field(0.08, gt=0, le=1, description="drawdown from peak that fires the kill switch")
    drawdown_budget: bool = Field(
        True,
        description="size exposure so a bad bar fits the room left above max_drawdown, and exit intrabar at it",
    )
    budget_z: float = Field(2.33, ge=0, description="one-bar loss quantile of the budget, in bar volatilities")
    gap_allowance: float = Field(
        0.05, gt=0, lt=1, description="adverse open-vs-close gap per position the drawdown budget keeps room for"
    )
    budget_margin: float = Field(
        0.005, ge=0, lt=1, description="the budget's floor sits this far inside max_drawdown (fees, rounding, gaps)"
    )
    exit_cost_bps: float = Field(
        15.0, ge=0, description="cost of a drawdown exit (half spread, slippage, fees) reserved from the budget"
    )
    core_cap: float = Field(0.80, gt=0, le=4, description="gross weight cap of core equities")
    etf_cap: float = Field(0.60, gt=0, le=4, description="gross weight cap of ETFs")
    speculative_cap: float = Field(0.10, ge=0, le=4, description="gross weight cap of penny/speculative names")
    cash_reserve: float = Field(0.05, ge=0, lt=1, description="share of equity always kept in cash")
    penny_below: float = Field(5.0, ge=0, description="price under which a stock counts as speculative")
    etfs: tuple[str, ...] = Field(
        ("SPY", "QQQ", "IWM", "EEM", "DIA", "VTI", "VOO", "IVV", "EFA", "TLT", "GLD", "XLF", "XLK", "XLE", "XIU.TO"),
        description="symbols in the ETF bucket",
    )
    max_sector_fraction: float = Field(0.5, gt=0, le=4, description="gross weight cap per known sector")
    limit_tolerance: float = Field(
        0.01,
        ge=0,
        description="how far price drift may carry a held position or group past its cap before it is trimmed",
    )
    sectors: dict[str, str] = Field(default_factory=dict, description="symbol -> sector; unknown ones are uncapped")
    construction: Literal["auto", "mean_variance", "none"] = Field(
        "auto",
        description="mean_variance: target weights from expected returns and a shrunk covariance under every cap; "
        "auto: that whenever the decision carries calibrated odds (the board) and PyPortfolioOpt is installed",
    )
    construction_window: int = Field(120, ge=20, description="bars of returns behind the construction's covariance")
    sectors_from_universe: bool = Field(
        True,
        description="also take sectors from the universe file (top 200 and universe/extra.csv); `sectors` wins",
    )


class StrategySettings(_Frozen):
    """The trend-following baseline: a fast/slow moving-average crossover, long or flat."""

    name: str = Field(
        "trend",
        min_length=1,
        description="which strategy backtest/paper/trial run: a built-in (trend, lstm, gru, ppo, lgbm, ensemble; "
        "models need `papertrader train all`), a plug-in class MODULE:CLASS, or a name registered under the "
        "entry-point group papertrader.strategies (docs/strategies.md); checked when the run loads it",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments for a plug-in strategy's class: Class(symbols, **params)",
    )
    fast: int = Field(20, ge=2, description="fast moving-average length in bars; must be shorter than slow")
    slow: int = Field(50, ge=3, description="slow moving-average length in bars")
    rebalance_band: float = Field(
        0.05, ge=0, description="trade a held position only when its weight drifts this far from target"
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> StrategySettings:
        if self.fast >= self.slow:
            raise ValueError("strategy.fast must be shorter than strategy.slow")
        return self


def default_home() -> Path:
    """Where state lives unless PAPERTRADER_HOME says otherwise."""
    return Path(os.environ.get("PAPERTRADER_HOME", Path.home() / ".papertrader")).expanduser()


class Settings(BaseSettings):
    """Everything configurable, in one place; env > .env > $PAPERTRADER_HOME/config.toml > defaults."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERTRADER_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    home: Path = Field(
        default_factory=default_home, description="state folder (default ~/.papertrader): lake, database, config.toml"
    )
    database_url: str | None = Field(None, description="any SQLAlchemy URL; default SQLite under home")
    initial_cash: float = Field(100_000.0, gt=0, description="starting cash of the virtual account, USD")
    costs: CostSettings = CostSettings()
    risk: RiskSettings = RiskSettings()
    strategy: StrategySettings = StrategySettings()
    live: LiveSettings = LiveSettings()
    board: BoardSettings = BoardSettings()
    advisors: AdvisorsSettings = AdvisorsSettings()
    monitor: MonitorSettings = MonitorSettings()
    features: FeatureSettings = FeatureSettings()

    @property
    def lake_dir(self) -> Path:
        """Root of the Parquet market-data lake."""
        return self.home / "lake"

    @property
    def db_url(self) -> str:
        """The database URL actually used."""
        return self.database_url or f"sqlite:///{self.home / 'papertrader.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the TOML file below the environment and .env."""
        toml_path = default_home() / "config.toml"
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


def load_settings(**overrides: object) -> Settings:
    """Build settings, creating the home directory (owner-only) so every component can rely on it."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    private_dir(settings.home)
    return settings
