"""`papertrader data collect` end to end against the fake vendor: each family on its purpose's key, re-run free."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from fake_vendors import FakeVendors
from typer.testing import CliRunner
from vendor_rig import needs_shared

from papertrader.cli.collect import collect
from papertrader.core.clock import WallClock
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake

pytestmark = needs_shared
KEYS = {"fundamentals": "PREMIUMFUNDAM001", "macro": "PREMIUMMACRO0002", "sentiment": "PREMIUMSENTIM003"}


def cli() -> typer.Typer:
    """The command wired the way cli/__init__.py mounts it (into the `data` group)."""
    app = typer.Typer()
    data_app = typer.Typer()
    app.add_typer(data_app, name="data")
    data_app.command("collect")(collect)
    return app


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVendors]:
    with FakeVendors(WallClock()) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("PAPERTRADER_AV_KEYS", ",".join(f"{k}:premium:{p}:75" for p, k in KEYS.items()))
        monkeypatch.setenv("COLUMNS", "200")
        yield server


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli(), ["data", "collect", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_collect_prints_the_budget_stores_each_family_on_its_key_and_a_rerun_sends_nothing(
    fake: FakeVendors, tmp_path: Path
) -> None:
    assert "8 request(s) to send on the fundamentals keys" in invoke(
        "fundamentals", "--symbols", "IBM,NOPE", "--dry-run"
    )
    assert fake.log == []
    report = tmp_path / "fundamentals.json"
    out = invoke("fundamentals", "--symbols", "IBM,NOPE", "--json", str(report))
    assert "4 stored" in out and "3 quarantined" in out and "1 empty" in out
    items = json.loads(report.read_text())["items"]
    assert {i["status"] for i in items if i["subject"] == "NOPE" and i["function"] != "OVERVIEW"} == {"quarantined"}
    invoke("macro")
    invoke("news", "--symbols", "IBM", "--start", "2021-01-01", "--end", "2021-03-01")
    by_key = {r.key for r in fake.requests("alphavantage", symbol="IBM")}
    assert by_key == {KEYS["fundamentals"]}
    assert {r.key for r in fake.requests("alphavantage") if r.symbol is None} == {KEYS["macro"], KEYS["sentiment"]}
    assert len([r for r in fake.log if r.key == KEYS["macro"]]) == 9

    side = SideStore(Lake(tmp_path / "home" / "lake"))
    assert side.symbols("fundamentals") == ["IBM"] and side.symbols("news") == ["IBM"]
    assert len(side.read_news()) == 30  # one article every two days in January and February 2021

    sent = len(fake.log)
    assert "0 request(s)" in invoke("fundamentals", "--symbols", "IBM,NOPE")
    assert "0 request(s)" in invoke("macro")
    assert "0 request(s)" in invoke("news", "--symbols", "IBM", "--start", "2021-01-01", "--end", "2021-03-01")
    assert len(fake.log) == sent
    assert "2 request(s)" in invoke(
        "news", "--symbols", "IBM", "--start", "2020-12-01", "--end", "2021-03-15", "--dry-run"
    )
    assert "collect macro: 9 request(s)" in invoke("macro", "--refresh", "--dry-run")
    assert len(fake.log) == sent
    assert "9 stored" in invoke("macro", "--refresh")
    assert "0 request(s)" in invoke("macro")


def test_collect_without_a_key_says_which_variables_to_set(fake: FakeVendors, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERTRADER_AV_KEYS")
    for var in ("PAPERTRADER_AV_KEY_PREMIUM", "PAPERTRADER_AV_KEY_PRIMARY", "PAPERTRADER_AV_KEY_SECONDARY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("PAPERTRADER_AV_KEY_SENTIMENT", raising=False)
    out = invoke("macro", code=2)
    assert "no Alpha Vantage key" in out and "PAPERTRADER_AV_KEY_SECONDARY" in out
    assert fake.log == []
