"""The bundled demo data comes from the [demo] extra: without its packages the source says which extra to install."""

from __future__ import annotations

import sys

import pytest

from papertrader.core.errors import DataError
from papertrader.data.adapters.bundled import BundledSource, demo_module


@pytest.mark.parametrize("module", ["bokeh_sampledata", "statsmodels"])
def test_a_missing_demo_package_names_the_demo_extra(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the package looks like to import
    with pytest.raises(DataError, match=rf"needs {module}, which is not installed: pip install 'papertrader\[demo\]'"):
        demo_module(f"{module}.anything")


def test_bundled_bars_without_bokeh_sampledata_fail_with_the_extra_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bokeh_sampledata", None)
    monkeypatch.setitem(sys.modules, "bokeh_sampledata.stocks", None)
    with pytest.raises(DataError, match=r"papertrader\[demo\]"):
        list(BundledSource(symbols=("AAPL",)).bars())
