"""`papertrader trial`: the seven-day paper trial replayed over held-out windows, with JSON and an HTML report.

JSON keys (stable; NaN is null): trial_id, strategy, interval, symbols, days, initial_cash, layout,
windows_requested, windows_available, held_out {start, reason, exclusions [{label, start, end}]}, criteria
{sharpe_above, max_drawdown_below, uptime_above, critical_failures_below, baselines}, confidence,
windows [{index, run_id, start, end, scheduled_cycles, cycles, strategy {total_return, sharpe, max_drawdown,
trades, fees_paid}, buy_and_hold {total_return, sharpe, max_drawdown}, buy_and_hold_vol_matched {total_return, sharpe,
max_drawdown, fraction}, trend_baseline {total_return, sharpe, max_drawdown} (null when the strategy is the
trend baseline), uptime, critical_failures [str], passes {sharpe, max_drawdown, uptime, critical_failures,
baselines, all}, beat_buy_and_hold, beat_baselines, equity [..], buy_and_hold_equity [..]}],
summary {n_windows, metrics {name: {mean, median}}, pass_rates {criterion: {passed, n, rate, low, high,
confidence}}, beat_buy_and_hold {...}}, html.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from papertrader.cli import plugins as cli_plugins
from papertrader.cli.common import (
    RayAddressOpt,
    WorkersOpt,
    console,
    errors,
    optional_date,
    pct,
    symbol_list,
    workers_of,
)
from papertrader.config.settings import load_settings
from papertrader.core.clock import WallClock
from papertrader.core.private import private_dir

app = typer.Typer()
MAX_ROWS = 40  # longer trials print the summary only; the HTML and JSON list every window


def _count(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter(f"--windows takes a number or 'all', not {value!r}") from None


def _print_windows(data: dict[str, Any]) -> None:
    table = Table(title=f"trial {data['trial_id']} · {data['strategy']} · windows of {data['days']} sessions")
    cols = ("#", "first", "last", "return", "B&H", "B&H vol-m", "trend", "Sharpe", "max DD", "trades", "fees")
    for col in (*cols, "uptime", "crit", "beats", "pass"):
        table.add_column(col, justify="left" if col in ("first", "last") else "right")
    for w in data["windows"][:MAX_ROWS]:
        s = w["strategy"]
        table.add_row(
            str(w["index"]),
            w["start"][:10],
            w["end"][:10],
            pct(s["total_return"]),
            pct(w["buy_and_hold"]["total_return"]),
            pct(w["buy_and_hold_vol_matched"]["total_return"]),
            pct((w["trend_baseline"] or {}).get("total_return")),
            "-" if s["sharpe"] is None else f"{s['sharpe']:.2f}",
            pct(s["max_drawdown"]),
            str(s["trades"]),
            f"${s['fees_paid'] or 0:,.2f}",
            pct(w["uptime"], False),
            str(len(w["critical_failures"])),
            "yes" if w["passes"]["baselines"] else "no",
            "[green]yes[/green]" if w["passes"]["all"] else "no",
        )
    console.print(table)
    if len(data["windows"]) > MAX_ROWS:
        console.print(f"(first {MAX_ROWS} of {len(data['windows'])} windows; the HTML and JSON list all)")


def _print_summary(data: dict[str, Any]) -> None:
    c, summary = data["criteria"], data["summary"]
    labels = {
        "sharpe": f"Sharpe > {c['sharpe_above']}",
        "max_drawdown": f"max drawdown < {c['max_drawdown_below']:.0%}",
        "uptime": f"uptime > {c['uptime_above']:.1%}",
        "critical_failures": f"critical failures < {c['critical_failures_below']}",
        "baselines": "return above vol-matched B&H and trend baseline",
        "all": "all five",
    }
    table = Table(title=f"pass rates over {summary['n_windows']} windows ({data['confidence']:.0%} Wilson interval)")
    for col in ("criterion", "passed", "rate", "interval"):
        table.add_column(col, justify="left" if col == "criterion" else "right")
    rows = [(labels[k], summary["pass_rates"][k]) for k in labels]
    rows.append(("beat buy & hold", summary["beat_buy_and_hold"]))
    for label, r in rows:
        table.add_row(label, f"{r['passed']}/{r['n']}", pct(r["rate"], False), f"[{r['low']:.2%}, {r['high']:.2%}]")
    console.print(table)
    m = summary["metrics"]
    console.print(
        f"median window return {pct(m['total_return']['median'])} vs buy & hold "
        f"{pct(m['bench_total_return']['median'])}, vol-matched buy & hold {pct(m['vm_total_return']['median'])}, "
        f"trend baseline {pct(m['trend_total_return']['median'])} · mean Sharpe {m['sharpe']['mean'] or 0:.2f} vs "
        f"{m['bench_sharpe']['mean'] or 0:.2f} · all figures net of commission, spread and slippage; vol-matched "
        "buy & hold uses each window's realised (ex-post) volatility: a reference, not a strategy"
    )


@app.command("trial")
def trial(
    days: Annotated[int, typer.Option(help="trading sessions per window")] = 7,
    windows: Annotated[
        str, typer.Option(help="how many windows, evenly spaced over the held-out span, or 'all' (default)")
    ] = "all",
    symbols: Annotated[
        str | None, typer.Option(help="comma-separated symbols (default: every equity listed before the span)")
    ] = None,
    interval: Annotated[str, typer.Option(help="bar interval in the lake")] = "1d",
    after: Annotated[
        str | None, typer.Option(help="held-out span starts here (ISO); refused if it overlaps a model's training")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the results with stable keys")] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="HTML report (default: PAPERTRADER_HOME/reports/<trial id>.html)")
    ] = None,
    strategy: cli_plugins.StrategyOpt = None,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
) -> None:
    """The seven-day paper trial, replayed through the whole system over windows no model trained on."""
    from papertrader.engine.trial import TrialPlan, TrialRequest, run_trial
    from papertrader.engine.trial_score import WindowScore
    from papertrader.reports.trial import render

    settings = cli_plugins.strategy_settings(strategy) or load_settings()
    with errors(), workers_of(workers, ray_address) as pool:
        request = TrialRequest(
            days=days,
            windows=_count(windows),
            symbols=symbol_list(symbols),
            interval=interval,
            after=optional_date(after),
        )
        with Progress(
            TextColumn("[bold]trial[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("trial", total=None, info="planning windows")

            def on_plan(plan: TrialPlan) -> None:
                progress.update(
                    task,
                    total=len(plan.windows),
                    info=f"{plan.strategy} · {', '.join(plan.symbols)} · held out from {plan.held_out.start:%Y-%m-%d}"
                    + ("" if not pool.parallel else f" · {pool.describe()}"),
                )

            def on_window(score: WindowScore) -> None:
                progress.update(task, advance=1, info=f"window {score.index}: {score.start:%Y-%m-%d}")

            result = run_trial(settings, request, WallClock(), on_plan=on_plan, on_window=on_window, workers=pool)
    data = result.to_json()
    html_path = html_file or settings.home / "reports" / f"{result.plan.trial_id}.html"
    data["html"] = str(html_path)
    _print_windows(data)
    _print_summary(data)
    with console.status("rendering the trial report"):
        page = render(data)
    if html_file is None:  # our reports folder: owner-only (a folder the user named is left as it is)
        private_dir(html_path.parent)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(page, encoding="utf-8")
    console.print(f"wrote {html_path}")
    if json_file is not None:
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(data, indent=2))
        console.print(f"wrote {json_file}")
    console.print(
        "each window is a stored run: `papertrader report RUN --html F` and `papertrader check RUN` work on it"
    )
