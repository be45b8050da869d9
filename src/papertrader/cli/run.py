"""`papertrader backtest | paper | runs | report | check`: start a run, then read the stored runs back."""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from papertrader.cli import plugins as cli_plugins
from papertrader.cli.common import console, errors, open_repository, optional_date, pct, symbol_list
from papertrader.cli.progress import stop_on_signal
from papertrader.config.settings import Settings, load_settings
from papertrader.domain.sessions import NEW_YORK
from papertrader.domain.timefmt import exchange_day, exchange_time
from papertrader.engine.control import RunControl

if TYPE_CHECKING:  # the engine pulls in torch (seconds): imported where a command runs, so --help stays instant
    from papertrader.cli.serve import ApiAttachment
    from papertrader.engine.cycle import CycleOutcome
    from papertrader.engine.runner import Mode, RunRequest, RunResult
    from papertrader.persistence.repository import RunRepository

app = typer.Typer()


def _graceful_stop() -> AbstractContextManager[Callable[[], bool]]:
    """SIGINT/SIGTERM finish the current cycle, commit it and stop; the run can then be resumed."""
    return stop_on_signal("stopping after the current cycle (signal again to abort)")


def _run_with_progress(
    settings: Settings,
    request: RunRequest,
    should_stop: Callable[[], bool],
    control: RunControl | None = None,
    on_engine: ApiAttachment | None = None,
) -> RunResult:
    with Progress(
        TextColumn(f"[bold]{request.mode}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(request.mode, total=None, info="")

        def on_start(total: int) -> None:
            progress.update(task, total=total)

        def on_cycle(outcome: CycleOutcome) -> None:
            progress.update(
                task,
                advance=1,
                info=f"{exchange_day(outcome.ts)} equity ${float(outcome.valuation.equity):,.0f}",
            )

        from papertrader.engine.runner import run

        return run(
            settings,
            request,
            on_start=on_start,
            on_cycle=on_cycle,
            should_stop=should_stop,
            control=control,
            on_engine=on_engine,
        )


def print_summary(result: RunResult) -> None:
    """The result beside buy-and-hold, so a number is never read without its benchmark."""
    m, b = result.metrics, result.benchmark
    console.print(
        f"[bold]run {result.run_id}[/bold] · {result.interval} · {', '.join(result.symbols)} · "
        f"{result.ts[0].tz_convert(NEW_YORK):%Y-%m-%d} → {result.ts[-1].tz_convert(NEW_YORK):%Y-%m-%d} · "
        "all figures net of commission, spread and slippage"
    )
    table = Table()
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    rows = [
        ("final equity", f"${float(result.final_equity):,.2f}", f"${result.benchmark_equity[-1]:,.2f}"),
        ("total return", pct(m.total_return), pct(b.total_return)),
        ("CAGR", pct(m.cagr), pct(b.cagr)),
        ("volatility (ann.)", f"{m.volatility:.2%}", f"{b.volatility:.2%}"),
        ("Sharpe", f"{m.sharpe:.2f}", f"{b.sharpe:.2f}"),
        ("Sortino", f"{m.sortino:.2f}", f"{b.sortino:.2f}"),
        ("max drawdown", pct(m.max_drawdown), pct(b.max_drawdown)),
        ("exposure", f"{m.exposure:.1%}", f"{b.exposure:.1%}"),
        ("fills / round trips", f"{m.trades} / {m.round_trips}", "-"),
        ("hit rate", f"{m.hit_rate:.1%}", "-"),
        ("turnover (ann.)", f"{m.turnover:.2f}x", "-"),
        ("fees paid", f"${m.fees_paid:,.2f}", "-"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for caveat in result.extra.get("caveats", ()):
        console.print(f"[bold yellow]warning:[/bold yellow] {caveat}")
    latency = result.extra.get("cycle_latency", {})
    if latency.get("cycles"):
        console.print(f"cycle latency p50 {latency['p50_ms']:.2f} ms · p99 {latency['p99_ms']:.2f} ms")
    if result.extra.get("halted"):
        console.print(
            f"[bold red]halted:[/bold red] {result.extra['halted']} — no new risk was taken after that; an operator "
            "reset resumes trading (limits: PAPERTRADER_RISK__MAX_DRAWDOWN, PAPERTRADER_RISK__DAILY_LOSS_LIMIT)"
        )


def execute(
    mode: Mode,
    symbols: str | None,
    start: str | None,
    end: str | None,
    interval: str,
    json_file: Path | None,
    speed: float = 0.0,
    run_id: str | None = None,
    resume: bool = False,
    serve_api: bool = False,
    keep_serving: bool = False,
    settings: Settings | None = None,
    after: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Run a backtest or replay with a progress bar, print the summary and write the JSON (`demo` uses it too)."""
    from papertrader.cli.serve import attach_api
    from papertrader.engine.control import check_speed
    from papertrader.engine.runner import RunRequest

    try:
        check_speed(speed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--speed") from exc

    settings = settings or load_settings()
    request = RunRequest(
        symbols=symbol_list(symbols),
        interval=interval,
        start=optional_date(start),
        end=optional_date(end),
        mode=mode,
        speed=speed,
        run_id=run_id,
        resume=resume,
    )
    control = RunControl(speed=speed) if serve_api else None
    attach = None
    try:
        with errors(), _graceful_stop() as stopping:
            attach = attach_api(settings, control) if serve_api else None  # a busy port fails here, exit 2
            result = _run_with_progress(settings, request, stopping, control, attach)
        print_summary(result)
        if json_file is not None:
            json_file.write_text(json.dumps(result.to_json(), indent=2))
            console.print(f"wrote {json_file}")
        if after is not None:  # before keep_serving, so everything is printed while the dashboard stays up
            with errors():
                after(result)
        if attach is not None and keep_serving:
            attach.keep_serving()
    finally:
        if attach is not None:
            attach.stop()
    return result


SymbolsOpt = Annotated[str | None, typer.Option(help="comma-separated symbols (default: every equity in the lake)")]
StartOpt = Annotated[str | None, typer.Option(help="first trading date (ISO); earlier bars only warm up indicators")]
EndOpt = Annotated[str | None, typer.Option(help="end date (ISO, exclusive)")]
IntervalOpt = Annotated[str, typer.Option(help="bar interval in the lake")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="write the results with stable keys")]


@app.command()
def backtest(
    symbols: SymbolsOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    interval: IntervalOpt = "1d",
    json_file: JsonOpt = None,
    strategy: cli_plugins.StrategyOpt = None,
) -> None:
    """Run the strategy over history through the same loop paper trading uses."""
    execute("backtest", symbols, start, end, interval, json_file, settings=cli_plugins.strategy_settings(strategy))


@app.command()
def paper(
    replay: Annotated[bool, typer.Option("--replay", help="replay recorded bars from the lake")] = False,
    live: Annotated[bool, typer.Option("--live", help="trade vendor bars live on the exchange calendar")] = False,
    days: Annotated[int | None, typer.Option(help="live: sessions to trade (default: until stopped)")] = None,
    speed: Annotated[float, typer.Option(help="market seconds per wall second; 0 = as fast as possible")] = 0.0,
    run_id: Annotated[str | None, typer.Option(help="name the run (default: generated)")] = None,
    resume: Annotated[bool, typer.Option(help="continue RUN_ID from its last committed cycle")] = False,
    api: Annotated[bool, typer.Option(help="serve the API and dashboard during the run")] = True,
    keep_serving: Annotated[bool, typer.Option(help="keep the dashboard up after the run until Ctrl-C")] = False,
    supervise: Annotated[
        bool, typer.Option(help="live: run it as a child process, restarted with --resume after a crash or kill")
    ] = False,
    symbols: SymbolsOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    interval: IntervalOpt = "1d",
    json_file: JsonOpt = None,
    strategy: cli_plugins.StrategyOpt = None,
) -> None:
    """Paper trade live on the exchange calendar, or replay recorded bars at a chosen speed; every cycle commits."""
    if live == replay:
        console.print("[red]error:[/red] choose one of --live or --replay")
        raise typer.Exit(2)
    if supervise and not live:
        raise typer.BadParameter("--supervise restarts a live run: use it with --live", param_hint="--supervise")
    if live and supervise:
        _supervise_live(symbol_list(symbols), interval, run_id, resume, api, days, json_file, strategy)
        return
    if live:
        _live(symbol_list(symbols), interval, run_id, resume, api, days, json_file, strategy)
        return
    execute(
        "replay",
        symbols,
        start,
        end,
        interval,
        json_file,
        speed=speed,
        run_id=run_id,
        resume=resume,
        serve_api=api,
        keep_serving=keep_serving,
        settings=cli_plugins.strategy_settings(strategy),
    )


def _live(
    symbols: tuple[str, ...],
    interval: str,
    run_id: str | None,
    resume: bool,
    serve_api: bool,
    days: int | None,
    json_file: Path | None,
    strategy: str | None = None,
) -> None:
    """Run the live orchestrator on the wall clock with the vendor feed, the API and a progress line."""
    from papertrader.cli.serve import attach_api
    from papertrader.core.clock import WallClock
    from papertrader.data.store import Lake
    from papertrader.engine.orchestrator import (
        LiveOrchestrator,
        LiveRequest,
        registry_retrainer,
        vendor_feed,
        vendor_quotes,
    )

    settings = cli_plugins.strategy_settings(strategy) or load_settings()
    clock = WallClock()
    control = RunControl() if serve_api else None
    attach = None
    try:
        with (
            errors(),
            _graceful_stop() as stopping,
            Progress(TextColumn("[bold]live[/bold]"), TextColumn("{task.fields[info]}"), console=console) as progress,
        ):
            if not symbols:
                raise typer.BadParameter("--live needs --symbols")
            feed, backfill, notes = vendor_feed(settings, clock)
            quotes, quote_notes = vendor_quotes(settings, clock, symbols)
            notes = [*notes, *quote_notes]
            for note in notes:
                console.print(f"[yellow]{note}[/yellow]")
            attach = attach_api(settings, control) if serve_api else None
            task = progress.add_task("live", total=None, info="waiting for the next warm-up")
            orchestrator = LiveOrchestrator(
                settings,
                LiveRequest(symbols, interval, run_id=run_id, resume=resume, days=days),
                feed=feed,
                clock=clock,
                lake=Lake(settings.lake_dir, clock=clock),
                repo=_repository(),
                retrainer=registry_retrainer(settings, symbols, interval),
                backfill=backfill,
                control=control,
                on_engine=attach,
                on_cycle=lambda o: progress.update(
                    task, info=f"{exchange_time(o.ts)} equity ${float(o.valuation.equity):,.0f}"
                ),
                should_stop=stopping,
                quotes=quotes,
            )
            result = orchestrator.run()
        latency = result.latency
        console.print(
            f"[bold]live run {result.run_id}[/bold] {result.status}: {result.cycles} cycles "
            f"({result.held_cycles} held), equity ${float(result.final_equity or 0):,.2f}, "
            f"latency p50 {latency.get('p50_ms', 0.0):.2f} ms · p99 {latency.get('p99_ms', 0.0):.2f} ms; "
            f"reports in {orchestrator.report_dir()}"
        )
        if json_file is not None:
            json_file.write_text(json.dumps(result.to_json(), indent=2))
            console.print(f"wrote {json_file}")
    finally:
        if attach is not None:
            attach.stop()


# ---- paper --live --supervise ---------------------------------------------------------------------

#: prctl(2) option: signal the child when its parent dies (Linux)
_PR_SET_PDEATHSIG = 1


def live_child_argv(
    symbols: tuple[str, ...],
    interval: str,
    run_id: str,
    *,
    resume: bool,
    serve_api: bool,
    days: int | None,
    json_file: Path | None,
    strategy: str | None,
) -> list[str]:
    """The `papertrader paper --live` command line the supervisor starts (with `--resume` on a restart)."""
    argv = [sys.executable, "-m", "papertrader", "paper", "--live", "--symbols", ",".join(symbols)]
    argv += ["--interval", interval, "--run-id", run_id, "--api" if serve_api else "--no-api"]
    if days is not None:
        argv += ["--days", str(days)]
    if json_file is not None:
        argv += ["--json", str(json_file)]
    if strategy is not None:
        argv += ["--strategy", strategy]
    if resume:
        argv.append("--resume")
    return argv


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the supervisor dies, so no orphan keeps trading the run alone."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: nothing to ask for
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _supervise_live(
    symbols: tuple[str, ...],
    interval: str,
    run_id: str | None,
    resume: bool,
    serve_api: bool,
    days: int | None,
    json_file: Path | None,
    strategy: str | None,
) -> None:
    """Run `paper --live` as a child and restart it with `--resume` after each unclean exit (engine/supervisor.py).

    Exit code 0 after a clean stop, 1 when a crash loop made it give up (a service manager's `Restart=on-failure`
    sees a failure). A run id that exists is resumed, on a restart and when started again.
    """
    from papertrader.core.clock import WallClock
    from papertrader.core.ids import new_run_id
    from papertrader.engine.supervisor import Supervisor

    if not symbols:
        raise typer.BadParameter("--live needs --symbols")
    clock = WallClock()
    name = run_id or new_run_id(clock.now())

    def launch(_restarts: int) -> subprocess.Popen[bytes]:
        # a run that exists is resumed: on a restart, and when a service manager starts the same run id again
        # (a child that died before creating the run starts it afresh)
        with errors():  # a ledger from a newer release: one line and exit code 2, not a restart loop
            again = resume or open_repository(load_settings()).get_run(name) is not None
        argv = live_child_argv(
            symbols,
            interval,
            name,
            resume=again,
            serve_api=serve_api,
            days=days,
            json_file=json_file,
            strategy=strategy,
        )
        console.print(f"[bold]supervisor[/bold]: starting run {name}{' (resume)' if again else ''}")
        # its own session: a terminal's Ctrl-C reaches the supervisor, which forwards exactly one SIGTERM
        return subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent)

    with stop_on_signal("supervisor: stopping the run after its current cycle (signal again to abort)") as stopping:
        outcome = Supervisor(
            launch, clock, should_stop=stopping, say=lambda m: console.print(f"[yellow]supervisor: {m}[/yellow]")
        ).run()
    console.print(f"[bold]supervisor[/bold]: run {name} {outcome.outcome} after {outcome.restarts} restart(s)")
    if outcome.outcome == "gave_up":
        raise typer.Exit(1)


def _repository() -> RunRepository:
    with errors():  # a ledger from a newer release is refused with a sentence and exit code 2
        return open_repository(load_settings())


@app.command()
def runs() -> None:
    """List stored runs, newest first, with their status and where each stopped."""
    table = Table(title="runs")
    for col in ("run id", "mode", "status", "interval", "symbols", "last cycle", "final equity"):
        table.add_column(col)
    for row in _repository().list_runs():
        summary = row.summary or {}
        equity = summary.get("final_equity")
        table.add_row(
            row.id,
            row.mode.value,
            row.status.value,
            row.interval,
            ",".join(row.symbols),
            "-" if row.last_cycle_ts is None else exchange_time(row.last_cycle_ts),
            "-" if equity is None else f"${float(equity):,.2f}",
        )
    console.print(table)


def write_report(run_id: str, path: Path) -> Path:
    """Render a stored run's tear sheet to an HTML file."""
    from papertrader.engine.reporting import tearsheet_input
    from papertrader.reports.tearsheet import render

    with console.status(f"rendering the report of {run_id}"):
        html = render(tearsheet_input(load_settings(), _repository(), run_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(help="run id (see `papertrader runs`)")],
    html: Annotated[Path, typer.Option("--html", help="output file")] = Path("report.html"),
) -> None:
    """Write a self-contained HTML tear sheet: equity vs benchmark, drawdown, monthly returns, trades, risk."""
    with errors():
        out = write_report(run_id, html)
    console.print(f"wrote {out}")


@app.command()
def check(run_id: Annotated[str, typer.Argument(help="run id")]) -> None:
    """Rebuild the ledger from the event log alone and verify it matches the stored state."""
    from papertrader.engine.check import check_run

    with errors():
        report = check_run(_repository(), run_id)
    if report.ok:
        console.print(
            f"[green]ok[/green] run {run_id}: {report.fills} fills and {report.cycles} cycles; "
            f"ledger rebuilt from events matches stored fills, positions and cash ({report.cash})"
        )
        return
    for problem in report.problems:
        console.print(f"[red]mismatch[/red] {problem}")
    raise typer.Exit(1)
