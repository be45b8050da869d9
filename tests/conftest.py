"""Shared fixtures: real bars from ../shared/data when present (tests may read it; the product may not)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from support import SHARED, EngineFactory, build_engine, load_shared_daily

__all__ = ["SHARED", "EngineFactory", "build_engine", "load_shared_daily"]


@pytest.fixture(scope="session", autouse=True)
def _ephemeral_api_port() -> Iterator[None]:
    """Every API a test starts (and every subprocess it spawns) binds a free port, never the default 8000.

    The suite must pass beside a running papertrader: a replay or demo a test runs without --no-api would
    otherwise fail on 127.0.0.1:8000. Session-wide, so module fixtures get it too; tests that need a specific
    port set PAPERTRADER_API_PORT themselves.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_API_PORT", "0")
        yield


@pytest.fixture(scope="session")
def spy_daily() -> pd.DataFrame:
    """SPY daily bars 1998-2021 (real)."""
    return load_shared_daily("SPY")


@pytest.fixture(scope="session")
def etf_daily() -> pd.DataFrame:
    """SPY, QQQ, IWM, EEM daily bars (real), a multi-symbol universe with ragged starts."""
    return pd.concat([load_shared_daily(s) for s in ("SPY", "QQQ", "IWM", "EEM")], ignore_index=True)


@pytest.fixture
def engine_factory() -> EngineFactory:
    """build_engine, as a fixture."""
    return build_engine
