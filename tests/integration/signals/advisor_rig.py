"""Real advisor members pointed at the fake LLM server, over real bundled daily bars (AAPL, IBM, MSFT)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from fake_llm import ANTHROPIC_KEY, OPENAI_KEY, FakeLLM
from pydantic import SecretStr

from papertrader.config.advisors import AdvisorKeys, AdvisorsSettings, ClaudeSettings, GrokSettings, KimiSettings
from papertrader.core.arrays import Array
from papertrader.core.clock import Clock
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.panel import Panel
from papertrader.features.view import FeatureView
from papertrader.signals.advisors import AdvisorMember, advisor_members

SYMBOLS = ("AAPL", "IBM", "MSFT")
FIRST = 100  # first cycle asked about: well past the 61-bar summary window
Wire = Literal["openai", "anthropic"]


@cache
def bundled_features() -> dict[str, Array]:
    """Close and volume panels (T, 3) of real daily bars shipped in an installed package (no network)."""
    _, frame = next(BundledSource(symbols=SYMBOLS).bars())
    panel = Panel.from_long(frame, "1d", SYMBOLS)
    return {"close": panel.prices.close, "volume": panel.prices.volume}


def view(k: int, features: dict[str, Array] | None = None) -> FeatureView:
    """The board's view at cycle k."""
    return FeatureView(features if features is not None else bundled_features(), k)


def keys(wire: Wire, *, wrong: bool = False) -> AdvisorKeys:
    """Keys for exactly one advisor (the others explicitly unset, whatever the environment holds)."""
    secret = OPENAI_KEY if wire == "openai" else ANTHROPIC_KEY
    value = SecretStr(secret[::-1] if wrong else secret)
    if wire == "openai":
        return AdvisorKeys(xai_api_key=value, moonshot_api_key=None, anthropic_api_key=None)
    return AdvisorKeys(xai_api_key=None, moonshot_api_key=None, anthropic_api_key=value)


def board_settings(fake: FakeLLM, wire: Wire, **overrides: Any) -> AdvisorsSettings:
    """Grok (openai wire) or Claude (anthropic wire) at the fake; the other advisors switched off."""
    values: dict[str, Any] = {
        "wire": wire,
        "model": "fake-model",
        "base_url": fake.base_url,
        "timeout_s": 10.0,
        "workers": 4,
        "in_backtests": True,
        **overrides,
    }
    nowhere = {"base_url": "http://127.0.0.1:9", "enabled": False}
    if wire == "openai":
        return AdvisorsSettings(
            grok=GrokSettings(**values), kimi=KimiSettings(**nowhere), claude=ClaudeSettings(**nowhere)
        )
    return AdvisorsSettings(grok=GrokSettings(**nowhere), kimi=KimiSettings(**nowhere), claude=ClaudeSettings(**values))


def member(
    fake: FakeLLM,
    wire: Wire,
    clock: Clock,
    *,
    cache_dir: Path | None = None,
    n_symbols: int = len(SYMBOLS),
    wrong_key: bool = False,
    **overrides: Any,
) -> AdvisorMember:
    """The one advisor member the factory builds for this fake and wire."""
    built = advisor_members(
        board_settings(fake, wire, **overrides),
        n_symbols,
        clock,
        historical=True,
        cache_dir=cache_dir,
        keys=keys(wire, wrong=wrong_key),
    )
    assert len(built) == 1
    return built[0]


def tiled(times: int) -> dict[str, Array]:
    """The three real symbols repeated side by side, for a wider universe (same bars, more columns)."""
    return {name: np.tile(panel, (1, times)) for name, panel in bundled_features().items()}
