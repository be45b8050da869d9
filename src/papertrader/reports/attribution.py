"""Per-member attribution for the tear sheet, rebuilt from a run's stored events alone.

Two kinds of stored events feed it: the engine's "signal" events, whose payload carries the board's
`votes` ([{member, timeframe, p_up, p_down, exit, weight, reason}], written by the ensemble), and the
performance monitor's `monitor.*` events (periodic `monitor.records` snapshots of every member's rolling
out-of-sample record, `monitor.degraded` / `monitor.recovered` alarms, `monitor.proposal` weight changes,
`monitor.drift` feature shifts). A run of a single strategy (the trend baseline) has neither, and says so.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from papertrader.domain.events import (
    DomainEvent,
    DriftChanged,
    MemberDegraded,
    MemberRecovered,
    MonitorRecorded,
    SignalChanged,
    WeightsProposed,
)
from papertrader.domain.timefmt import exchange_time
from papertrader.reports.plots import _png

COLUMNS = (
    "member",
    "timeframe",
    "votes",
    "mean_weight",
    "agreement",
    "n",
    "hit_rate",
    "brier",
    "ece",
    "pnl",
    "degraded",
    "alarms",
    "last_proposed",
)


def _num(value: Any) -> float:
    """A stored number (None for NaN) as a float."""
    return math.nan if value is None else float(value)


def _votes(events: Sequence[DomainEvent]) -> dict[str, dict[str, Any]]:
    """Per member: how often it voted, its mean ensemble weight, and how often its side matched the target's."""
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        if not isinstance(event, SignalChanged):
            continue
        target = _num(event.target_weight)
        for vote in event.votes or ():
            up, down = _num(vote.get("p_up")), _num(vote.get("p_down"))
            if not (math.isfinite(up) and math.isfinite(down)):
                continue
            row = out.setdefault(
                str(vote["member"]),
                {"timeframe": str(vote.get("timeframe", "")), "votes": 0, "weight": 0.0, "sided": 0, "agree": 0},
            )
            row["votes"] += 1
            row["weight"] += _num(vote.get("weight", 0.0))
            if up != down and target != 0.0:
                row["sided"] += 1
                row["agree"] += int((up > down) == (target > 0))
    return out


def monitor_summary(events: Sequence[DomainEvent]) -> pd.DataFrame:
    """One row per board member: its votes in the run and its last out-of-sample record, alarms and proposal."""
    votes = _votes(events)
    records: dict[str, Mapping[str, Any]] = {}
    alarms: dict[str, int] = {}
    degraded: dict[str, bool] = {}
    proposed: dict[str, float] = {}
    for event in events:
        if isinstance(event, MonitorRecorded):
            for rec in event.records:
                records[str(rec["member"])] = rec
                degraded[str(rec["member"])] = bool(rec.get("degraded", False))
        elif isinstance(event, MemberDegraded):
            alarms[event.member] = alarms.get(event.member, 0) + 1
            degraded[event.member] = True
        elif isinstance(event, MemberRecovered):
            degraded[event.member] = False
        elif isinstance(event, WeightsProposed):
            for prop in event.proposals:
                proposed[str(prop["member"])] = float(prop["proposed"])
    rows = []
    for member in sorted(set(votes) | set(records) | set(alarms) | set(proposed)):
        v = votes.get(member, {})
        r = records.get(member, {})
        n_votes = int(v.get("votes", 0))
        rows.append(
            {
                "member": member,
                "timeframe": str(r.get("timeframe") or v.get("timeframe") or ""),
                "votes": n_votes,
                "mean_weight": v["weight"] / n_votes if n_votes else math.nan,
                "agreement": v["agree"] / v["sided"] if v.get("sided") else math.nan,
                "n": int(r.get("n") or 0),
                "hit_rate": _num(r.get("hit_rate")),
                "brier": _num(r.get("brier")),
                "ece": _num(r.get("ece")),
                "pnl": _num(r.get("pnl")),
                "degraded": degraded.get(member, False),
                "alarms": alarms.get(member, 0),
                "last_proposed": proposed.get(member, math.nan),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def hit_rate_history(events: Sequence[DomainEvent]) -> pd.DataFrame:
    """Rolling hit rate per member over time, from the monitor's periodic snapshots (time x member)."""
    points: dict[str, dict[Any, float]] = {}
    for event in events:
        if isinstance(event, MonitorRecorded):
            for rec in event.records:
                points.setdefault(str(rec["member"]), {})[event.ts] = _num(rec.get("hit_rate"))
    return pd.DataFrame(points).sort_index()


def hit_rate_figure(history: pd.DataFrame, alarms: Sequence[MemberDegraded]) -> str:
    """Each member's rolling out-of-sample hit rate, its degradation alarms marked with a triangle."""
    fig, ax = plt.subplots(figsize=(10, 3.0))
    for member in history.columns:
        line = ax.plot(history.index, history[member].to_numpy() * 100, lw=1.1, label=member)[0]
        when = pd.DatetimeIndex([e.ts for e in alarms if e.member == member])
        if len(when):
            at = history[member].reindex(history.index.union(when)).ffill().reindex(when)
            ax.plot(when, at.to_numpy() * 100, "v", color=line.get_color(), ms=7, label=f"{member} degraded")
    ax.axhline(50, color="black", lw=0.6)
    ax.set_ylabel("rolling hit rate (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, ncol=4)
    return _png(fig)


def _fmt(value: Any, kind: str) -> str:
    """One table cell: NaN as '-', rates as percentages."""
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "ret":
        return f"{value:+.2%}"
    if kind == "f3":
        return f"{value:.3f}"
    return html.escape(str(value))


_FORMATS = {
    "mean_weight": "f3",
    "agreement": "pct",
    "hit_rate": "pct",
    "brier": "f3",
    "ece": "f3",
    "pnl": "ret",
    "last_proposed": "f3",
}


def attribution_section(events: Sequence[DomainEvent]) -> str:
    """The tear sheet's board-attribution section (HTML); says so when the run had no board or monitor."""
    table = monitor_summary(events)
    if table.empty:
        return (
            "<p>No board votes or monitor events in this run: a single strategy (such as the trend baseline) "
            "decided alone, so there is nothing to attribute per member.</p>"
        )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(row[c], _FORMATS.get(c, 'str'))}</td>" for c in COLUMNS) + "</tr>"
        for row in table.to_dict("records")
    )
    parts = [
        '<p class="note">hit rate, Brier, ECE and P&amp;L are the monitor\'s last rolling out-of-sample record '
        "(an opinion scored only once its horizon had passed); P&amp;L is the staggered book of the member's own "
        "edge net of costs; agreement is how often its side matched the ensemble's target.</p>",
        f"<table><tr>{head}</tr>{body}</table>",
    ]
    history = hit_rate_history(events)
    if not history.empty and len(history) > 1:
        png = hit_rate_figure(history, [e for e in events if isinstance(e, MemberDegraded)])
        parts.append(f'<img alt="rolling hit rate per member" src="data:image/png;base64,{png}">')
    drifts = [e for e in events if isinstance(e, DriftChanged) and e.features]
    if drifts:
        parts.append(drift_section(drifts))
    return "".join(parts)


def drift_section(drifts: Sequence[DriftChanged], last: int = 20) -> str:
    """Feature drift as one sentence (reports, the most shifted features, what PSI means), the scores folded away."""
    worst: dict[str, float] = {}
    for event in drifts:
        for f in event.features:
            worst[str(f["name"])] = max(worst.get(str(f["name"]), 0.0), float(f["psi"]))
    top = sorted(worst.items(), key=lambda item: -item[1])[:3]
    large = sum(1 for v in worst.values() if v > 0.25)
    items = "".join(
        f"<li>{exchange_time(e.ts)}: "
        + html.escape(", ".join(f"{f['name']} PSI {float(f['psi']):.2f}" for f in e.features))
        + "</li>"
        for e in drifts[-last:]
    )
    return (
        f"<p>Feature drift: {len(drifts)} reports on {len(worst)} features; {large} shifted a lot (PSI above 0.25) "
        f"at some point; most shifted: {html.escape(', '.join(f'{n} {v:.2f}' for n, v in top))}.</p>"
        '<p class="note">PSI (population stability index) compares a feature\'s recent values with those the '
        "models were trained on: below 0.1 is stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one (the "
        "model sees inputs unlike its training data, so its votes deserve less trust).</p>"
        f"<details><summary>Drift scores of the last {min(last, len(drifts))} reports</summary>"
        f"<ul>{items}</ul></details>"
    )
