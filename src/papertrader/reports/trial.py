"""The trial report: one self-contained HTML file with pass rates, the per-window table and its plots.

It renders the trial's JSON (the stable contract of `papertrader trial --json`), so a report can be
rebuilt from a saved JSON file and this module needs nothing from the engine.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from papertrader.reports.plots import BENCH, STRATEGY, _png

MAX_STRIPS = 48  # small multiples beyond this become unreadable; the table still lists every window
CRITERIA = ("sharpe", "max_drawdown", "uptime", "critical_failures", "baselines", "all")

Json = Mapping[str, Any]


def _f(x: object) -> float:
    """A JSON number (null is NaN)."""
    return math.nan if x is None else float(str(x))


def returns_figure(windows: Sequence[Json]) -> str:
    """Window returns of the strategy against buy-and-hold: paired points per window and both histograms."""
    strat = np.array([_f(w["strategy"]["total_return"]) for w in windows]) * 100
    bench = np.array([_f(w["buy_and_hold"]["total_return"]) for w in windows]) * 100
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.4, 1]})
    x = np.arange(1, len(windows) + 1)
    left.vlines(x, bench, strat, color="#d0d7de", lw=1.0)
    left.scatter(x, bench, color=BENCH, s=14, label="buy & hold", zorder=3)
    left.scatter(x, strat, color=STRATEGY, s=14, label="strategy (net)", zorder=3)
    left.axhline(0, color="black", lw=0.6)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("window")
    left.set_ylabel("window return (%)")
    left.legend(loc="best", fontsize=8)
    left.grid(alpha=0.3)
    finite = np.concatenate([strat[np.isfinite(strat)], bench[np.isfinite(bench)]])
    edges = np.histogram_bin_edges(finite if finite.size else np.zeros(1), bins=min(30, max(5, len(windows))))
    right.hist(bench[np.isfinite(bench)], bins=edges, color=BENCH, alpha=0.55, label="buy & hold")
    right.hist(strat[np.isfinite(strat)], bins=edges, color=STRATEGY, alpha=0.55, label="strategy")
    right.axvline(0, color="black", lw=0.6)
    right.set_xlabel("window return (%)")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylabel("windows")
    right.legend(loc="best", fontsize=8)
    right.grid(alpha=0.3)
    return _png(fig)


def strips_figure(windows: Sequence[Json]) -> str:
    """Small multiples: each window's equity against buy-and-hold, both starting at 100."""
    n = max(1, len(windows))
    cols = min(6, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 1.5 * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.set_visible(False)
    for ax, w in zip(axes.ravel(), windows, strict=False):
        ax.set_visible(True)
        for key, color in (("buy_and_hold_equity", BENCH), ("equity", STRATEGY)):
            values = np.array([_f(v) for v in w.get(key, [])])
            if values.size:
                ax.plot(np.arange(values.size), values / values[0] * 100, color=color, lw=1.1)
        ax.axhline(100, color="black", lw=0.4)
        mark = "  (critical failure)" if w["critical_failures"] else ""
        ax.set_title(f"#{w['index']} {str(w['start'])[:10]}{mark}", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_xticks([])
    fig.tight_layout()
    return _png(fig)


def _pct(x: object, signed: bool = True) -> str:
    v = _f(x)
    if not math.isfinite(v):
        return "-"
    return f"{v:+.2%}" if signed else f"{v:.2%}"


def _num(x: object) -> str:
    v = _f(x)
    return "-" if not math.isfinite(v) else f"{v:.2f}"


def _money(x: object) -> str:
    v = _f(x)
    return "-" if not math.isfinite(v) else f"${v:,.2f}"


def _rate(r: Json) -> str:
    return f"{r['passed']}/{r['n']} = {_pct(r['rate'], False)} [{_f(r['low']):.1%}, {_f(r['high']):.1%}]"


def _labels(criteria: Json) -> dict[str, str]:
    return {
        "sharpe": f"Sharpe > {criteria['sharpe_above']}",
        "max_drawdown": f"max drawdown < {_f(criteria['max_drawdown_below']):.0%}",
        "uptime": f"uptime > {_f(criteria['uptime_above']):.1%}",
        "critical_failures": f"critical failures < {criteria['critical_failures_below']}",
        "baselines": str(criteria.get("baselines", "beats the baselines")),
        "all": "all five criteria",
    }


def _pass_table(trial: Json) -> str:
    labels = _labels(trial["criteria"])
    rates = trial["summary"]["pass_rates"]
    shown = [name for name in CRITERIA if name in rates]
    rows = "".join(f"<tr><td>{html.escape(labels[name])}</td><td>{_rate(rates[name])}</td></tr>" for name in shown)
    rows += f"<tr><td>beat buy &amp; hold (return)</td><td>{_rate(trial['summary']['beat_buy_and_hold'])}</td></tr>"
    level = f"{_f(trial['confidence']):.0%}"
    return f"<table><tr><th>criterion</th><th>windows passed = rate [{level} Wilson interval]</th></tr>{rows}</table>"


def _stats_table(trial: Json) -> str:
    s = trial["summary"]["metrics"]
    pairs = [
        ("return", "total_return", "bench_total_return", _pct),
        ("Sharpe", "sharpe", "bench_sharpe", _num),
        ("max drawdown", "max_drawdown", "bench_max_drawdown", _pct),
    ]
    body = "".join(
        f"<tr><td>{label}</td><td>{f(s[a]['mean'])}</td><td>{f(s[a]['median'])}</td>"
        f"<td>{f(s[b]['mean'])}</td><td>{f(s[b]['median'])}</td></tr>"
        for label, a, b, f in pairs
    )
    singles = [("trades", "trades", _num), ("fees", "fees_paid", _money), ("uptime", "uptime", _pct)]
    singles.append(("critical failures", "critical_failures", _num))
    body += "".join(
        f"<tr><td>{label}</td><td>{f(s[key]['mean'])}</td><td>{f(s[key]['median'])}</td><td>-</td><td>-</td></tr>"
        for label, key, f in singles
    )
    head = (
        "<tr><th>per window</th><th>strategy mean</th><th>strategy median</th>"
        "<th>buy &amp; hold mean</th><th>buy &amp; hold median</th></tr>"
    )
    return f"<table>{head}{body}</table>"


def _window_row(w: Json) -> str:
    st, bh = w["strategy"], w["buy_and_hold"]
    failures = html.escape("; ".join(str(x) for x in w["critical_failures"])) or "0"
    cells = [
        str(w["index"]),
        html.escape(str(w["run_id"])),
        str(w["start"])[:10],
        str(w["end"])[:10],
        _pct(st["total_return"]),
        _pct(bh["total_return"]),
        _pct((w.get("buy_and_hold_vol_matched") or {}).get("total_return")),
        _pct((w.get("trend_baseline") or {}).get("total_return")),
        _num(st["sharpe"]),
        _num(bh["sharpe"]),
        _pct(st["max_drawdown"]),
        _pct(bh["max_drawdown"]),
        str(st["trades"]),
        _money(st["fees_paid"]),
        _pct(w["uptime"], False),
        failures,
        "yes" if w["passes"]["all"] else "no",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _windows_table(windows: Sequence[Json]) -> str:
    head = (
        "<tr><th>#</th><th>run id</th><th>first</th><th>last</th><th>return</th><th>B&amp;H</th>"
        "<th>vol-matched B&amp;H</th><th>trend baseline</th><th>Sharpe</th>"
        "<th>B&amp;H Sharpe</th><th>max DD</th><th>B&amp;H max DD</th><th>trades</th><th>fees</th><th>uptime</th>"
        "<th>critical failures</th><th>passes all</th></tr>"
    )
    return f"<table>{head}{''.join(_window_row(w) for w in windows)}</table>"


def _strip_sample(windows: Sequence[Json]) -> tuple[list[Json], str]:
    if len(windows) <= MAX_STRIPS:
        return list(windows), ""
    step = (len(windows) - 1) / (MAX_STRIPS - 1)
    picked = [windows[round(i * step)] for i in range(MAX_STRIPS)]
    return picked, f"<p class='note'>{MAX_STRIPS} of {len(windows)} windows, evenly spaced; the table lists all.</p>"


def _img(data: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render(trial: Json) -> str:
    """The whole trial report as a self-contained HTML string (plots inlined as PNG), from the trial JSON."""
    windows: Sequence[Json] = trial["windows"]
    strips, note = _strip_sample(windows)
    held = trial["held_out"]
    exclusions = "".join(
        f"<li>{html.escape(str(e['label']))}: {str(e['start'])[:10]} → {str(e['end'])[:10]}</li>"
        for e in held["exclusions"]
    )
    sections = [
        ("Pass rates", _pass_table(trial)),
        ("Across windows", _stats_table(trial)),
        ("Window returns vs buy-and-hold", _img(returns_figure(windows), "window returns")),
        ("Equity per window", note + _img(strips_figure(strips), "equity strips")),
        ("Windows", _windows_table(windows)),
    ]
    body = "".join(f"<section><h2>{name}</h2>{content}</section>" for name, content in sections)
    trial_id = html.escape(str(trial["trial_id"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>papertrader trial · {trial_id}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#1f2328}}
table{{border-collapse:collapse;font-size:.8rem}}
td,th{{border:1px solid #d0d7de;padding:.25rem .45rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}} img{{max-width:100%}} h2{{border-bottom:1px solid #d0d7de}}
.note{{color:#57606a}}
</style></head><body>
<h1>Paper trial {trial_id}</h1>
<p>strategy <b>{html.escape(str(trial["strategy"]))}</b> · {html.escape(str(trial["interval"]))} ·
{html.escape(", ".join(str(s) for s in trial["symbols"]))} · {len(windows)} windows of {trial["days"]} sessions
({html.escape(str(trial["windows_requested"]))} requested, {trial["windows_available"]} fit) ·
fresh ${_f(trial["initial_cash"]):,.0f} each</p>
<p>Held out from {str(held["start"])[:10]}: {html.escape(str(held["reason"]))}.</p>
{f"<ul>{exclusions}</ul>" if exclusions else ""}
<p class="note">Windows: {html.escape(str(trial["layout"]))}, fixed before any window ran, and every one is
reported. Each window is a persisted replay through data, signals, risk, broker and ledger, with results net of
commission, spread and slippage beside equal-weight buy &amp; hold of the same symbols after the same entry costs.
Uptime: share of scheduled cycles completed with no component down. Critical failure: a run that raised, a
kill-switch halt, or a ledger rebuilt from events that disagrees with storage. Windows are not independent draws
(market regimes cluster), so read the intervals as a lower bound on the uncertainty.</p>
{body}
</body></html>
"""
