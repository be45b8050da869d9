"""The offline default source: real daily prices and macro series that ship inside installed PyPI packages.

Nothing here touches the network; every frame comes from package data already on disk.

Bars (interval ``1d``, stamped at midnight America/New_York of the session date, in UTC):

* ``bokeh_sampledata.stocks``: AAPL, FB, GOOG, IBM, MSFT, daily from 2000-03-01 (FB from 2012-05-18,
  GOOG from 2004-08-19) to 2013-03-01. The vendor's open/high/low/close are UNADJUSTED prints (AAPL's 2:1
  splits of 2000-06-21 and 2005-02-28 and MSFT's of 2003-02-18 show up as fake -50% days), while
  ``adj_close`` is split- and dividend-adjusted to a much later date (AAPL's factor is about 1/30, as it
  includes the 2014 7:1 split and later dividends: its last bar's factor is 0.128, and 0.128 x 2 x 2 x 7 =
  3.6 for 2000, not 28, so the package was made between 2014 and the 2020 4:1 split). The lake stores the
  RAW prints with ``adj_factor = adj_close / close`` (adjusted = raw x factor, volume / factor: returns
  continuous across splits and dividends, dollar volume preserved) and the splits and cash dividends
  inside the window, read off the factor's steps (data/actions.py): AAPL 2:1 on 2000-06-21 and
  2005-02-28, MSFT 2:1 on 2003-02-18 (exact 2.0 steps, confirmed by the raw close), and the dividends,
  whose amounts are derived from the step and the previous close (the vendor's convention; within about
  1% of the declared amounts, e.g. AAPL 2012-08-09 reads $2.635 for the declared $2.65). Splits after
  2013-03-01 are in the factor but have no bar, so they never reach the engine, which fills, charges and
  sizes at the raw prints. ``bars()``/``bar_sources()`` still yield the adjusted series (signal inputs).
* ``arch.data.sp500`` and ``arch.data.nasdaq``: S&P 500 (``^GSPC``) and Nasdaq Composite (``^IXIC``) index
  OHLCV, 1999-01-04 to 2018-12-31 (Adj Close equals Close, so the factor is 1).

Macro series (stored with ``Lake.write_series``; ``date`` is the observation's REFERENCE date at midnight
UTC, not its release date, so consumers must lag them by the publication delay before using them as-of):

* ``CPILFESL`` core CPI, monthly (``arch.data.core_cpi``); ``DCOILWTICO`` WTI spot, daily (``arch.data.wti``);
  ``BRENT_M`` and ``WTI_M`` monthly crude, stamped mid-month (``arch.data.crude``); ``AAA`` and ``BAA``
  Moody's corporate yields, monthly (``arch.data.default``); ``VIX`` daily (``arch.data.vix``);
* ``US_REALGDP_Q``, ``US_CPI_Q``, ``US_UNEMP_Q``, ``US_TBILL_Q``, ``US_INFL_Q`` quarterly (statsmodels
  ``macrodata``), dated at the quarter start.

NaN observations (WTI and VIX holidays) are dropped and counted in the log.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.actions import infer_actions
from papertrader.data.schema import BAR_COLUMNS, daily_stamp, empty_actions
from papertrader.data.store import Lake

log = logging.getLogger(__name__)

BOKEH_SYMBOLS: Final = ("AAPL", "FB", "GOOG", "IBM", "MSFT")
INDEX_SYMBOLS: Final = ("^GSPC", "^IXIC")
#: Every symbol the bundled source provides (all daily).
BUNDLED_SYMBOLS: Final = (*BOKEH_SYMBOLS, *INDEX_SYMBOLS)
#: Every macro series the bundled source provides.
BUNDLED_SERIES: Final = (
    "CPILFESL",
    "DCOILWTICO",
    "BRENT_M",
    "WTI_M",
    "AAA",
    "BAA",
    "VIX",
    "US_REALGDP_Q",
    "US_CPI_Q",
    "US_UNEMP_Q",
    "US_TBILL_Q",
    "US_INFL_Q",
)
INTERVAL: Final = "1d"
SOURCE_BOKEH: Final = "bundled:bokeh_sampledata"
SOURCE_ARCH: Final = "bundled:arch"
SOURCE_STATSMODELS: Final = "bundled:statsmodels"

_MACRODATA_COLUMNS: Final = {
    "realgdp": "US_REALGDP_Q",
    "cpi": "US_CPI_Q",
    "unemp": "US_UNEMP_Q",
    "tbilrate": "US_TBILL_Q",
    "infl": "US_INFL_Q",
}


DEMO_EXTRA: Final = "pip install 'papertrader[demo]'"


def demo_module(name: str) -> ModuleType:
    """Import a bundled-data package, or say which extra installs it (they are not core dependencies)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise DataError(
            f"the bundled demo data needs {name.split('.')[0]}, which is not installed: {DEMO_EXTRA} "
            "(make run installs it), or import your own bars with `papertrader data import --source csv`"
        ) from exc


def adjust_ohlcv(frame: pd.DataFrame, adj_close: pd.Series) -> pd.DataFrame:
    """Scale OHLC by adj_close/close and volume by its inverse, so splits do not look like crashes."""
    factor = (adj_close / frame["close"]).to_numpy(dtype="float64")
    out = frame.copy()
    for col in ("open", "high", "low", "close"):
        out[col] = out[col].to_numpy(dtype="float64") * factor
    out["volume"] = out["volume"].to_numpy(dtype="float64") / factor
    return out


def _bokeh_raw() -> pd.DataFrame:
    """The bokeh prints as traded, with ``adj_factor = adj_close / close`` beside them."""
    raw = demo_module("bokeh_sampledata.stocks").data.reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "symbol": raw["ticker"].astype(str),
            "ts": daily_stamp(raw["date"]),
            **{col: raw[col].astype("float64") for col in ("open", "high", "low", "close", "volume")},
        }
    )
    frame["adj_factor"] = (raw["adj_close"].astype("float64") / frame["close"]).to_numpy(dtype="float64")
    return frame.sort_values(["symbol", "ts"], kind="mergesort").reset_index(drop=True)


def _bokeh_bars() -> pd.DataFrame:
    raw = _bokeh_raw()
    factor = raw["adj_factor"].to_numpy(dtype="float64")
    out = raw.drop(columns="adj_factor")
    for col in ("open", "high", "low", "close"):
        out[col] = out[col].to_numpy(dtype="float64") * factor
    out["volume"] = out["volume"].to_numpy(dtype="float64") / factor
    return out


def _index_bars(symbol: str, raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw.reset_index()
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "ts": daily_stamp(raw["Date"]),
            **{col.lower(): raw[col].astype("float64") for col in ("Open", "High", "Low", "Close", "Volume")},
        }
    )
    return adjust_ohlcv(frame, raw["Adj Close"].astype("float64"))


def _series_frame(name: str, index: Iterable[object], values: Iterable[object]) -> pd.DataFrame:
    """A (date, value) frame at midnight UTC of each reference date, NaNs dropped and counted."""
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Index(list(index))).tz_localize("UTC"),
            "value": np.asarray(list(values), dtype="float64"),
        }
    )
    nans = int(frame["value"].isna().sum())
    if nans:
        log.info("bundled series %s: dropped %d NaN observation(s) of %d", name, nans, len(frame))
    return frame.dropna(subset=["value"]).reset_index(drop=True)


def _arch_series() -> Iterator[tuple[str, pd.DataFrame]]:
    from arch.data import core_cpi, crude, default, vix, wti

    singles: Mapping[str, tuple[Callable[[], pd.DataFrame], str]] = {
        "CPILFESL": (core_cpi.load, "CPILFESL"),
        "DCOILWTICO": (wti.load, "DCOILWTICO"),
        "VIX": (vix.load, "vix"),
    }
    for name, (load, column) in singles.items():
        raw = load()
        yield name, _series_frame(name, raw.index, raw[column])
    raw = crude.load()
    yield "BRENT_M", _series_frame("BRENT_M", raw.index, raw["Brent"])
    yield "WTI_M", _series_frame("WTI_M", raw.index, raw["WTI"])
    raw = default.load()
    yield "AAA", _series_frame("AAA", raw.index, raw["AAA"])
    yield "BAA", _series_frame("BAA", raw.index, raw["BAA"])


def _statsmodels_series() -> Iterator[tuple[str, pd.DataFrame]]:
    raw = demo_module("statsmodels.datasets.macrodata").load_pandas().data
    quarter_start = pd.to_datetime(
        {"year": raw["year"].astype(int), "month": (raw["quarter"].astype(int) - 1) * 3 + 1, "day": 1}
    )
    for column, name in _MACRODATA_COLUMNS.items():
        yield name, _series_frame(name, quarter_start, raw[column])


@dataclass(frozen=True)
class BundledSource:
    """Real history from installed packages, so a fresh machine with no internet can still trade on paper."""

    symbols: tuple[str, ...] = BUNDLED_SYMBOLS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.symbols) - set(BUNDLED_SYMBOLS))
        if unknown:
            raise DataError(
                f"bundled source has no symbol(s) {', '.join(unknown)}; choose from {', '.join(BUNDLED_SYMBOLS)}"
            )

    def bar_sources(self) -> Iterator[tuple[str, str, pd.DataFrame]]:
        """Yield (interval, provenance tag, long bars frame) per package, split- and dividend-adjusted."""
        wanted = set(self.symbols)
        if wanted & set(BOKEH_SYMBOLS):
            frame = _bokeh_bars()
            frame = frame.loc[frame["symbol"].isin(wanted), list(BAR_COLUMNS)].reset_index(drop=True)
            yield INTERVAL, SOURCE_BOKEH, frame
        if wanted & set(INDEX_SYMBOLS):
            from arch.data import nasdaq, sp500

            for symbol, module in (("^GSPC", sp500), ("^IXIC", nasdaq)):
                if symbol in wanted:
                    yield INTERVAL, SOURCE_ARCH, _index_bars(symbol, module.load()).loc[:, list(BAR_COLUMNS)]

    def raw_bar_sources(self) -> Iterator[tuple[str, str, pd.DataFrame]]:
        """Yield (interval, provenance tag, raw bars with adj_factor) per package: what the lake stores."""
        wanted = set(self.symbols)
        if wanted & set(BOKEH_SYMBOLS):
            frame = _bokeh_raw()
            frame = frame.loc[frame["symbol"].isin(wanted), [*BAR_COLUMNS, "adj_factor"]].reset_index(drop=True)
            yield INTERVAL, SOURCE_BOKEH, frame
        for interval, tag, frame in self.bar_sources():
            if tag == SOURCE_ARCH:  # index levels: Adj Close equals Close, nothing to adjust
                yield interval, tag, frame

    def actions(self) -> pd.DataFrame:
        """Splits and cash dividends inside the bundled window, read off the factor's steps."""
        wanted = set(self.symbols) & set(BOKEH_SYMBOLS)
        if not wanted:
            return empty_actions()
        raw = _bokeh_raw()
        return infer_actions(raw.loc[raw["symbol"].isin(wanted)])

    def bars(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """Yield (interval, long bars frame): the port every bar source offers."""
        for interval, _, frame in self.bar_sources():
            yield interval, frame

    def series(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """Yield (name, frame with date and value) for every bundled macro series."""
        yield from _arch_series()
        yield from _statsmodels_series()

    def series_sources(self) -> Iterator[tuple[str, str, pd.DataFrame]]:
        """Like ``series`` but with the provenance tag."""
        for name, frame in self.series():
            source = SOURCE_STATSMODELS if name in _MACRODATA_COLUMNS.values() else SOURCE_ARCH
            yield name, source, frame


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: rows written and quarantined per symbol, observations per series."""

    written: Mapping[str, int] = field(default_factory=dict)
    quarantined: Mapping[str, int] = field(default_factory=dict)
    unchanged: Mapping[str, int] = field(default_factory=dict)
    series: Mapping[str, int] = field(default_factory=dict)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols the import touched."""
        return tuple(sorted(set(self.written) | set(self.quarantined) | set(self.unchanged)))

    @property
    def series_names(self) -> tuple[str, ...]:
        """Series the import touched."""
        return tuple(sorted(self.series))


def import_bundled(lake: Lake, source: BundledSource | None = None) -> ImportReport:
    """Fill the lake from bundled package data; idempotent, so running it twice leaves the same lake."""
    src = source or BundledSource()
    written: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    for interval, tag, frame in src.raw_bar_sources():
        for symbol, rows in frame.groupby("symbol", sort=True):
            report = lake.write_bars(rows, interval, tag)
            written[str(symbol)] = report.written
            quarantined[str(symbol)] = report.quarantined
            unchanged[str(symbol)] = report.unchanged
    lake.write_actions(src.actions(), SOURCE_BOKEH)
    series: dict[str, int] = {}
    for name, tag, frame in src.series_sources():
        lake.write_series(name, frame, tag)
        series[name] = len(frame)
    log.info(
        "bundled import: %d bar row(s) written, %d unchanged, %d quarantined; %d series",
        sum(written.values()),
        sum(unchanged.values()),
        sum(quarantined.values()),
        len(series),
    )
    return ImportReport(written=written, quarantined=quarantined, unchanged=unchanged, series=series)
