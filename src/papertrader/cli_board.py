"""`papertrader decisions` and `papertrader compare`: what the board voted, and whether the board beats its members.

Mounted into the main CLI with `cli_board.mount(app)`.

`decisions RUN` reads the run's stored "signal" events (each target change, with every member's vote when the
strategy is the board). `compare` runs the same out-of-sample window as the ensemble, as each member alone
(a one-member board: same calibration, weighting and Kelly inputs) and as the trend baseline, all net of costs
through `engine.runner.run` (the path `backtest` takes, so a row equals that backtest), beside buy-and-hold and
buy-and-hold scaled to the board's realised volatility (portfolio.inference). It refuses a window that starts
inside any used model's data (models.holdout: training end + label embargo, or data_end when later). Every
row has a Sharpe interval; model members carry their quality-gate record; the board's Sharpe difference to the
trend baseline and to vol-matched buy-and-hold comes with a paired bootstrap test. `--persist` stores every
row that is a run (`papertrader report` / `check` / `decisions` then read it).

JSON keys (`compare --json`; NaN is null): start, end, symbols, rows [{name, total_return, sharpe, sharpe_low,
sharpe_high, max_drawdown, exposure, trades, fees, note, gate (model members only), paired_tests (board
only)}], paired_tests [{a, b, difference, low, high, p_value, n, block_size, reps, confidence, method}],
metrics {name: all metrics}, equity {name: [..]}, ts, models, out_of_sample {member: {version, data_end,
training_end, embargo_bars, last_seen, earliest_start}}, calibration, runs, periods_per_year, vol_matching.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papertrader.cli_common import errors, optional_date, symbol_list
from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import ConfigError
from papertrader.core.lazy import deferred
from papertrader.domain.timefmt import exchange_time

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from papertrader.engine.runner import RunResult
    from papertrader.models.registry import Manifest
    from papertrader.portfolio import inference
    from papertrader.portfolio import metrics as pmetrics
    from papertrader.portfolio.inference import SharpeDifference, SharpeInterval
else:  # imported on first use: `papertrader --help` never pays for them
    np, pd = deferred("numpy"), deferred("pandas")
    inference, pmetrics = deferred("papertrader.portfolio.inference"), deferred("papertrader.portfolio.metrics")

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
    from papertrader.signals.gating import LEFT_OUT

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


def _pct(value: float | None) -> str:
    return "--" if value is None else f"{value:.2f}"


# ------------------------------------------------------------------ compare

BUY_AND_HOLD = "buy_and_hold"
VOL_MATCHED = "buy_and_hold_vol_matched"
TREND_BASELINE = "trend_baseline"
BOARD = "ensemble"
BOARD_PER_SYMBOL = "ensemble_per_symbol"  # the same board sized symbol by symbol (risk.construction = none)
#: the baselines the board's Sharpe is tested against (paired, same dates)
PAIRED_AGAINST: tuple[str, ...] = (TREND_BASELINE, VOL_MATCHED)
#: row keys shown as percentages (all with the same two decimals, console and HTML alike)
PERCENT_KEYS: tuple[str, ...] = ("total_return", "max_drawdown", "exposure")


@dataclass(frozen=True)
class Line:
    """One strategy's result over the comparison window (run_id: the stored run, when compare persisted it).

    `sharpe_ci` is the row's Sharpe with its interval; `note` says when the kill switch halted the run; `gate`
    is a model member's quality-gate record (None for versions without one; absent for other rows, `has_gate`
    False); `paired` holds the board's Sharpe difference to each baseline in PAIRED_AGAINST.
    """

    name: str
    equity: np.ndarray[Any, np.dtype[np.float64]]
    metrics: dict[str, Any]
    run_id: str | None = None
    sharpe_ci: SharpeInterval | None = None
    note: str | None = None
    has_gate: bool = False
    gate: dict[str, Any] | None = None
    paired: tuple[tuple[str, SharpeDifference], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


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


def halt_note(extra: dict[str, Any]) -> str | None:
    """A sentence when the kill switch halted a run (from RunResult.extra), else None."""
    kill = extra.get("kill_switch") or {}
    if not kill.get("fired"):
        return None
    drawdown, limit = kill.get("drawdown"), kill.get("limit")
    at = f" at drawdown {float(drawdown):.2%}" if drawdown is not None else ""
    return f"halted by the kill switch{at} (limit {float(limit):.2%}); flat afterwards" if limit else "halted"


def gate_record(manifest: Manifest) -> dict[str, Any] | None:
    """A model version's quality-gate dict (models.gate), or None for versions trained before the gate."""
    from papertrader.models.gate import gate_of

    gate = gate_of(dict(manifest.metrics or {}))
    return None if gate is None else gate.to_dict()


def with_statistics(lines: Sequence[Line], ppy: float, confidence: float = 0.95) -> list[Line]:
    """Each row with its Sharpe interval, and the board's row with its paired tests against the baselines."""
    rets = {line.name: pmetrics.returns(line.equity) for line in lines}
    out: list[Line] = []
    for line in lines:
        paired: tuple[tuple[str, SharpeDifference], ...] = ()
        if line.name == BOARD:
            paired = tuple(
                (other, inference.sharpe_difference(rets[BOARD], rets[other], ppy, confidence))
                for other in PAIRED_AGAINST
                if other in rets and rets[other].shape == rets[BOARD].shape
            )
        out.append(replace(line, sharpe_ci=inference.sharpe_interval(rets[line.name], ppy, confidence), paired=paired))
    return out


def vol_matched_line(board: Any, invested: np.ndarray[Any, np.dtype[np.float64]], ppy: float) -> Line:
    """Buy-and-hold scaled to the board's realised (ex-post) volatility: a reference row, not a strategy."""
    matched = inference.vol_matched(board.benchmark_equity, pmetrics.returns(board.equity))
    bench = np.asarray(board.benchmark_equity, dtype=np.float64)
    share = np.divide(invested, bench, out=np.zeros_like(bench), where=bench > 0)
    gross = matched.fraction * share * matched.equity
    metrics = pmetrics.summarize(matched.equity, gross, (), ppy).as_dict()
    return Line(VOL_MATCHED, matched.equity, metrics, extra={"vol_matching": matched.to_json()})


def run_compare(
    settings: Settings,
    symbols: tuple[str, ...],
    start: datetime | None,
    end: datetime | None,
    members: Sequence[str] | None = None,
    progress: Progress | None = None,
    persist: bool = False,
) -> tuple[pd.DatetimeIndex, list[Line], dict[str, Any]]:
    """The ensemble, each member alone, the trend baseline, buy-and-hold and vol-matched buy-and-hold.

    Every strategy goes through `engine.runner.run`, the path `backtest` takes, so each row equals the backtest
    of the same settings and window (a member alone is a one-member board: same calibration, weighting, Kelly).
    A window that starts inside any used model's data (models.holdout) is refused before anything runs.
    """
    from papertrader.data.store import Lake
    from papertrader.engine.benchmark import buy_and_hold
    from papertrader.engine.cycle import CycleOutcome, Engine
    from papertrader.engine.runner import RunRequest, load_panel, run
    from papertrader.models.holdout import sample_bounds
    from papertrader.models.registry import Registry
    from papertrader.engine import strategies as factory

    names = tuple(members or settings.board.members)
    request = RunRequest(symbols=symbols, start=start, end=end, mode="backtest")
    panel, first = load_panel(Lake(settings.lake_dir), request)
    registry = Registry(settings.home)
    manifests = {m: factory.manifest_for(registry, m) for m in names if m in factory.FAMILY}
    factory.check_out_of_sample(manifests, panel.ts[first], panel.ts, panel.interval)
    bounds = sample_bounds(manifests, panel.ts, panel.interval)
    cycles = len(panel) - first
    task = progress.add_task("compare: ensemble", total=None) if progress is not None else None
    seen = _Seen()

    def on_engine(engine: Engine, _total: int) -> None:
        strategy = engine.strategy
        seen.members = tuple(m.name for m in getattr(strategy, "members", ()))
        seen.calibration = getattr(strategy, "calibration", None)

    def one(label: str, run_settings: Settings, capture: bool = False) -> RunResult:
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

    def line(name: str, result: RunResult) -> Line:
        gated = name in factory.FAMILY
        gate = gate_record(manifests.get(name) or factory.manifest_for(registry, name)) if gated else None
        run_id = result.run_id if persist else None
        return Line(name, result.equity, result.metrics.as_dict(), run_id, None, halt_note(result.extra), gated, gate)

    board = one(BOARD, board_settings(settings, names), capture=True)
    if progress is not None and task is not None:
        progress.update(task, total=cycles * (len(seen.members) + 2 + (settings.risk.construction != "none")))
    lines = [line(BOARD, board)]
    if settings.risk.construction != "none":  # what portfolio construction adds over per-symbol sizing
        per_symbol = settings.model_copy(update={"risk": settings.risk.model_copy(update={"construction": "none"})})
        lines.append(line(BOARD_PER_SYMBOL, one(BOARD_PER_SYMBOL, board_settings(per_symbol, names))))
    for member in seen.members:
        lines.append(line(member, one(member, board_settings(settings, (member,)))))
    lines.append(line(TREND_BASELINE, one(TREND_BASELINE, baseline_settings(settings))))
    lines.append(Line(BUY_AND_HOLD, board.benchmark_equity, board.benchmark.as_dict()))
    ts = board.ts
    ppy = pmetrics.periods_per_year(int(ts.tz_convert("America/New_York").normalize().nunique()), len(ts))
    _, invested = buy_and_hold(panel, settings.initial_cash, settings.costs, first)
    lines.append(vol_matched_line(board, np.asarray(invested[: len(ts)], dtype=np.float64), ppy))
    lines = with_statistics(lines, ppy)
    cal = seen.calibration
    info = {
        "models": {m: {"version": man.version, "training_window": man.training_window} for m, man in manifests.items()},
        "out_of_sample": {
            b.member: {
                "version": b.version,
                "data_end": None if b.data_end is None else b.data_end.isoformat(),
                "training_end": b.training_end.isoformat(),
                "embargo_bars": b.embargo,
                "last_seen": b.last_seen.isoformat(),
                "earliest_start": None if b.earliest is None else b.earliest.isoformat(),
            }
            for b in bounds
        },
        "calibration": None if cal is None else {"start": cal.start, "end": cal.end, "method": cal.method},
        "runs": {line.name: line.run_id for line in lines if line.run_id is not None},
        "periods_per_year": ppy,
        "vol_matching": next(x.extra["vol_matching"] for x in lines if x.name == VOL_MATCHED),
        "paired_tests": paired_tests(lines),
    }
    return ts, lines, info


def paired_tests(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """The board's Sharpe minus each baseline's, with interval and p-value (stable keys for JSON)."""
    return [{"a": line.name, "b": other, **diff.to_json()} for line in lines for other, diff in line.paired]


def _r(x: Any, digits: int) -> float | None:
    value = float(x)
    return round(value, digits) if math.isfinite(value) else None


def compare_table(lines: Sequence[Line]) -> list[dict[str, Any]]:
    """One row per strategy with the numbers a comparison is read by (stable keys for JSON; NaN is null)."""
    rows: list[dict[str, Any]] = []
    for line in lines:
        ci = line.sharpe_ci
        row: dict[str, Any] = {
            "name": line.name,
            "total_return": _r(line.metrics["total_return"], 4),
            "sharpe": _r(line.metrics["sharpe"], 3),
            "sharpe_low": None if ci is None else _r(ci.low, 3),
            "sharpe_high": None if ci is None else _r(ci.high, 3),
            "max_drawdown": _r(line.metrics["max_drawdown"], 4),
            "exposure": _r(line.metrics["exposure"], 4),
            "trades": int(line.metrics["trades"]),
            "fees": _r(line.metrics["fees_paid"], 2),
            "note": line.note,
        }
        if line.has_gate:
            row["gate"] = line.gate
        if line.paired:
            row["paired_tests"] = {other: diff.to_json() for other, diff in line.paired}
        rows.append(row)
    return rows


def _fmt_pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:+.2%}" if signed else f"{value:.2%}"


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
                "return": _fmt_pct(row["total_return"]),
                "Sharpe": _fmt_num(row["sharpe"]),
                "Sharpe 95% CI": interval,
                "max DD": _fmt_pct(row["max_drawdown"]),
                "exposure": _fmt_pct(row["exposure"], signed=False),
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
    """Run the board, each member alone, the trend baseline and (vol-matched) buy-and-hold out-of-sample."""
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
