"""`papertrader demo`, and what it does around the replay: models trained before a cutoff, then the comparison.

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
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from papertrader.cli import board, models
from papertrader.cli.common import console, errors, iso_date, optional_date
from papertrader.cli.data import import_bundled, print_status
from papertrader.cli.run import execute, write_report
from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import ConfigError
from papertrader.core.lazy import deferred
from papertrader.core.private import private_dir

if TYPE_CHECKING:
    import pandas as pd

    from papertrader.engine.runner import RunResult
else:  # imported when the demo runs: `papertrader --help` never pays for it
    pd = deferred("pandas")

DEFAULT_CUTOFF = "2009-01-01"
#: The demo's window, whatever else the lake holds: an imported CSV never changes `make run` (universe: demo_symbols).
DEMO_END = "2013-03-02"  # exclusive: the bundled equities end on 2013-03-01
FAMILIES = ("lstm", "gru", "rl", "lgbm")  # registry families of the `train all` kinds lstm, gru, ppo, lgbm
#: The board the demo replays: every trained family plus the trend member.
DEMO_MEMBERS = ("lstm", "gru", "ppo", "lgbm", "trend")
app = typer.Typer()


@dataclass(frozen=True)
class ModelCheck:
    """Whether the registry's current versions were trained on exactly the bars before the cutoff, and why not."""

    reusable: bool
    reasons: tuple[str, ...]
    data_end: pd.Timestamp


def demo_symbols() -> tuple[str, ...]:
    """The demo's own universe (the bundled equities), whatever else the lake holds."""
    from papertrader.data.adapters.bundled import BOKEH_SYMBOLS  # pandas: only when the demo runs

    return tuple(BOKEH_SYMBOLS)


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
    from papertrader.models.holdout import calibration_holdback
    from papertrader.models.lake import bars_before, load_training_data

    bars, _ = load_training_data(settings, "1d", demo_symbols())
    before = bars_before(bars, cutoff)
    until = calibration_holdback(pd.DatetimeIndex(before["ts"]), settings.board.calibration_bars)
    if until is None:
        raise ConfigError(f"too little history before {cutoff} to train the models and calibrate the board")
    return f"{until.tz_convert('America/New_York'):%Y-%m-%d}"


def check_models(settings: Settings, cutoff: str) -> ModelCheck:
    """Compare each current manifest's data_end and symbols with what `train all --until cutoff` would use now.

    `cutoff` here is the training cutoff (`training_until`), not the replay's start.
    """
    from papertrader.models.gate import gate_of
    from papertrader.models.lake import bars_before, load_training_data
    from papertrader.models.registry import Registry

    bars, _ = load_training_data(settings, "1d", demo_symbols())
    before = bars_before(bars, cutoff)
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
    models.train("all", small=small, until=until, symbols=",".join(demo_symbols()))
    after = check_models(settings, until)
    if not after.reusable:  # pragma: no cover - training registers and promotes by default
        raise ConfigError(f"training did not leave usable models: {'; '.join(after.reasons)}")
    return after


def board_roster(settings: Settings) -> list[str]:
    """One line per board member: the trend member and each model's quality-gate verdict from its manifest."""
    from papertrader.engine.strategies import FAMILY
    from papertrader.models.registry import Registry
    from papertrader.signals.gating import admission

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
            ensemble_settings(settings), demo_symbols(), start, demo_end(), None, board.ProgressBar(progress)
        )
    table = board.print_compare(ts, lines, console)
    if html is None:
        return None
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(board.compare_html(ts, lines, table), encoding="utf-8")
    return html


@app.command("demo")
def demo(
    speed: Annotated[float, typer.Option(help="replay speed (market seconds per wall second; 0 = max)")] = 0.0,
    api: Annotated[bool, typer.Option(help="serve the API and dashboard during the replay")] = True,
    keep_serving: Annotated[bool, typer.Option(help="keep the dashboard up after the replay until Ctrl-C")] = False,
    strategy: Annotated[
        str,
        typer.Option(help="ensemble (train, calibrate, replay from the cutoff) | trend (the old full replay)"),
    ] = "ensemble",
    until: Annotated[
        str,
        typer.Option(help="the replay starts here; models see bars up to a calibration window (~1 year) before it"),
    ] = "2009-01-01",
    retrain: Annotated[bool, typer.Option(help="train fresh models even when current ones fit the cutoff")] = False,
    small: Annotated[bool, typer.Option("--small", help="tiny CI-sized models (seconds; they learn nothing)")] = False,
) -> None:
    """The main job on a fresh machine: bundled real data, tiny models, an out-of-sample replay with the dashboard."""
    from papertrader.data.store import Lake

    if strategy not in ("ensemble", "trend"):
        raise typer.BadParameter(f"unknown strategy {strategy!r}: use ensemble or trend")
    settings = load_settings()
    lake = Lake(settings.lake_dir)
    with errors():
        if not set(demo_symbols()) <= set(lake.symbols("1d")):  # its own universe, whatever else is there
            import_bundled(lake)
        print_status(lake)
        if strategy == "ensemble":
            ensure_models(settings, until, console, retrain=retrain, small=small)
            print_roster(settings, console)
    reports = private_dir(settings.home / "reports")  # tear sheets show fills and equity: owner-only
    paths: list[Path] = []

    def report(result: RunResult) -> None:
        if strategy == "ensemble":
            start = optional_date(until)
            assert start is not None
            compared = print_comparison(settings, start, console, reports / f"{result.run_id}-compare.html")
            if compared is not None:
                paths.append(compared)
        paths.insert(0, write_report(result.run_id, reports / f"{result.run_id}.html"))
        console.print(
            f"report: {paths[0]}" + (f" · comparison: {paths[1]}" if len(paths) > 1 else "") + "\n"
            f"state: {settings.db_url} · lake: {settings.lake_dir}\n"
            f"the board's votes: `papertrader decisions {result.run_id}` or the dashboard's Decisions page; "
            "browse every stored run: `papertrader serve`; "
            "watch one live: `papertrader demo --speed 2000000 --keep-serving`"
        )

    board = strategy == "ensemble"
    execute(
        "replay",
        ",".join(demo_symbols()),
        until if board else None,  # the board replays from the cutoff; trend replays the whole history
        DEMO_END,
        "1d",
        None,
        speed=speed,
        serve_api=api,
        keep_serving=keep_serving,
        settings=ensemble_settings(settings) if board else None,
        after=report,
    )
