"""`papertrader decisions` and `papertrader compare`: what the board voted, and whether the board beats its members.

Mounted into the main CLI with `cli_board.mount(app)`.

`decisions RUN` reads the run's stored "signal" events (each target change, with every member's vote when the
strategy is the board). `compare` runs the same out-of-sample window as the ensemble, as each member alone
(a one-member board: same calibration, weighting and Kelly inputs), as the trend baseline and as buy-and-hold,
all net of costs through `engine.runner.run` (the path `backtest` takes, so a row equals that backtest), and
refuses a window that starts before any used model's training window ends. `--persist` stores every row as a
run (`papertrader report` / `check` / `decisions` then read it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papertrader.cli_common import errors, optional_date, symbol_list
from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import ConfigError
from papertrader.domain.timefmt import exchange_time

console = Console()


def mount(app: typer.Typer) -> None:
    """Register the board commands on the main CLI."""
    app.command("decisions")(decisions)
    app.command("compare")(compare)


# ------------------------------------------------------------------ decisions


def stored_decisions(settings: Settings, run_id: str, symbol: str | None = None) -> list[dict[str, Any]]:
    """The run's signal events as plain dicts (seq, ts, symbol, target, confidence, rationale, votes), oldest first.

    The same query as `GET /api/v1/runs/{id}/decisions` (persistence.decisions), so both always agree.
    """
    from papertrader.persistence.db import init_db, make_engine
    from papertrader.persistence.decisions import load_decisions
    from papertrader.persistence.repository import RunRepository

    db = make_engine(settings.db_url)
    init_db(db)
    repo = RunRepository(db)
    if repo.get_run(run_id) is None:
        raise ConfigError(f"no run {run_id}; `papertrader runs` lists them")
    page = load_decisions(db, run_id, symbol=symbol, newest_first=False)
    return [d.to_json() for d in page.decisions]


def decisions(
    run_id: Annotated[str, typer.Argument(help="run id (see `papertrader runs`)")],
    symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write every decision with its votes")] = None,
    last: Annotated[int, typer.Option(help="rows to show in the table (0 = all)")] = 30,
) -> None:
    """Show a run's decisions: each target change with every board member's vote, weight and reason."""
    settings = load_settings()
    with errors(console):
        rows = stored_decisions(settings, run_id, symbol.upper() if symbol else None)
    table = Table(title=f"decisions of {run_id}" + (f" · {symbol.upper()}" if symbol else ""))
    for col in ("time", "symbol", "target", "conf", "votes (member p_up/p_down weight)", "rationale"):
        table.add_column(col)
    for row in rows[-last:] if last > 0 else rows:
        votes = " ".join(
            f"{v['member']} {_pct(v.get('p_up'))}/{_pct(v.get('p_down'))} w{v.get('weight', 0):.2f}"
            + (" EXIT" if v.get("exit") else "")
            for v in row["votes"]
        )
        table.add_row(
            exchange_time(row["ts"]),
            str(row.get("symbol")),
            f"{row.get('target_weight', 0):+.3f}",
            f"{row.get('confidence', 0):.2f}",
            votes or "-",
            str(row.get("rationale", ""))[:90],
        )
    console.print(table)
    console.print(f"{len(rows)} decisions, {sum(1 for r in rows if r['votes'])} with board votes")
    if json_file is not None:
        json_file.write_text(json.dumps({"run_id": run_id, "decisions": rows}, indent=2, default=str))
        console.print(f"wrote {json_file}")


def _pct(value: float | None) -> str:
    return "--" if value is None else f"{value:.2f}"


# ------------------------------------------------------------------ compare

BUY_AND_HOLD = "buy_and_hold"
TREND_BASELINE = "trend_baseline"


@dataclass(frozen=True)
class Line:
    """One strategy's result over the comparison window (run_id: the stored run, when compare persisted it)."""

    name: str
    equity: np.ndarray[Any, np.dtype[np.float64]]
    metrics: dict[str, Any]
    run_id: str | None = None


def board_settings(settings: Settings, members: Sequence[str]) -> Settings:
    """The settings `backtest` would run the board of `members` with (one member: that member alone)."""
    strategy = settings.strategy.model_copy(update={"name": "ensemble"})
    board = settings.board.model_copy(update={"members": tuple(members)})
    return settings.model_copy(update={"strategy": strategy, "board": board})


def baseline_settings(settings: Settings) -> Settings:
    """The settings `backtest` would run the moving-average baseline (TrendFollowing) with."""
    return settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": "trend"})})


@dataclass
class _Seen:
    """What the board's run was built with: its members (advisors only when admitted) and its calibration."""

    members: tuple[str, ...] = ()
    calibration: Any = None


def run_compare(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    members: Sequence[str] | None = None,
    progress: Progress | None = None,
    persist: bool = False,
) -> tuple[pd.DatetimeIndex, list[Line], dict[str, Any]]:
    """The ensemble, each member alone, the trend baseline and buy-and-hold over one out-of-sample window.

    Every strategy goes through `engine.runner.run`, the path `backtest` takes, so each row equals the backtest
    of the same settings and window (a member alone is a one-member board: same calibration, weighting, Kelly).
    """
    from papertrader.data.store import Lake
    from papertrader.engine.cycle import CycleOutcome, Engine
    from papertrader.engine.runner import RunRequest, load_panel, run
    from papertrader.models.registry import Registry
    from papertrader.signals import factory

    names = tuple(members or settings.board.members)
    request = RunRequest(symbols=symbols, start=start, end=end, mode="backtest")
    panel, first = load_panel(Lake(settings.lake_dir), request)
    registry = Registry(settings.home)
    manifests = {m: factory.manifest_for(registry, m) for m in names if m in factory.FAMILY}
    factory.check_out_of_sample(manifests, panel.ts[first])
    cycles = len(panel) - first
    task = progress.add_task("compare: ensemble", total=None) if progress is not None else None
    seen = _Seen()

    def on_engine(engine: Engine, _total: int) -> None:
        strategy = engine.strategy
        seen.members = tuple(m.name for m in getattr(strategy, "members", ()))
        seen.calibration = getattr(strategy, "calibration", None)

    def one(label: str, run_settings: Settings, capture: bool = False) -> Any:
        if progress is not None and task is not None:
            progress.update(task, description=f"compare: {label}")

        def advance(_outcome: CycleOutcome) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        return run(
            run_settings,
            request,
            on_cycle=advance,
            on_engine=on_engine if capture else None,
            persist=persist,
        )

    board = one("ensemble", board_settings(settings, names), capture=True)
    if progress is not None and task is not None:
        progress.update(task, total=cycles * (len(seen.members) + 2))
    lines = [Line("ensemble", board.equity, board.metrics.as_dict(), board.run_id if persist else None)]
    for member in seen.members:
        alone = one(member, board_settings(settings, (member,)))
        lines.append(Line(member, alone.equity, alone.metrics.as_dict(), alone.run_id if persist else None))
    trend = one(TREND_BASELINE, baseline_settings(settings))
    lines.append(Line(TREND_BASELINE, trend.equity, trend.metrics.as_dict(), trend.run_id if persist else None))
    lines.append(Line(BUY_AND_HOLD, board.benchmark_equity, board.benchmark.as_dict()))
    cal = seen.calibration
    info = {
        "models": {m: {"version": man.version, "training_window": man.training_window} for m, man in manifests.items()},
        "calibration": None if cal is None else {"start": cal.start, "end": cal.end, "method": cal.method},
        "runs": {line.name: line.run_id for line in lines if line.run_id is not None},
    }
    return board.ts, lines, info


def compare_html(ts: pd.DatetimeIndex, lines: Sequence[Line], table: list[dict[str, Any]]) -> str:
    """A small page: the table and every equity curve on one plot."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    for line in lines:
        ax.plot(ts[: len(line.equity)], line.equity, label=line.name, lw=2.0 if line.name == "ensemble" else 1.0)
    ax.set_ylabel("equity (USD, net of costs)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    head = "".join(f"<th>{k}</th>" for k in table[0])
    rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r.values()) + "</tr>" for r in table)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>papertrader compare</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}</style></head>"
        f"<body><h1>Board vs members vs buy-and-hold</h1><p>{ts[0]:%Y-%m-%d} to {ts[-1]:%Y-%m-%d}, net of costs, "
        f"out-of-sample for every model.</p><table><tr>{head}</tr>{rows}</table>"
        f"<img src='data:image/png;base64,{img}' alt='equity curves'></body></html>"
    )


def compare_table(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """One row per strategy with the numbers a comparison is read by (stable keys for JSON)."""
    return [
        {
            "strategy": line.name,
            "total_return": round(float(line.metrics["total_return"]), 4),
            "sharpe": round(float(line.metrics["sharpe"]), 3),
            "max_drawdown": round(float(line.metrics["max_drawdown"]), 4),
            "trades": int(line.metrics["trades"]),
            "fees": round(float(line.metrics["fees_paid"]), 2),
            "exposure": round(float(line.metrics["exposure"]), 3),
        }
        for line in lines
    ]


def print_compare(ts: pd.DatetimeIndex, lines: Sequence[Line], out: Console | None = None) -> list[dict[str, Any]]:
    """Print the comparison table (shared by `compare` and `demo`) and return its rows."""
    table = compare_table(lines)
    shown = Table(title=f"compare {ts[0]:%Y-%m-%d} → {ts[-1]:%Y-%m-%d} · net of costs · out-of-sample")
    for col in table[0]:
        shown.add_column(col, justify="right")
    for row in table:
        shown.add_row(*(f"{v:+.2%}" if k in ("total_return", "max_drawdown") else str(v) for k, v in row.items()))
    (out or console).print(shown)
    return table


def compare(
    start: Annotated[str | None, typer.Option(help="first trading date (ISO); must be after model training")] = None,
    end: Annotated[str | None, typer.Option(help="end date (ISO, exclusive)")] = None,
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols (default: all equities)")] = None,
    members: Annotated[str | None, typer.Option(help="board members (default: settings.board.members)")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the table and curves")] = None,
    html_file: Annotated[Path | None, typer.Option("--html", help="write the table and an equity plot")] = None,
    persist: Annotated[
        bool, typer.Option(help="store every row as a run (report, check and decisions read it)")
    ] = False,
) -> None:
    """Run the board, each member alone, the trend baseline and buy-and-hold over one out-of-sample window."""
    settings = load_settings()
    wanted = symbol_list(symbols)
    chosen = tuple(s.strip().lower() for s in members.split(",") if s.strip()) if members else None
    start_at, end_at = optional_date(start, "--start"), optional_date(end, "--end")
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with errors(console), progress:
        ts, lines, info = run_compare(settings, wanted, start_at, end_at, chosen, progress, persist=persist)
    table = print_compare(ts, lines)
    if json_file is not None:
        payload = {
            "start": ts[0].isoformat(),
            "end": ts[-1].isoformat(),
            "symbols": list(wanted),
            "table": table,
            "metrics": {line.name: line.metrics for line in lines},
            "equity": {line.name: [float(v) for v in line.equity] for line in lines},
            "ts": [t.isoformat() for t in ts],
            **info,
        }
        json_file.write_text(json.dumps(payload, indent=2, default=str))
        console.print(f"wrote {json_file}")
    if html_file is not None:
        html_file.write_text(compare_html(ts, lines, table))
        console.print(f"wrote {html_file}")
