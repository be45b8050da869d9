"""The generated configuration reference: up to date, complete, and naming variables that really work."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from papertrader.config.reference import (
    SettingRow,
    SettingsSection,
    discover_sections,
    render_reference,
    walk,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
REGENERATE = "run `papertrader config reference --write docs/configuration.md` and commit it"


def _rows(section: SettingsSection) -> list[SettingRow]:
    return [item for _, item in walk(section.model, section.prefix, section.delimiter) if isinstance(item, SettingRow)]


def test_committed_configuration_page_matches_the_settings_models() -> None:
    assert DOCS.is_file(), f"docs/configuration.md is missing: {REGENERATE}"
    assert DOCS.read_text(encoding="utf-8") == render_reference(), f"docs/configuration.md is stale: {REGENERATE}"


def test_every_settings_class_is_found_including_vendor_and_api_settings() -> None:
    titles = {s.title for s in discover_sections()}
    assert {
        "Settings",
        "AlphaVantageSettings",
        "AlphaVantageKeySettings",
        "YahooSettings",
        "QuestradeSettings",
        "ApiSettings",
    } <= titles


def test_every_setting_has_a_description_and_appears_on_the_page() -> None:
    page = render_reference()
    undocumented = []
    for section in discover_sections():
        for row in _rows(section):
            assert f"`{row.env}`" in page
            if not row.description:
                undocumented.append(row.env)
    assert not undocumented, f"add description= to these fields: {undocumented}"


def test_nested_settings_use_the_double_underscore_variable_that_pydantic_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from papertrader.config.settings import Settings

    env = {r.env for s in discover_sections() if s.title == "Settings" for r in _rows(s)}
    assert "PAPERTRADER_COSTS__EXECUTION__MAX_VOLUME_FRACTION" in env
    monkeypatch.setenv("PAPERTRADER_COSTS__EXECUTION__MAX_VOLUME_FRACTION", "0.05")
    monkeypatch.setenv("PAPERTRADER_RISK__ETFS", '["SPY","QQQ"]')
    settings = Settings(_env_file=None)
    assert settings.costs.execution.max_volume_fraction == 0.05
    assert settings.risk.etfs == ("SPY", "QQQ")


def test_flipping_each_documented_boolean_variable_flips_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    flipped = 0
    for section in discover_sections():
        for row in _rows(section):
            if row.type_name != "bool":
                continue
            default = row.default == "`true`"
            monkeypatch.setenv(row.env, "false" if default else "true")
            value: object = section.model(_env_file=None)
            for part in row.toml_key.split("."):
                value = getattr(value, part)
            assert value is (not default), row.env
            monkeypatch.delenv(row.env)
            flipped += 1
    assert flipped >= 8


def test_one_advisor_variable_keeps_the_advisors_other_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from papertrader.config.settings import Settings

    if "advisors" not in Settings.model_fields:
        pytest.fail("no advisors settings")
    monkeypatch.setenv("PAPERTRADER_ADVISORS__GROK__ENABLED", "false")
    settings = Settings(_env_file=None)
    assert settings.advisors.grok.enabled is False
    assert settings.advisors.grok.model == "grok-3-mini"


def test_the_page_never_shows_secrets_or_the_machine_it_was_rendered_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean = render_reference()
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path))
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", "SECRETKEY12345")
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_REFRESH_TOKEN", "SECRETTOKEN999")
    page = render_reference()
    assert page == clean
    assert "SECRET" not in page and str(tmp_path) not in page


class _Inner(BaseModel):
    """Synthetic nested model for this unit test only."""

    mode: Literal["a", "b"] = Field("a", description="pick one")
    ratio: float | None = Field(0.5, gt=0, le=1, description="a bounded fraction")


class _Outer(BaseSettings):
    """Synthetic settings for this unit test only."""

    model_config = SettingsConfigDict(env_prefix="X_", env_nested_delimiter="__")

    names: tuple[str, ...] = Field(("B", "A"), description="names")
    inner: _Inner = _Inner()


def test_rows_carry_nested_names_types_defaults_and_bounds() -> None:
    rows = {r.env: r for _, r in walk(_Outer, "X_", "__") if isinstance(r, SettingRow)}
    assert set(rows) == {"X_NAMES", "X_INNER__MODE", "X_INNER__RATIO"}
    assert rows["X_INNER__MODE"].type_name == "one of: `a`, `b`"
    assert rows["X_INNER__RATIO"].type_name == "float | None"
    assert rows["X_INNER__RATIO"].constraints == "> 0, <= 1"
    assert rows["X_INNER__RATIO"].default == "`0.5`"
    assert rows["X_NAMES"].default == "`[B, A]`"
    assert rows["X_INNER__RATIO"].toml_key == "inner.ratio"
