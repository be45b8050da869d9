"""The one copy of what every command shares: project errors exit 2 with one escaped line, dates are New York."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from rich.console import Console

from papertrader.cli.common import (
    errors,
    iso_date,
    optional_date,
    pct,
    symbol_list,
    wanted_symbols,
)
from papertrader.config.settings import Settings
from papertrader.core.errors import ConfigError, DataError


def test_a_project_error_becomes_one_line_and_exit_code_2() -> None:
    buf = io.StringIO()
    out = Console(file=buf, width=200)
    with pytest.raises(typer.Exit) as raised, errors(out):
        raise DataError("no bars for [AAPL]; import them")
    assert raised.value.exit_code == 2
    assert buf.getvalue().strip() == "error: no bars for [AAPL]; import them"  # brackets are text, not markup


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(ValueError), errors(Console(file=io.StringIO())):
        raise ValueError("a bug stays a traceback")


def test_a_naive_date_is_new_york_and_an_aware_one_keeps_its_zone() -> None:
    naive = iso_date("2010-01-31")
    assert naive.utcoffset() == timedelta(hours=-5) and naive.date().isoformat() == "2010-01-31"
    aware = iso_date("2010-07-01T09:30:00+00:00")
    assert aware.utcoffset() == timedelta(0) and aware == datetime.fromisoformat("2010-07-01T09:30:00+00:00")
    assert optional_date(None) is None


def test_a_bad_date_is_a_usage_error_naming_the_option() -> None:
    with pytest.raises(typer.BadParameter, match="--start '31/01/2010' is not an ISO date"):
        iso_date("31/01/2010", "--start")


def test_symbols_are_upper_cased_and_blanks_dropped() -> None:
    assert symbol_list(" aapl, msft,,ibm ") == ("AAPL", "MSFT", "IBM")
    assert symbol_list(None) == () and symbol_list("") == ()


def test_config_errors_share_the_exit_code() -> None:
    with pytest.raises(typer.Exit) as raised, errors(Console(file=io.StringIO())):
        raise ConfigError("set PAPERTRADER_X")
    assert raised.value.exit_code == 2


def test_symbols_and_a_universe_are_joined_once_each_in_order(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    picked = wanted_symbols("msft,aapl", "etf", settings)
    assert picked[:2] == ["MSFT", "AAPL"] and len(picked) == len(set(picked)) > 2
    with pytest.raises(typer.BadParameter, match="name the symbols"):
        wanted_symbols(None, None, settings)


def test_percentages_have_two_decimals_a_sign_by_default_and_a_dash_for_none() -> None:
    assert pct(0.12345) == "+12.35%" and pct(-0.5) == "-50.00%"
    assert pct(0.25, signed=False) == "25.00%" and pct(None) == "-"
