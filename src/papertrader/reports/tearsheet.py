"""The tear sheet: one HTML file with the run's numbers beside buy-and-hold, its plots, trades and risk events."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from papertrader.domain.events import (
    REPORT_RISK_KINDS,
    DomainEvent,
    HealthChanged,
    OrderReduced,
    OrderResized,
    RiskLimitHit,
)
from papertrader.domain.timefmt import exchange_time
from papertrader.domain.types import Fill
from papertrader.portfolio.metrics import Metrics, summarize
from papertrader.reports import plots
from papertrader.reports.attribution import attribution_section
from papertrader.risk.wording import MEANING, is_rise, resize_sentence

RESIZE_KINDS = (OrderReduced.KIND, OrderResized.KIND)


@dataclass(frozen=True)
class TearSheetInput:
    """Everything a tear sheet shows; assembled by the caller from the database and the lake."""

    run_id: str
    title: str
    equity: pd.Series
    exposure: pd.Series
    benchmark: pd.Series
    benchmark_exposure: pd.Series
    closes: pd.DataFrame
    fills: Sequence[Fill]
    events: Sequence[DomainEvent]
    periods_per_year: float
    #: a live run's uptime and critical failures (engine/live_score.py `LiveScore.to_json()`), else None
    live_score: Mapping[str, Any] | None = None


def _fmt_metrics(m: Metrics, b: Metrics) -> str:
    rows = [
        ("total return", f"{m.total_return:+.2%}", f"{b.total_return:+.2%}"),
        ("CAGR", f"{m.cagr:+.2%}", f"{b.cagr:+.2%}"),
        ("volatility", f"{m.volatility:.2%}", f"{b.volatility:.2%}"),
        ("Sharpe", f"{m.sharpe:.2f}", f"{b.sharpe:.2f}"),
        ("Sortino", f"{m.sortino:.2f}", f"{b.sortino:.2f}"),
        ("max drawdown", f"{m.max_drawdown:+.2%}", f"{b.max_drawdown:+.2%}"),
        ("exposure", f"{m.exposure:.1%}", f"{b.exposure:.1%}"),
        ("fills / round trips", f"{m.trades} / {m.round_trips}", "-"),
        ("hit rate", f"{m.hit_rate:.1%}", "-"),
        ("turnover (per year)", f"{m.turnover:.2f}x", "-"),
        ("fees paid", f"${m.fees_paid:,.2f}", "-"),
    ]
    body = "".join(f"<tr><td>{a}</td><td>{s}</td><td>{b_}</td></tr>" for a, s, b_ in rows)
    return f"<table><tr><th>metric</th><th>strategy</th><th>buy &amp; hold</th></tr>{body}</table>"


def _img(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fills_table(fills: Sequence[Fill], limit: int = 500) -> str:
    rows = "".join(
        f"<tr><td>{exchange_time(f.ts)}</td><td>{html.escape(f.symbol)}</td><td>{f.side.value}</td>"
        f"<td>{f.qty:,}</td><td>{f.price:,.4f}</td><td>{f.fee:,.2f}</td></tr>"
        for f in list(fills)[-limit:]
    )
    shown = f"the last {limit} of {len(fills)} fills" if len(fills) > limit else f"all {len(fills)} fills"
    buys = sum(1 for f in fills if f.side.value == "buy")
    head = "<tr><th>time (New York)</th><th>symbol</th><th>side</th><th>qty</th><th>price</th><th>fee</th></tr>"
    summary = f"{len(fills)} fills: {buys} buys, {len(fills) - buys} sells; open for {shown}"
    return f"<details><summary>{summary}</summary><table>{head}{rows}</table></details>"


def _events_table(events: Sequence[DomainEvent], limit: int = 300) -> str:
    risk = [e for e in events if e.kind in REPORT_RISK_KINDS]
    if not risk:
        return "<p>No risk events: nothing was denied, reduced, rejected, cancelled or expired.</p>"
    counts = Counter((e.kind, _rule(e)) for e in risk)
    summary_rows = "".join(
        f"<tr><td>{html.escape(kind)}</td><td>{html.escape(rule)}</td><td>{n:,}</td>"
        f"<td>{html.escape(MEANING.get(kind, ''))}</td></tr>"
        for (kind, rule), n in sorted(counts.items(), key=lambda item: -item[1])
    )
    rows = "".join(
        f"<tr><td>{exchange_time(e.ts)}</td><td>{html.escape(e.kind)}</td><td>{html.escape(_event_text(e))}</td></tr>"
        for e in risk[-limit:]
    )
    shown = f"the last {limit}" if len(risk) > limit else f"all {len(risk)}"
    return (
        f"<p>{len(risk):,} risk events, by kind and rule:</p>"
        f'<table class="summary"><tr><th>kind</th><th>rule, reason or status (# = a number)</th><th>events</th>'
        "<th>what it means</th></tr>"
        f"{summary_rows}</table>"
        f"<details><summary>Every event ({shown}, oldest first)</summary>"
        f"<table><tr><th>time (New York)</th><th>kind</th><th>details</th></tr>{rows}</table></details>"
    )


def _rule(event: DomainEvent) -> str:
    """What an event is grouped by in the summary: the limit that bound, or the component's new status."""
    if isinstance(event, HealthChanged):
        return f"{event.component} {event.status}"
    p = event.payload
    if isinstance(event, RiskLimitHit) and event.kind in RESIZE_KINDS and "requested_weight" in event.numbers:
        return f"{event.rule} ({'raised' if is_rise(event.kind, p) else 'cut'})"
    # order ids, share counts and prices differ per event: group "OCO: <id> filled" as one reason
    return re.sub(r"\S*\d\S*", "#", str(p.get("rule") or p.get("reason") or "-"))


def _event_text(event: DomainEvent) -> str:
    """One event as a sentence where there is one (cuts and raises), else its fields."""
    if event.kind in RESIZE_KINDS:
        return resize_sentence(event.kind, event.payload)
    return ", ".join(f"{k}={v}" for k, v in event.payload.items())


def live_score_section(score: Mapping[str, Any]) -> str:
    """Uptime over the scheduled bar closes against the seed's 99.5%, and every critical failure in words."""
    uptime = score.get("uptime")
    shown = "n/a (no bar close scheduled yet)" if uptime is None else f"{float(uptime):.2%}"
    failures = [str(f) for f in score.get("critical_failures") or []]
    rows = [
        ("uptime (target above 99.50%)", shown),
        ("bar closes up / scheduled", f"{score.get('up', 0)} / {score.get('scheduled', 0)}"),
        ("bar closes missed", str(score.get("missed_closes", 0))),
        ("critical failures (target 0)", str(len(failures))),
    ]
    body = "".join(f"<tr><td>{a}</td><td>{html.escape(b)}</td></tr>" for a, b in rows)
    listed = "".join(f"<li>{html.escape(f)}</li>" for f in failures)
    return f"<table>{body}</table>" + (f"<ul>{listed}</ul>" if listed else "")


def render(data: TearSheetInput) -> str:
    """The whole report as a self-contained HTML string."""
    fills = list(data.fills)
    m = summarize(data.equity.to_numpy(), (data.exposure * data.equity).to_numpy(), fills, data.periods_per_year)
    b = summarize(data.benchmark.to_numpy(), (data.benchmark_exposure).to_numpy(), (), data.periods_per_year)
    window = max(20, min(126, len(data.equity) // 4))
    symbols = [s for s in data.closes.columns if any(f.symbol == s for f in fills)][:6]
    sections = [
        ("Performance", _fmt_metrics(m, b)),
        *([("Live uptime and critical failures", live_score_section(data.live_score))] if data.live_score else []),
        ("Equity vs buy-and-hold", _img(plots.equity_figure(data.equity, data.benchmark), "equity")),
        ("Drawdown", _img(plots.drawdown_figure(data.equity, data.benchmark), "drawdown")),
        ("Monthly returns", _img(plots.monthly_returns_figure(data.equity), "monthly returns")),
        (
            "Rolling Sharpe",
            _img(plots.rolling_sharpe_figure(data.equity, data.periods_per_year, window), "rolling sharpe"),
        ),
        ("Exposure", _img(plots.exposure_figure(data.exposure), "exposure")),
        (
            "Signals",
            "".join(_img(plots.signals_figure(s, data.closes[s].dropna(), fills), s) for s in symbols)
            or "<p>No fills.</p>",
        ),
        ("Board attribution", attribution_section(data.events)),
        ("Risk events", _events_table(data.events)),
        ("Trades", _fills_table(fills)),
    ]
    body = "".join(f"<section><h2>{name}</h2>{content}</section>" for name, content in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>papertrader · {html.escape(data.run_id)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#1f2328}}
table{{border-collapse:collapse;font-size:.85rem}}
td,th{{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}} img{{max-width:100%}} h2{{border-bottom:1px solid #d0d7de}}
.summary td{{text-align:left}}
details{{margin:.5rem 0}} summary{{cursor:pointer;color:#0969da}} table{{max-width:100%;overflow-x:auto;display:block}}
.note{{color:#57606a}}
</style></head><body>
<h1>Run {html.escape(data.run_id)}</h1>
<p>{html.escape(data.title)}</p>
<p class="note">All results net of commission, spread and slippage; buy &amp; hold holds the same symbols over the
same window after paying the same entry costs.</p>
{body}
</body></html>
"""
