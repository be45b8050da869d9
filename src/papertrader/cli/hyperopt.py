"""`papertrader hyperopt`: search strategy and risk parameters, and show how much the best trial overfits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from papertrader.cli.common import console, errors, optional_date, symbol_list
from papertrader.config.settings import load_settings

if TYPE_CHECKING:  # optuna, pandas and the engine load when the command runs, so --help stays instant
    from papertrader.engine.hyperopt import Outcome

app = typer.Typer()


@app.command("hyperopt")
def hyperopt(
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols (default: every equity)")] = None,
    start: Annotated[str | None, typer.Option(help="first day of the window (ISO date)")] = None,
    end: Annotated[str | None, typer.Option(help="end of the window, exclusive (ISO date)")] = None,
    trials: Annotated[int, typer.Option(help="trials to add to the study in this call")] = 50,
    folds: Annotated[int, typer.Option(help="consecutive validation folds each trial is scored on")] = 3,
    test_fraction: Annotated[
        float, typer.Option(help="share of the window at its end held out: never searched, only --final-test runs it")
    ] = 0.2,
    study: Annotated[str | None, typer.Option(help="study name; re-running it adds trials")] = None,
    seed: Annotated[int, typer.Option(help="sampler seed: the same command gives the same trials")] = 0,
    top: Annotated[int, typer.Option(help="best trials to show")] = 5,
    final_test: Annotated[
        bool, typer.Option(help="backtest the best trial once on the held-out test (each look is counted)")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="trials asked for and scored at once; above 1 on a local Ray of N CPUs")
    ] = 1,
    ray: Annotated[bool, typer.Option("--ray", help="score each batch of --workers trials as Ray tasks")] = False,
    ray_address: Annotated[str | None, typer.Option(help="join this Ray cluster (implies --ray)")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the report as JSON")] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help="trend (strategy and risk parameters) or ensemble (the board's parameters, risk and the models' "
            "hyper-parameters, models trained per fold); default: strategy.name from the config"
        ),
    ] = None,
    small: Annotated[
        bool, typer.Option("--small", help="ensemble: tiny CI-sized models (train --small) so a trial takes seconds")
    ] = False,
) -> None:
    """Optuna over trend, board, risk and model parameters, scored out-of-sample on walk-forward folds against the
    trend baseline."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from papertrader.engine.hyperopt import search
    from papertrader.models.scaleout import mapper, shutdown

    use_ray = ray or ray_address is not None or workers > 1
    if strategy is not None and strategy not in ("trend", "ensemble"):
        raise typer.BadParameter(f"--strategy takes trend or ensemble, not {strategy!r}")
    with errors(console):
        settings = load_settings()
        if strategy is not None:
            settings = settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": strategy})})
        try:
            with Progress(
                TextColumn("hyperopt"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
            ) as progress:
                task = progress.add_task("trials", total=trials)
                outcome = search(
                    settings,
                    symbol_list(symbols),
                    optional_date(start, "--start"),
                    optional_date(end, "--end"),
                    trials=trials,
                    folds=folds,
                    test_fraction=test_fraction,
                    study_name=study,
                    seed=seed,
                    top=top,
                    with_test=final_test,
                    on_trial=lambda _n: progress.advance(task),
                    batch=workers,
                    map_fn=mapper(ray_address, use_ray=use_ray, num_cpus=workers if workers > 1 else None),
                    small=small,
                )
        finally:
            if use_ray:
                shutdown()
        print_outcome(outcome)
        if json_file is not None:
            json_file.write_text(json.dumps(outcome.to_json(), indent=2))
            console.print(f"wrote {json_file}")


SHORT = {
    "strategy.fast": "fast",
    "strategy.slow": "slow",
    "strategy.rebalance_band": "band",
    "risk.max_position_fraction": "max_pos",
    "risk.vol_target": "vol_tgt",
    "risk.stop_atr_mult": "stop_atr",
    "board.min_edge": "edge",
    "board.alignment_boost": "align",
    "board.conflict_penalty": "conflict",
    "board.conflict_policy": "policy",
}


def short(name: str) -> str:
    """The table's short name of a parameter (board weights as w_<member>, model ones as <member>.<name>)."""
    if name in SHORT:
        return SHORT[name]
    if name.startswith("board.weight."):
        return "w_" + name.removeprefix("board.weight.")
    return name.removeprefix("model.")


def _value(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def _num(x: float) -> str:
    return f"{x:+.2f}"


def print_outcome(outcome: Outcome) -> None:
    """The best trials with their fold-by-fold excess Sharpe and spread, beside the default parameters."""
    folds = outcome.plan.folds
    if outcome.interrupted:
        console.print("[yellow]interrupted: the finished trials are stored; re-run the study to add more[/yellow]")
    console.print(
        f"study [bold]{escape(outcome.study)}[/bold]: {outcome.trials_total} trials "
        f"({outcome.trials_added} added now), stored in {escape(outcome.storage)}"
    )
    for i, w in enumerate(folds, 1):
        console.print(f"  fold {i}: {w.start:%Y-%m-%d} .. {w.end:%Y-%m-%d}")
    if outcome.plan.test is not None:
        t = outcome.plan.test
        console.print(f"  held-out test (never searched): {t.start:%Y-%m-%d} .. {t.end:%Y-%m-%d}")
    table = Table(title="score = Sharpe - default trend baseline Sharpe, per fold, net of costs")
    for col in ("trial", "score", *(f"fold {i}" for i in range(1, len(folds) + 1)), "std", "min", "parameters"):
        table.add_column(col, justify="left" if col == "parameters" else "right")
    base = ", ".join(f"{s:+.2f}" for s in outcome.baseline_sharpe)
    table.add_row("defaults", _num(0.0), *(_num(0.0) for _ in folds), "0.00", _num(0.0), f"baseline Sharpe: {base}")
    for row in outcome.best:
        order = list(SHORT)
        ranked = sorted(row.params.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
        params = " ".join(f"{short(k)}={_value(v)}" for k, v in ranked)
        table.add_row(
            str(row.number), _num(row.score), *map(_num, row.fold_excess), f"{row.spread:.2f}", _num(row.worst), params
        )
    console.print(table)
    shown = {k for row in outcome.best for k in row.params}
    console.print("parameters: " + ", ".join(f"{short(name)}={name}" for name in SHORT if name in shown or not shown))
    board = outcome.board
    if board is not None:
        members = ", ".join(f"{m} in {n}" for m, n in board["member_voted_in_trials"].items()) or "none"
        console.print(
            f"board: {board['trials_with_voting_models']} of {board['trials']} trials had a model member voting on "
            f"every fold ({board['trials_with_any_voting_model']} on at least one; by member: {members}); the "
            "others traded only the members that passed the quality gate"
        )
    console.print(f"[yellow]caveat:[/yellow] {outcome.to_json()['caveat']}")
    test = outcome.final_test
    if test is not None:
        console.print(
            f"[bold]HELD-OUT TEST[/bold] (trial {test['trial']}, look {test['looks']} at this study's test window): "
            f"Sharpe {test['sharpe']:+.2f} vs baseline {test['baseline_sharpe']:+.2f} "
            f"(excess {test['excess_sharpe']:+.2f}), return {test['total_return']:+.2%}, "
            f"max drawdown {test['max_drawdown']:.2%}"
        )
        if test["looks"] > 1:
            console.print(
                "[yellow]the test window has been looked at before: choosing among its looks makes it "
                "a validation fold[/yellow]"
            )
