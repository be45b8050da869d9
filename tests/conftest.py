"""Shared fixtures: real bars from ../shared/data when present (tests may read it; the product may not)."""

from __future__ import annotations

import pandas as pd
import pytest

from support import SHARED, EngineFactory, build_engine, load_shared_daily

__all__ = ["SHARED", "EngineFactory", "build_engine", "load_shared_daily"]


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
