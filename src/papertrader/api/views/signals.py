"""Signals: the latest target per symbol and model, the ensemble and its members' votes, recent changes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from papertrader.api.context import ApiContext
from papertrader.api.routing import NOT_FOUND, Guards, Limit, RunParam, get, resource_router
from papertrader.api.schemas import DecisionVote, ModelKind, ModelSummary, SignalsView, SignalView, SymbolSignals
from papertrader.api.views.convert import to_float
from papertrader.domain.events import DomainEvent
from papertrader.persistence.decisions import StoredVote, decision_from_row
from papertrader.persistence.repository import RunRepository, RunRow


def model_kind(source: str) -> ModelKind:
    """Which family a signal source belongs to, from its name (trend_sma_20_50 -> baseline)."""
    s = source.lower()
    if "ensemble" in s:
        return "ensemble"
    if "lstm" in s:
        return "lstm"
    if "gru" in s:
        return "gru"
    if s == "rl" or s.startswith(("rl_", "rl-", "ppo", "sac", "a2c", "dqn")) or "ppo" in s:
        return "rl"
    if "advisor" in s or "llm" in s:
        return "advisor"
    if any(word in s for word in ("trend", "sma", "baseline", "momentum", "buy_and_hold")):
        return "baseline"
    return "other"


def vote_view(vote: StoredVote) -> DecisionVote:
    """A board member's stored vote as the API shows it (non-finite numbers as null): one shape for every route."""
    return DecisionVote(
        member=vote.member,
        timeframe=vote.timeframe,
        p_up=_probability(vote.p_up),
        p_down=_probability(vote.p_down),
        exit=vote.exit,
        weight=_probability(vote.weight) or 0.0,
        reason=vote.reason,
    )


def _probability(value: float | None) -> float | None:
    """A stored vote number, None where the member had no view (NaN) or it is missing."""
    return None if value is None or not math.isfinite(value) else value


def signal_view(event: DomainEvent) -> SignalView:
    """A stored or streamed signal event as the API shows it."""
    p = event.payload
    source = str(p.get("source", "unknown"))
    votes = [vote_view(v) for v in decision_from_row(0, 0, event.ts, p).votes]
    return SignalView(
        ts=event.ts,
        symbol=str(p.get("symbol", "")),
        source=source,
        model=model_kind(source),
        target_weight=to_float(p.get("target_weight")),
        confidence=to_float(p.get("confidence")),
        rationale=str(p.get("rationale", "")),
        votes=votes,
    )


def signals_view(ctx: ApiContext, run: str | None, symbol: str | None, limit: int) -> SignalsView:
    """The latest target per symbol and model, the ensemble's where one exists, and recent changes."""
    row = ctx.resolve(run)
    events = ctx.repo.load_events(row.id, ["signal"])
    views = [signal_view(e) for e in events]
    if symbol:
        views = [v for v in views if v.symbol == symbol.upper()]
    latest: dict[tuple[str, str], SignalView] = {}
    counts: Counter[str] = Counter()
    last_ts: dict[str, datetime] = {}
    for view in views:
        latest[(view.symbol, view.source)] = view
        counts[view.source] += 1
        last_ts[view.source] = view.ts
    decision = decision_source(ctx.repo, row, list(counts))
    ensemble = next((s for s in counts if model_kind(s) == "ensemble"), None)
    symbols = sorted({v.symbol for v in views} | ({symbol.upper()} if symbol else set(row.symbols)))
    per_symbol = [
        SymbolSignals(
            symbol=s,
            ensemble=latest.get((s, ensemble)) if ensemble else None,
            models=sorted(
                (v for (sym, src), v in latest.items() if sym == s and src != ensemble), key=lambda v: v.source
            ),
        )
        for s in symbols
    ]
    models = [
        ModelSummary(
            source=src,
            model=model_kind(src),
            signals=n,
            last_ts=last_ts.get(src),
            drives_orders=src == decision,
        )
        for src, n in sorted(counts.items())
    ]
    note = None
    if not views:
        note = "no signals recorded yet: a model emits one when its target for a symbol changes"
    elif ensemble is None:
        note = (
            f"one decision source ({decision or 'unknown'}) drives this run; no ensemble combines models yet, "
            "so there are no votes to show"
            if len(counts) <= 1
            else "several models emitted signals but none is an ensemble"
        )
    return SignalsView(
        run_id=row.id,
        decision_source=decision,
        ensemble_source=ensemble,
        models=models,
        symbols=per_symbol,
        recent=list(reversed(views))[:limit],
        note=note,
    )


def decision_source(repo: RunRepository, row: RunRow, sources: Sequence[str]) -> str | None:
    """The signal source whose targets became the run's orders (the last order's tag), if one can tell."""
    orders = repo.load_orders(row.id)
    tags = [o.tag for o in orders if o.tag in sources]  # not "protect": protective stops follow positions
    if tags:
        return tags[-1]
    return sources[0] if len(sources) == 1 else None


def router(ctx: ApiContext, guards: Guards) -> APIRouter:
    """GET /signals."""
    api = resource_router(guards)

    @get(api, "/signals", SignalsView, "signals", NOT_FOUND)
    def signals(
        run: RunParam = None,
        symbol: Annotated[str | None, Query(max_length=32, description="only this symbol")] = None,
        limit: Limit = 200,
    ) -> SignalsView:
        """Latest target per symbol and model, the ensemble and its votes, recent changes."""
        return signals_view(ctx, run, symbol, limit)

    return api
