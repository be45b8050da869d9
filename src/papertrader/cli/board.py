"""`papertrader decisions` and `papertrader compare`: what the board voted, and whether the board beats its members.

`decisions RUN` reads the run's stored "signal" events (each target change, with every member's vote when the
strategy is the board). `compare` shows what engine/compare.py computes: the same out-of-sample window as the
ensemble, as each member alone and as the trend baseline, all net of costs through the path `backtest` takes,
beside buy-and-hold and vol-matched buy-and-hold, each row with its Sharpe interval (and the board's paired
tests). This module only prints the rows and writes the JSON and HTML. `--persist` stores every row that is a
run (`papertrader report` / `check` / `decisions` then read it).

JSON keys (`compare --json`; NaN is null): start, end, symbols, rows [{name, total_return, sharpe, sharpe_low,
sharpe_high, max_drawdown, exposure, trades, fees, note, gate (model members only), paired_tests (board
only)}], paired_tests [{a, b, difference, low, high, p_value, n, block_size, reps, confidence, method}],
metrics {name: all metrics}, equity {name: [..]}, ts, models, out_of_sample {member: {version, data_end,
training_end, embargo_bars, last_seen, earliest_start}}, calibration, runs, periods_per_year, vol_matching.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papertrader.cli import plugins as cli_plugins
from papertrader.cli.common import (
    RayAddressOpt,
    WorkersOpt,
    console,
    errors,
    open_repository,
    optional_date,
    pct,
    symbol_list,
    workers_of,
)
from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import ConfigError
from papertrader.core.lazy import deferred
from papertrader.domain.timefmt import exchange_time
from papertrader.engine.compare import (
    BOARD,
    VOL_MATCHED,
    Line,
    compare_table,
    paired_tests,
    run_compare,
    with_strategy_row,
)

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import TaskID

    from papertrader.portfolio import inference
else:  # imported on first use: `papertrader --help` never pays for them
    inference = deferred("papertrader.portfolio.inference")

app = typer.Typer()


# ------------------------------------------------------------------ decisions


def stored_decisions(settings: Settings, run_id: str, symbol: str | None = None) -> list[dict[str, Any]]:
    """The run's signal events as plain dicts (seq, ts, symbol, target, confidence, rationale, votes), oldest first.

    The same query as `GET /api/v1/runs/{id}/decisions` (persistence.decisions), so both always agree.
    """
    from papertrader.persistence.decisions import load_decisions

    repo = open_repository(settings)
    if repo.get_run(run_id) is None:
        raise ConfigError(f"no run {run_id}; `papertrader runs` lists them")
    page = load_decisions(repo.engine, run_id, symbol=symbol, newest_first=False)
    return [d.to_json() for d in page.decisions]


@app.command("decisions")
def decisions(
    run_id: Annotated[str, typer.Argument(help="run id (see `papertrader runs`)")],
    symbol: Annotated[str | None, typer.Option(help="only this symbol")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write every decision with its votes")] = None,
    last: Annotated[int, typer.Option(help="rows to show in the table (0 = all)")] = 30,
) -> None:
    """Show a run's decisions: each target change with every board member's vote, weight and reason."""
    from papertrader.signals.gating import LEFT_OUT

    settings = load_settings()
    with errors(console):
        rows = stored_decisions(settings, run_id, symbol.upper() if symbol else None)
    table = Table(title=f"decisions of {run_id}" + (f" · {symbol.upper()}" if symbol else ""))
    for col in ("time", "symbol", "target", "conf", "votes (member p_up/p_down weight)", "rationale"):
        table.add_column(col)
    for row in rows[-last:] if last > 0 else rows:
        votes = " ".join(
            f"{v['member']} {_prob(v.get('p_up'))}/{_prob(v.get('p_down'))} w{v.get('weight', 0):.2f}"
            + (" EXIT" if v.get("exit") else "")
            + (" left out" if LEFT_OUT in str(v.get("reason", "")) else "")
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
    for note in left_out_notes(rows):
        console.print(note)
    if json_file is not None:
        json_file.write_text(json.dumps({"run_id": run_id, "decisions": rows}, indent=2, default=str))
        console.print(f"wrote {json_file}")


def left_out_notes(rows: list[dict[str, Any]]) -> list[str]:
    """The quality gate's sentence for each member that was polled but not allowed to vote, once each."""
    from papertrader.signals.gating import LEFT_OUT

    notes = {
        str(v.get("reason", "")).split("; ")[0]: None
        for r in rows
        for v in r["votes"]
        if LEFT_OUT in str(v.get("reason", ""))
    }
    return list(notes)


def _prob(value: float | None) -> str:
    return "--" if value is None else f"{value:.2f}"


# ------------------------------------------------------------------ compare

#: row keys shown as percentages (all with the same two decimals, console and HTML alike)
PERCENT_KEYS: tuple[str, ...] = ("total_return", "max_drawdown", "exposure")


class ProgressBar:
    """compare's progress (engine.compare.CompareProgress) drawn as one rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("compare: ensemble", total=None)

    def row(self, label: str) -> None:
        """Name the row that runs now."""
        self.progress.update(self.task, description=f"compare: {label}")

    def total(self, cycles: int) -> None:
        """Size the bar once every row's cycles are known."""
        self.progress.update(self.task, total=cycles)

    def advance(self) -> None:
        """One cycle ran."""
        self.progress.advance(self.task)


def _fmt_num(value: float | None, fmt: str = "+.2f") -> str:
    return "-" if value is None else format(value, fmt)


def _fmt_gate(row: dict[str, Any]) -> str:
    if "gate" not in row:
        return ""
    gate = row["gate"]
    if gate is None:
        return "no record"
    return ("passed" if gate.get("passed") else "failed") + f": {gate.get('reason', '')}"


def display_rows(table: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The rows as text, one format for the console and the HTML page (percentages with two decimals)."""
    out = []
    for row in table:
        interval = (
            "-"
            if row["sharpe_low"] is None or row["sharpe_high"] is None
            else f"[{row['sharpe_low']:+.2f}, {row['sharpe_high']:+.2f}]"
        )
        out.append(
            {
                "strategy": row["name"],
                "return": pct(row["total_return"]),
                "Sharpe": _fmt_num(row["sharpe"]),
                "Sharpe 95% CI": interval,
                "max DD": pct(row["max_drawdown"]),
                "exposure": pct(row["exposure"], signed=False),
                "trades": str(row["trades"]),
                "fees": "-" if row["fees"] is None else f"${row['fees']:,.2f}",
                "gate": _fmt_gate(row),
                "note": row["note"] or "",
            }
        )
    return out


def display_paired(tests: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """The paired Sharpe tests as text rows (console and HTML)."""
    return [
        {
            "board vs": t["b"],
            "Sharpe difference": _fmt_num(t["difference"]),
            "95% interval": "-" if t["low"] is None or t["high"] is None else f"[{t['low']:+.2f}, {t['high']:+.2f}]",
            "p-value": _fmt_num(t["p_value"], ".3f"),
        }
        for t in tests
    ]


def _html_table(rows: Sequence[dict[str, str]]) -> str:
    from html import escape

    if not rows:
        return ""
    head = "".join(f"<th>{escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def compare_html(ts: pd.DatetimeIndex, lines: Sequence[Line], table: list[dict[str, Any]]) -> str:
    """A small page: the table, the board's paired Sharpe tests and every equity curve on one plot."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    for line in lines:
        ax.plot(ts[: len(line.equity)], line.equity, label=line.name, lw=2.0 if line.name == BOARD else 1.0)
    ax.set_ylabel("equity (USD, net of costs)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>papertrader compare</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}</style></head>"
        "<body><h1>Board vs members vs baselines</h1>"
        f"<p>{ts[0]:%Y-%m-%d} to {ts[-1]:%Y-%m-%d}, net of costs, out-of-sample for every model. Sharpe interval: "
        f"{inference.SHARPE_CI_METHOD}. {VOL_MATCHED}: {inference.VOL_MATCH_METHOD} (a reference, not a strategy).</p>"
        f"{_html_table(display_rows(table))}"
        f"<h2>Board Sharpe minus baseline Sharpe (paired, same dates)</h2><p>{inference.PAIRED_METHOD}.</p>"
        f"{_html_table(display_paired(paired_tests(lines)))}"
        f"<img src='data:image/png;base64,{img}' alt='equity curves'></body></html>"
    )


def print_compare(ts: pd.DatetimeIndex, lines: Sequence[Line], out: Console | None = None) -> list[dict[str, Any]]:
    """Print the comparison and the board's paired tests (shared by `compare` and `demo`); return the rows."""
    table = compare_table(lines)
    shown = Table(title=f"compare {ts[0]:%Y-%m-%d} → {ts[-1]:%Y-%m-%d} · net of costs · out-of-sample")
    rows = display_rows(table)
    for col in rows[0]:
        shown.add_column(col, justify="left" if col in ("strategy", "gate", "note") else "right")
    for row in rows:  # the console shows the verdict; the sentence follows the table (a column too narrow to read)
        shown.add_row(*(v.split(":", 1)[0] if k == "gate" else v for k, v in row.items()))
    console_out = out or console
    console_out.print(shown)
    for row in table:
        if row.get("gate") is not None:
            console_out.print(f"  {row['name']} quality gate: {_fmt_gate(row)}")
    tests = display_paired(paired_tests(lines))
    if tests:
        paired = Table(title="board Sharpe minus baseline Sharpe · paired stationary bootstrap on the same dates")
        for col in tests[0]:
            paired.add_column(col, justify="left" if col == "board vs" else "right")
        for row in tests:
            paired.add_row(*row.values())
        console_out.print(paired)
    console_out.print(
        f"Sharpe interval: {inference.SHARPE_CI_METHOD}. {VOL_MATCHED}: buy-and-hold scaled to the board's realised "
        "(ex-post) volatility, a reference, not a tradable strategy."
    )
    return table


@app.command("compare")
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
    strategy: cli_plugins.StrategyOpt = None,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
) -> None:
    """Run the board, each member alone, the trend baseline and (vol-matched) buy-and-hold out-of-sample."""
    settings = load_settings()
    wanted = symbol_list(symbols)
    chosen = tuple(cli_plugins.member_name(s) for s in members.split(",") if s.strip()) if members else None
    start_at, end_at = optional_date(start, "--start"), optional_date(end, "--end")
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with errors(console), progress, workers_of(workers, ray_address) as pool:
        ts, lines, info = run_compare(
            settings, wanted, start_at, end_at, chosen, ProgressBar(progress), persist=persist, workers=pool
        )
        if strategy is not None:  # the plug-in (or built-in) strategy as one more row (engine.plugins)
            ppy = info["periods_per_year"]
            lines = with_strategy_row(lines, settings, strategy, (wanted, start_at, end_at), ppy, persist)
    table = print_compare(ts, lines)
    if json_file is not None:
        payload = {
            "start": ts[0].isoformat(),
            "end": ts[-1].isoformat(),
            "symbols": list(wanted),
            "rows": table,
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
