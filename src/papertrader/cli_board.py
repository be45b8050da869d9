"""`papertrader decisions` and `papertrader compare`: what the board voted, and whether the board beats its members.

Mounted into the main CLI with `cli_board.mount(app)`.

`decisions RUN` reads the run's stored "signal" events (each target change, with every member's vote when the
strategy is the board). `compare` runs the same out-of-sample window as the ensemble, as each member alone
(a one-member board: same calibration, weighting and Kelly inputs) and as buy-and-hold, all net of costs
through the engine, and refuses a window that starts before any used model's training window ends.
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

from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import ConfigError, PapertraderError
from papertrader.domain.sessions import NEW_YORK

console = Console()


def mount(app: typer.Typer) -> None:
    """Register the board commands on the main CLI."""
    app.command("decisions")(decisions)
    app.command("compare")(compare)


def _parse_date(value: str | None) -> datetime | None:
    """ISO date -> aware datetime (New York when no zone is given)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date like 2010-01-31") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=NEW_YORK)


def _fail(exc: PapertraderError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(2)


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
    try:
        rows = stored_decisions(settings, run_id, symbol.upper() if symbol else None)
    except PapertraderError as exc:
        raise _fail(exc) from exc
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
            row["ts"][:16],
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


@dataclass(frozen=True)
class Line:
    """One strategy's result over the comparison window."""

    name: str
    equity: np.ndarray[Any, np.dtype[np.float64]]
    metrics: dict[str, Any]


def run_compare(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    members: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DatetimeIndex, list[Line], dict[str, Any]]:
    """The ensemble, each member alone and buy-and-hold over one out-of-sample window, net of costs."""
    from papertrader.core.clock import SimClock
    from papertrader.core.events import EventBus
    from papertrader.data.store import Lake
    from papertrader.engine.benchmark import buy_and_hold
    from papertrader.engine.cycle import Engine
    from papertrader.engine.runner import RunRequest, load_panel
    from papertrader.models.registry import Registry
    from papertrader.portfolio.metrics import periods_per_year, summarize
    from papertrader.signals import factory
    from papertrader.signals.ensemble import Ensemble
    from papertrader.signals.members import ShadowBook

    names = tuple(members or settings.board.members)
    lake = Lake(settings.lake_dir)
    panel, first = load_panel(lake, RunRequest(symbols=symbols, start=start, end=end))
    registry = Registry(settings.home)
    manifests = {m: factory.manifest_for(registry, m) for m in names if m in factory.FAMILY}
    factory.check_out_of_sample(manifests, panel.ts[first])
    board_settings = settings.model_copy(update={"strategy": settings.strategy.model_copy(update={"name": "ensemble"})})
    board_settings = board_settings.model_copy(update={"board": settings.board.model_copy(update={"members": names})})
    built = factory.build(board_settings, panel, first, lake, names=names, with_monitor=False)
    assert isinstance(built.strategy, Ensemble)
    board = built.strategy
    runs: list[tuple[str, Ensemble]] = [("ensemble", board)]
    for m in board.members:
        runs.append(
            (
                m.name,
                Ensemble(
                    [m],
                    len(panel.symbols),
                    settings.board,
                    calibration=built.calibration,
                    allow_short=settings.risk.allow_short,
                    name=f"board_{m.name}",
                ),
            )
        )
    window = panel.ts[first:]
    ppy = periods_per_year(int(window.tz_convert("America/New_York").normalize().nunique()), len(window))
    task = progress.add_task("compare", total=len(runs) * (len(panel) - first)) if progress else None
    lines: list[Line] = []
    for label, strategy in runs:
        for m in strategy.members:
            book = getattr(m, "book", None)
            if isinstance(book, ShadowBook):
                book.reset()
        monitor = factory._monitor(settings, len(panel.symbols)) if label == "ensemble" else None
        strategy = replace_monitor(strategy, monitor)
        engine = Engine(
            run_id=f"compare-{label}",
            panel=panel,
            features=built.features,
            strategy=strategy,
            settings=settings,
            clock=SimClock(panel.open_times[first]),
            bus=EventBus(),
        )
        outcomes = []
        for k in range(first, len(panel)):
            outcomes.append(engine.step(k))
            if progress is not None and task is not None:
                progress.advance(task)
        equity = np.array([float(o.valuation.equity) for o in outcomes])
        gross = np.array([float(o.valuation.gross_exposure) for o in outcomes])
        fills = [f for o in outcomes for f in o.fills]
        lines.append(Line(label, equity, summarize(equity, gross, fills, ppy).as_dict()))
    bench, invested = buy_and_hold(panel, settings.initial_cash, settings.costs, first)
    lines.append(Line("buy_and_hold", bench, summarize(bench, invested, (), ppy).as_dict()))
    info = {
        "models": {m: {"version": man.version, "training_window": man.training_window} for m, man in manifests.items()},
        "calibration": None
        if built.calibration is None
        else {"start": built.calibration.start, "end": built.calibration.end, "method": built.calibration.method},
        "calibration_file": str(built.calibration_path) if built.calibration_path else None,
    }
    return window, lines, info


def replace_monitor(strategy: Any, monitor: Any) -> Any:
    """The same board with a fresh monitor and a fresh hold memory (each compared run starts clean)."""
    from papertrader.signals.ensemble import Ensemble

    assert isinstance(strategy, Ensemble)
    return Ensemble(
        strategy.members,
        strategy.n_symbols,
        strategy.board,
        calibration=strategy.calibration,
        monitor=monitor,
        allow_short=strategy.allow_short,
        max_weight=strategy.max_weight,
        name=strategy.name,
    )


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
) -> None:
    """Run the board, each member alone and buy-and-hold over one out-of-sample window, net of costs."""
    settings = load_settings()
    wanted = tuple(s.strip().upper() for s in symbols.split(",") if s.strip()) if symbols else ()
    chosen = tuple(s.strip().lower() for s in members.split(",") if s.strip()) if members else None
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    try:
        with progress:
            ts, lines, info = run_compare(settings, wanted, _parse_date(start), _parse_date(end), chosen, progress)
    except PapertraderError as exc:
        raise _fail(exc) from exc
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
