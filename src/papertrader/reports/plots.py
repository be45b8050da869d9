"""Matplotlib figures as base64 PNGs, so a report is one self-contained HTML file."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from papertrader.domain.types import Fill, Side

STRATEGY, BENCH = "#1f6feb", "#8b949e"


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def equity_figure(equity: pd.Series, benchmark: pd.Series) -> str:
    """Strategy equity against buy-and-hold on one axis, in dollars."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(equity.index, equity.to_numpy(), color=STRATEGY, lw=1.4, label="strategy (net of costs)")
    ax.plot(benchmark.index, benchmark.to_numpy(), color=BENCH, lw=1.2, label="buy & hold")
    ax.set_ylabel("equity ($)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return _png(fig)


def drawdown_figure(equity: pd.Series, benchmark: pd.Series) -> str:
    """Distance below the running peak for both curves."""
    fig, ax = plt.subplots(figsize=(10, 2.6))
    for series, color, label in ((equity, STRATEGY, "strategy"), (benchmark, BENCH, "buy & hold")):
        dd = series / series.cummax() - 1.0
        ax.fill_between(dd.index, dd.to_numpy() * 100, 0, color=color, alpha=0.35, label=label)
    ax.set_ylabel("drawdown (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return _png(fig)


def monthly_returns_figure(equity: pd.Series) -> str:
    """Heatmap of calendar-month returns (rows years, columns months)."""
    monthly = equity.resample("ME").last().pct_change().dropna()
    if monthly.empty:
        monthly = pd.Series([equity.iloc[-1] / equity.iloc[0] - 1.0], index=[equity.index[-1]])
    when = pd.DatetimeIndex(monthly.index)
    table = pd.DataFrame({"year": when.year, "month": when.month, "r": monthly.to_numpy()})
    grid = table.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(grid) + 1.2))
    limit = float(np.nanmax(np.abs(grid.to_numpy()))) or 0.01
    ax.imshow(grid.to_numpy() * 100, cmap="RdYlGn", vmin=-limit * 100, vmax=limit * 100, aspect="auto")
    ax.set_xticks(range(12), ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    ax.set_yticks(range(len(grid)), [str(y) for y in grid.index])
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        if np.isfinite(value):
            ax.text(j, i, f"{value * 100:.1f}", ha="center", va="center", fontsize=7)
    ax.set_title("monthly returns (%)")
    return _png(fig)


def rolling_sharpe_figure(equity: pd.Series, periods_per_year: float, window: int) -> str:
    """Sharpe over a trailing window, to show when the edge came and went."""
    rets = equity.pct_change()
    rolling = rets.rolling(window).mean() / rets.rolling(window).std() * np.sqrt(periods_per_year)
    fig, ax = plt.subplots(figsize=(10, 2.4))
    ax.plot(rolling.index, rolling.to_numpy(), color=STRATEGY, lw=1.0)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_ylabel(f"Sharpe ({window} bars)")
    ax.grid(alpha=0.3)
    return _png(fig)


def exposure_figure(exposure: pd.Series) -> str:
    """Gross exposure as a share of equity over time."""
    fig, ax = plt.subplots(figsize=(10, 2.2))
    ax.fill_between(exposure.index, exposure.to_numpy() * 100, 0, color=STRATEGY, alpha=0.4)
    ax.set_ylabel("exposure (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return _png(fig)


def signals_figure(symbol: str, close: pd.Series, fills: Sequence[Fill]) -> str:
    """A symbol's price with every buy and sell the strategy made."""
    fig, ax = plt.subplots(figsize=(10, 2.6))
    ax.plot(close.index, close.to_numpy(), color="#444", lw=0.9)
    for side, marker, color in ((Side.BUY, "^", "#2da44e"), (Side.SELL, "v", "#cf222e")):
        pts = [f for f in fills if f.symbol == symbol and f.side is side]
        if pts:
            when = pd.DatetimeIndex([f.ts for f in pts])
            ax.scatter(when, [float(f.price) for f in pts], marker=marker, color=color, s=28, zorder=3)
    ax.set_title(f"{symbol}: fills on price (▲ buy, ▼ sell)")
    ax.grid(alpha=0.3)
    return _png(fig)
