"""`papertrader train` and `papertrader models`: train, validate, register and manage the model families.

`app` holds `train` and the `models` group; the training data comes from models/lake.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papertrader.cli.common import console, errors, symbol_list
from papertrader.config.settings import load_settings
from papertrader.core.errors import PapertraderError
from papertrader.core.lazy import deferred
from papertrader.models.gate import NO_GATE_REASON, GateResult, gate_of

if TYPE_CHECKING:
    import pandas as pd

    from papertrader.features.inputs import External
else:  # imported on first use: `papertrader --help` never pays for it
    pd = deferred("pandas")

log = logging.getLogger(__name__)
app = typer.Typer()
models_app = typer.Typer(help="List, inspect, promote and roll back registered models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
KINDS = ("lstm", "gru", "ppo", "lgbm")


def training_families(external: External, symbols: tuple[str, ...], skip: str | None) -> tuple[str, ...]:
    """The families the lake has for the universe, less those `--skip` names (price cannot be skipped)."""
    from papertrader.features.from_lake import FAMILY_NAMES, available_families

    dropped = {s.strip().lower() for s in (skip or "").split(",") if s.strip()}
    unknown = dropped - set(FAMILY_NAMES[1:])
    if unknown:
        raise typer.BadParameter(f"--skip takes {', '.join(FAMILY_NAMES[1:])}; got {', '.join(sorted(unknown))}")
    return tuple(f for f in available_families(external, symbols) if f not in dropped)


def _check_until(until: str | None) -> None:
    """A usage error for an `--until` that is not a date, before any data is read."""
    if until is None:
        return
    try:
        pd.Timestamp(until)
    except ValueError:
        raise typer.BadParameter(f"--until {until!r} is not an ISO date like 2008-01-01") from None


def _fold_mapper(ray_address: str | None, use_ray: bool, progress: Progress | None) -> Any:
    """Folds on Ray when asked, else in-process with one progress tick per fold."""
    from papertrader.models.scaleout import mapper

    if ray_address or use_ray:
        return mapper(ray_address, use_ray=True)

    def local(fn: Callable[..., Any], market: Any, plan: Any, folds: list[Any]) -> list[Any]:
        task = progress.add_task(f"{plan.family} {plan.perturbation} folds", total=len(folds)) if progress else None
        out = []
        for fold in folds:
            out.append(fn(market, plan, fold))
            if progress is not None and task is not None:
                progress.advance(task)
        return out

    return local


def _trial_mapper(ray_address: str | None, use_ray: bool) -> Any:
    """Hyper-parameter trials on Ray when asked, else one after another here."""
    from papertrader.models.scaleout import mapper

    return mapper(ray_address, use_ray=use_ray)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command("train")
def train(
    kind: Annotated[str, typer.Argument(help="lstm | gru | ppo | lgbm | all")] = "all",
    walk_forward: Annotated[bool, typer.Option("--walk-forward", help="walk-forward report, no registration")] = False,
    interval: Annotated[str, typer.Option(help="bar interval in the lake: 1m 5m 15m 30m 1h 1d")] = "1d",
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols (default: all in the lake)")] = None,
    epochs: Annotated[int | None, typer.Option(help="maximum epochs (LSTM/GRU)")] = None,
    batches_per_epoch: Annotated[
        int | None, typer.Option(help="cap on mini-batches per epoch (a random subset each epoch)")
    ] = None,
    timesteps: Annotated[int | None, typer.Option(help="PPO environment steps")] = None,
    horizon: Annotated[int | None, typer.Option(help="label horizon in bars (coarse bars for the GRU)")] = None,
    folds: Annotated[int, typer.Option(help="walk-forward folds")] = 4,
    trials: Annotated[int, typer.Option(help="hyper-parameter trials before the final fit (LSTM/GRU)")] = 0,
    small: Annotated[bool, typer.Option("--small", help="tiny CI-sized models")] = False,
    long_short: Annotated[bool, typer.Option("--long-short", help="trade DOWN as short in the report")] = False,
    promote: Annotated[bool | None, typer.Option("--promote/--no-promote", help="make the new version live")] = None,
    ray_address: Annotated[str | None, typer.Option(help="run folds on this Ray cluster ('auto' to find one)")] = None,
    ray: Annotated[bool, typer.Option("--ray", help="run folds on a local Ray instance")] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="write results with stable keys")] = None,
    until: Annotated[
        str | None, typer.Option(help="train on bars before this date only (ISO, exclusive): later data stays unseen")
    ] = None,
    skip: Annotated[
        str | None, typer.Option(help="data families to leave out even when the lake has them: macro,fundamentals,news")
    ] = None,
) -> None:
    """Train lstm, gru, ppo, lgbm or all: register versions (default) or print a walk-forward report."""
    from papertrader.models.evaluate import walk_forward_report
    from papertrader.models.lake import bars_before, load_training_data
    from papertrader.models.registry import Registry
    from papertrader.models.report import render
    from papertrader.models.training import TrainOptions, train_and_register

    kinds = KINDS if kind == "all" else (kind,)
    if any(k not in KINDS for k in kinds):
        raise typer.BadParameter(f"unknown model {kind!r}: use lstm, gru, ppo, lgbm or all")
    _check_until(until)
    settings = load_settings()
    results: dict[str, Any] = {"interval": interval, "walk_forward": walk_forward, "models": {}}
    with errors():
        bars, external = load_training_data(settings, interval, symbol_list(symbols))
        bars = bars_before(bars, until)
        used = training_families(external, tuple(sorted(bars["symbol"].unique())), skip)
        console.print(f"data families: {', '.join(used)}")
        results["families"] = list(used)
        series = tuple(external.macro) if "macro" in used else ()
        for k in kinds:
            options = TrainOptions(
                kind=k,  # type: ignore[arg-type]
                interval=interval,
                small=small,
                epochs=epochs,
                batches_per_epoch=batches_per_epoch,
                timesteps=timesteps,
                horizon=horizon,
                macro_series=series,
                fundamentals="fundamentals" in used,
                sentiment="news" in used,
                fundamentals_lag_days=settings.features.fundamentals_lag_days,
                macro_lag_days=settings.features.macro_lag_days,
                progress=not walk_forward,
                promote=promote,
                trials=trials,
            )
            if k == "lgbm" and kind == "all" and bars["symbol"].nunique() < 2:
                console.print("lgbm: skipped, it ranks symbols against each other and needs at least two")
                continue
            if walk_forward and k == "lgbm":
                console.print("lgbm: no walk-forward report; `train lgbm` records rank IC on validation and test")
                continue
            if walk_forward:
                with _progress() as progress:
                    report = walk_forward_report(
                        bars,
                        options,
                        settings.costs,
                        external,
                        mapper=_fold_mapper(ray_address, ray, progress),
                        n_folds=folds,
                        long_short=long_short,
                    )
                console.print(render(report))
                results["models"][k] = report.to_json()
            else:
                outcome = train_and_register(
                    bars,
                    options,
                    Registry(settings.home),
                    settings.costs,
                    external,
                    mapper=_trial_mapper(ray_address, ray),
                )
                _print_outcome(outcome.family, outcome.version, outcome.metrics, outcome.seconds)
                results["models"][k] = {
                    "family": outcome.family,
                    "version": outcome.version,
                    "seconds": outcome.seconds,
                    "samples_per_second": outcome.samples_per_second,
                    "metrics": outcome.metrics,
                }
    if ray_address or ray:
        from papertrader.models.scaleout import shutdown

        shutdown()
    if json_file is not None:
        json_file.write_text(json.dumps(results, indent=2, default=_jsonable))
        console.print(f"wrote {json_file}")


def _jsonable(value: object) -> object:
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def gate_cell(gate: GateResult | None) -> str:
    """The gate verdict in words (passed/failed, coloured, and why); a version from before the gate says so."""
    if gate is None:
        return f"[yellow]none[/yellow]: {NO_GATE_REASON}"
    verdict = "[green]passed[/green]" if gate.passed else "[red]failed[/red]"
    return f"{verdict}: {gate.reason}"


def _print_outcome(family: str, version: str, metrics: dict[str, Any], seconds: float) -> None:
    table = Table(title=f"{family} {version} registered ({seconds:.1f}s training)")
    table.add_column("held-out metric")
    table.add_column("value", justify="right")
    for key, value in metrics.get("holdout", {}).items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    for key in ("sharpe", "total_return", "max_drawdown", "trades"):
        value = metrics.get("trading", {}).get(key)
        if value is not None:
            table.add_row(f"trading {key}", f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"quality gate (validation and held-out test rows): {gate_cell(gate_of(metrics))}")


@models_app.command("list")
def models_list(
    family: Annotated[str | None, typer.Option(help="lstm | gru | rl (default: all)")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the listing")] = None,
) -> None:
    """Every registered version with its training window, held-out score and which one is live."""
    from papertrader.models.registry import FAMILIES, Registry, check_family

    registry = Registry(load_settings().home)
    table = Table(title=f"models: {registry.root}")
    for col in ("family", "version", "live", "created", "trained on", "held-out", "gate", "schema"):
        table.add_column(col)
    listing: list[dict[str, Any]] = []
    with errors():
        families = (check_family(family),) if family else FAMILIES
        for fam in families:
            current = registry.current(fam)
            for version in registry.versions(fam):
                try:
                    m = registry.manifest(fam, version)
                except PapertraderError as exc:
                    table.add_row(fam, version, "", "", "", f"[red]{exc}[/red]", "", "")
                    continue
                score = m.metrics.get("holdout", {}).get("accuracy")
                sharpe = m.metrics.get("trading", {}).get("sharpe")
                shown = f"acc {score:.3f}" if score is not None else ""
                shown += f" sharpe {sharpe:.2f}" if sharpe is not None else ""
                window = f"{m.training_window.get('start', '')[:10]}..{m.training_window.get('end', '')[:10]}"
                live = "*" if version == current else ""
                gate = gate_of(m.metrics)
                table.add_row(
                    fam, version, live, m.created_at[:19], window, shown.strip(), gate_cell(gate), m.schema_hash[:12]
                )
                listing.append(
                    {
                        "family": fam,
                        "version": version,
                        "live": bool(live),
                        "created_at": m.created_at,
                        "training_window": m.training_window,
                        "metrics": m.metrics,
                        "gate": None if gate is None else gate.to_dict(),
                    }
                )
    console.print(table)
    if json_file is not None:
        json_file.write_text(json.dumps(listing, indent=2, default=_jsonable))


@models_app.command("show")
def models_show(
    family: Annotated[str, typer.Argument(help="lstm | gru | rl")],
    version: Annotated[str | None, typer.Argument(help="version (default: the live one)")] = None,
) -> None:
    """A version's manifest and the result of loading it now (health check, fallback if it fails)."""
    from papertrader.models.loading import ModelHandle
    from papertrader.models.registry import Registry

    registry = Registry(load_settings().home)
    with errors():
        manifest = registry.manifest(family, version)
        handle = ModelHandle(registry, family, version=version)
        handle.get()
    console.print_json(json.dumps(manifest.to_dict(), default=_jsonable))
    console.print(f"quality gate: {gate_cell(gate_of(manifest.metrics))}")
    health = handle.health.as_dict()
    colour = {"ok": "green", "degraded": "yellow", "down": "red"}[health["status"]]
    console.print(f"health: [{colour}]{health['status']}[/{colour}], serving {health['active']}")
    for problem in health["problems"]:
        console.print(f"  - {problem}")


@models_app.command("promote")
def models_promote(
    family: Annotated[str, typer.Argument(help="lstm | gru | rl")],
    version: Annotated[str, typer.Argument(help="version to make live")],
) -> None:
    """Make a registered version the live one (after its health check passes)."""
    from papertrader.models.loading import load_version
    from papertrader.models.registry import Registry

    registry = Registry(load_settings().home)
    with errors():
        load_version(registry, family, version, None)
        registry.promote(family, version)
    console.print(f"{family} {version} is live")


@models_app.command("rollback")
def models_rollback(family: Annotated[str, typer.Argument(help="lstm | gru | rl")]) -> None:
    """Return to the version that was live before the current one."""
    from papertrader.models.registry import Registry

    registry = Registry(load_settings().home)
    with errors():
        target = registry.rollback(family)
    console.print(f"{family} rolled back to {target}")
