"""Macro features join on the RELEASE date (reference period end + lag), checked on the real bundled series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from feature_data import bundled_macro, ny

from papertrader.core.errors import DataError
from papertrader.features.macro import MacroSeries, MacroSpec, build_tables, macro_at, macro_spec_for, release_ns
from papertrader.features.times import to_ns


def _at(spec: MacroSpec, *times: str) -> dict[str, np.ndarray]:
    stamps = pd.DatetimeIndex([ny(t) for t in times])
    return macro_at(build_tables(bundled_macro(), spec), spec, to_ns(stamps))


def _value(series: str, ref: str) -> float:
    frame = bundled_macro()[series]
    return float(frame.loc[frame["date"] == pd.Timestamp(ref, tz="UTC"), "value"].iloc[0])


def test_core_cpi_for_a_month_is_invisible_until_20_days_after_the_month_ends() -> None:
    spec = MacroSpec(series=(MacroSeries("cpi_core_yoy", "CPILFESL", "M", 20, "pct", 12),), spreads=())
    got = _at(spec, "2010-02-19 09:30", "2010-02-20 23:59", "2010-02-22 09:30")["macro_cpi_core_yoy"]
    dec = _value("CPILFESL", "2009-12-01") / _value("CPILFESL", "2008-12-01") - 1
    jan = _value("CPILFESL", "2010-01-01") / _value("CPILFESL", "2009-01-01") - 1
    np.testing.assert_allclose(got, [dec, dec, jan], rtol=1e-12)


def test_daily_market_series_is_visible_from_the_day_after_its_reference_date() -> None:
    spec = MacroSpec(series=(MacroSeries("wti", "DCOILWTICO", "D", 0),), spreads=())
    got = _at(spec, "2010-03-01 09:30", "2010-03-01 16:00", "2010-03-02 09:30")["macro_wti"]
    friday, monday = _value("DCOILWTICO", "2010-02-26"), _value("DCOILWTICO", "2010-03-01")
    np.testing.assert_allclose(got, [friday, friday, monday])


def test_quarterly_gdp_growth_waits_for_the_advance_estimate() -> None:
    spec = MacroSpec(series=(MacroSeries("gdp", "US_REALGDP_Q", "Q", 30, "pct", 1),), spreads=())
    got = _at(spec, "2009-04-30 12:00", "2009-05-01 09:30")["macro_gdp"]
    q4 = _value("US_REALGDP_Q", "2008-10-01") / _value("US_REALGDP_Q", "2008-07-01") - 1
    q1 = _value("US_REALGDP_Q", "2009-01-01") / _value("US_REALGDP_Q", "2008-10-01") - 1
    np.testing.assert_allclose(got, [q4, q1], rtol=1e-12)


def test_release_is_midnight_new_york_after_period_end_plus_lag() -> None:
    refs = pd.DatetimeIndex(["2019-01-01", "2019-02-15", "2019-10-01"], tz="UTC")
    monthly = pd.DatetimeIndex(release_ns(refs, "M", 15), tz="UTC")
    assert list(monthly) == [ny("2019-02-16 00:00"), ny("2019-03-16 00:00"), ny("2019-11-16 00:00")]
    quarterly = pd.DatetimeIndex(release_ns(refs[2:], "Q", 30), tz="UTC")
    assert list(quarterly) == [ny("2020-01-31 00:00")]


def test_a_series_that_stopped_updating_goes_missing_instead_of_looking_current() -> None:
    spec = MacroSpec(series=(MacroSeries("unemp", "US_UNEMP_Q", "Q", 10),), spreads=())
    got = _at(spec, "2009-12-01 09:30", "2010-06-01 09:30")["macro_unemp"]  # statsmodels data ends 2009Q3
    assert got[0] == _value("US_UNEMP_Q", "2009-07-01") and np.isnan(got[1])


def test_spreads_are_differences_of_each_legs_as_of_value() -> None:
    got = _at(MacroSpec(), "2005-06-15 10:00")
    assert got["macro_credit_spread_baa_aaa"][0] == got["macro_baa"][0] - got["macro_aaa"][0]
    assert got["macro_baa"][0] == _value("BAA", "2005-05-01")  # May's average, public from June 2
    assert got["macro_term_spread_aaa_tbill"][0] == got["macro_aaa"][0] - got["macro_tbill_3m_q"][0]


def test_spec_for_available_series_adds_fed_funds_and_treasury_slope_only_when_present() -> None:
    names = [*bundled_macro(), "FEDERAL_FUNDS_RATE", "TREASURY_YIELD_10YEAR", "TREASURY_YIELD_2YEAR"]
    spec = macro_spec_for(names)
    assert {"macro_fed_funds", "macro_ust_10y_2y", "macro_credit_spread_baa_aaa"} <= set(spec.names())
    assert "macro_ust_10y_3m" not in spec.names()
    assert macro_spec_for(bundled_macro()).names() == MacroSpec().names()


def test_a_missing_series_is_a_data_error_that_says_how_to_get_it() -> None:
    with pytest.raises(DataError, match="import"):
        build_tables({}, MacroSpec())
