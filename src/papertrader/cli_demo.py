"""What `papertrader demo` does around the replay: models trained before a cutoff, then the board comparison.

The demo is the whole system on a fresh machine: bundled real bars; the LSTM, GRU, PPO and the
cross-sectional LightGBM trained by the same `train all` a user runs (production sizes, early stopping on
validation rows) on bars that end one calibration window before the cutoff (reused when the registry's
current versions were trained on exactly that data); the board calibrated on that window, which no model saw;
the board replayed from the cutoff (out-of-sample) with the dashboard attached; and the comparison against
each member alone, the trend baseline and buy-and-hold on the same window (engine/compare.py, not a copy).
Before the replay it says which members vote and which the quality gate leaves out, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from papertrader import cli_board, cli_models
from papertrader.cli_common import iso_date
from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError
from papertrader.data.adapters.bundled import BOKEH_SYMBOLS
from papertrader.models.gate import gate_of
from papertrader.models.holdout import calibration_holdback
from papertrader.models.registry import Registry
from papertrader.signals.gating import admission

DEFAULT_CUTOFF = "2009-01-01"
#: The demo's own universe and window, whatever else the lake holds: an imported CSV never changes `make run`.
DEMO_SYMBOLS = BOKEH_SYMBOLS
DEMO_END = "2013-03-02"  # exclusive: the bundled equities end on 2013-03-01
FAMILIES = ("lstm", "gru", "rl", "lgbm")  # registry families of the `train all` kinds lstm, gru, ppo, lgbm
#: The board the demo replays: every trained family plus the trend member.
DEMO_MEMBERS = ("lstm", "gru", "ppo", "lgbm", "trend")


@dataclass(frozen=True)
class ModelCheck:
    """Whether the registry's current versions were trained on exactly the bars before the cutoff, and why not."""

    reusable: bool
    reasons: tuple[str, ...]
    data_end: pd.Timestamp


def demo_end() -> datetime:
    """The exclusive end of the demo's window, read as the replay's `--end` is."""
    return iso_date(DEMO_END)


def ensemble_settings(settings: Settings) -> Settings:
    """The same settings with the demo's board (every trained family and the trend member) as the strategy."""
    board = settings.board.model_copy(update={"members": DEMO_MEMBERS})
    strategy = settings.strategy.model_copy(update={"name": "ensemble"})
    return settings.model_copy(update={"strategy": strategy, "board": board})


def training_until(settings: Settings, cutoff: str) -> str:
    """The date the models' data ends: a calibration window (models.holdout.calibration_holdback) before the cutoff.

    The bars in between are seen by no model (not even as validation or test rows), so the board can fit its
    calibrators there; with models trained up to the cutoff it would trade uncalibrated.
    """
    bars, _ = cli_models.load_training_data(settings, "1d", DEMO_SYMBOLS)
    before = cli_models.bars_before(bars, cutoff)
    until = calibration_holdback(pd.DatetimeIndex(before["ts"]), settings.board.calibration_bars)
    if until is None:
        raise ConfigError(f"too little history before {cutoff} to train the models and calibrate the board")
    return f"{until.tz_convert('America/New_York'):%Y-%m-%d}"


def check_models(settings: Settings, cutoff: str) -> ModelCheck:
    """Compare each current manifest's data_end and symbols with what `train all --until cutoff` would use now.

    `cutoff` here is the training cutoff (`training_until`), not the replay's start.
    """
    bars, _ = cli_models.load_training_data(settings, "1d", DEMO_SYMBOLS)
    before = cli_models.bars_before(bars, cutoff)
    data_end = pd.Timestamp(before["ts"].max())
    symbols = sorted(before["symbol"].unique())
    registry = Registry(settings.home)
    reasons: list[str] = []
    for family in FAMILIES:
        if registry.current(family) is None:
            reasons.append(f"no {family} model registered")
            continue
        manifest = registry.manifest(family)
        stored_end = manifest.training_window.get("data_end")
        if stored_end is None or pd.Timestamp(stored_end) != data_end:
            reasons.append(
                f"{family} {manifest.version} saw data until {stored_end or 'unknown'}, not {data_end:%Y-%m-%d}"
            )
            continue
        trained_on = manifest.config.get("symbols")
        if trained_on is not None and sorted(trained_on) != symbols:
            reasons.append(f"{family} {manifest.version} was trained on {', '.join(trained_on)}")
        elif gate_of(manifest.metrics) is None:
            reasons.append(f"{family} {manifest.version} has no quality-gate record")
    return ModelCheck(not reasons, tuple(reasons), data_end)


def ensure_models(
    settings: Settings, cutoff: str, console: Console, retrain: bool = False, small: bool = False
) -> ModelCheck:
    """Train the four families on bars ending a calibration window before the cutoff, unless current ones were."""
    until = training_until(settings, cutoff)
    check = check_models(settings, until)
    if check.reusable and not retrain:
        console.print(
            f"[green]reusing the registered lstm, gru, ppo and lgbm models[/green]: trained on bars before {until} "
            f"(last bar seen {check.data_end:%Y-%m-%d}); `--retrain` trains fresh ones"
        )
        return check
    why = "asked to retrain" if retrain else "; ".join(check.reasons)
    size = "tiny CI-sized" if small else "production-size (early stopping; about 3-4 minutes on 2 cores)"
    console.print(
        f"training {size} lstm, gru, ppo and lgbm models on bars before {until}; the board calibrates on "
        f"{until} -> {cutoff}, which no model sees, and trades from {cutoff} ({why})"
    )
    cli_models.train("all", small=small, until=until, symbols=",".join(DEMO_SYMBOLS))
    after = check_models(settings, until)
    if not after.reusable:  # pragma: no cover - training registers and promotes by default
        raise ConfigError(f"training did not leave usable models: {'; '.join(after.reasons)}")
    return after


def board_roster(settings: Settings) -> list[str]:
    """One line per board member: the trend member and each model's quality-gate verdict from its manifest."""
    from papertrader.engine.strategies import FAMILY

    registry = Registry(settings.home)
    lines: list[str] = []
    for name in ensemble_settings(settings).board.members:
        if name == "trend":
            lines.append("trend: votes (the moving-average baseline is not gated)")
        elif name in FAMILY and registry.current(FAMILY[name]) is not None:
            lines.append(admission(name, registry.manifest(FAMILY[name])).note)
    return lines


def print_roster(settings: Settings, console: Console) -> None:
    """Which members the board will hear and which the quality gate leaves out, before the replay starts."""
    lines = board_roster(settings)
    console.print("[bold]the board[/bold] (quality gate on each model's validation and held-out test windows):")
    for line in lines:
        colour = "yellow" if ": left out, " in line else "green"
        console.print(f"  [{colour}]{line}[/{colour}]")
    models = [line for line in lines if not line.startswith("trend:")]
    if models and all(": left out, " in line for line in models):
        console.print("  no model earned a vote: the board trades the trend member alone")


def print_comparison(settings: Settings, start: datetime, console: Console, html: Path | None = None) -> Path | None:
    """The board vs each member alone vs buy-and-hold on the demo's out-of-sample window (compare's code)."""
    from papertrader.engine.compare import run_compare

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        ts, lines, _info = run_compare(
            ensemble_settings(settings), DEMO_SYMBOLS, start, demo_end(), None, cli_board.ProgressBar(progress)
        )
    table = cli_board.print_compare(ts, lines, console)
    if html is None:
        return None
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(cli_board.compare_html(ts, lines, table), encoding="utf-8")
    return html
