"""Build the advisors that may sit on the board for this run: keyed, enabled, and allowed on this data.

An advisor joins only when (1) its key is in the environment (``XAI_API_KEY``, ``MOONSHOT_API_KEY``,
``ANTHROPIC_API_KEY``), (2) its ``enabled`` setting is true and (3) the run is live paper trading, or the
user set ``in_backtests`` for it: on history a language model may simply remember what came next.
``advisor_plan`` says which advisors join and why the others do not, without building anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import httpx

from papertrader.config.advisors import ADVISOR_NAMES, KEY_ENV, AdvisorKeys, AdvisorName, AdvisorsSettings
from papertrader.core.clock import Clock
from papertrader.signals.advisors.budget import DailyBudget
from papertrader.signals.advisors.cache import AnswerCache
from papertrader.signals.advisors.clients import make_client
from papertrader.signals.advisors.member import AdvisorMember
from papertrader.signals.advisors.prompt import PromptSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdvisorPlan:
    """Whether one advisor joins this run, and why (never showing its key)."""

    name: AdvisorName
    joins: bool
    why: str


def advisor_plan(settings: AdvisorsSettings, keys: AdvisorKeys, *, historical: bool) -> list[AdvisorPlan]:
    """For each advisor: does it join a run on historical (backtest/replay) or live data, and why."""
    plans: list[AdvisorPlan] = []
    for name in ADVISOR_NAMES:
        s = settings.of(name)
        if keys.key(name) is None:
            plans.append(AdvisorPlan(name, False, f"{KEY_ENV[name]} is not set"))
        elif not s.enabled:
            plans.append(AdvisorPlan(name, False, f"switched off (PAPERTRADER_ADVISORS__{name.upper()}__ENABLED)"))
        elif historical and not s.in_backtests:
            plans.append(
                AdvisorPlan(
                    name,
                    False,
                    "off on historical data (an LLM may remember what came next); "
                    f"set PAPERTRADER_ADVISORS__{name.upper()}__IN_BACKTESTS=true to opt in",
                )
            )
        else:
            plans.append(AdvisorPlan(name, True, f"{s.model} at {s.base_url}"))
    return plans


def advisor_members(
    settings: AdvisorsSettings,
    n_symbols: int,
    clock: Clock,
    *,
    historical: bool = True,
    cache_dir: Path | None = None,
    keys: AdvisorKeys | None = None,
    prompt: PromptSpec | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[AdvisorMember]:
    """The advisors that join this run, each with its client, daily budget and answer cache.

    `clock` meters the daily budgets, so it should be the real clock (spend is real) even in a replay;
    `historical` is True for backtests and replays of history; `cache_dir` (e.g. ``home / "advisors"``)
    keeps answers and budget usage across runs; without it both live in memory only.
    """
    keys = keys if keys is not None else AdvisorKeys()
    members: list[AdvisorMember] = []
    for plan in advisor_plan(settings, keys, historical=historical):
        if not plan.joins:
            log.info("advisor %s not on the board: %s", plan.name, plan.why)
            continue
        s = settings.of(plan.name)
        key = keys.key(plan.name)
        assert key is not None
        client = make_client(plan.name, s, key, transport)
        cache = AnswerCache(cache_dir / f"{plan.name}-answers.jsonl" if cache_dir is not None else None)
        budget = DailyBudget(
            s.daily_budget, clock, cache_dir / f"{plan.name}-budget.json" if cache_dir is not None else None
        )
        spec = prompt if prompt is not None else PromptSpec(horizon_bars=s.horizon_bars)
        members.append(AdvisorMember(plan.name, s, client, n_symbols, clock, cache=cache, budget=budget, prompt=spec))
        log.info("advisor %s on the board: %s", plan.name, plan.why)
    return members
