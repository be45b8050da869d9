"""Yahoo settings come from PAPERTRADER_YAHOO_* and .env, with documented frozen defaults."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from papertrader.config.yahoo import DEFAULT_YAHOO_URL, YahooSettings


def test_default_url_is_the_v8_chart_endpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAPERTRADER_YAHOO_URL", raising=False)
    settings = YahooSettings()
    assert settings.url == DEFAULT_YAHOO_URL == "https://query2.finance.yahoo.com/v8/finance/chart/"
    assert settings.clip_to_lookback is False and settings.events_through_now is True


def test_env_var_overrides_url_for_a_local_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERTRADER_YAHOO_URL", "http://127.0.0.1:8123/v8/finance/chart")
    monkeypatch.setenv("PAPERTRADER_YAHOO_TIMEOUT_S", "2.5")
    settings = YahooSettings()
    assert settings.url == "http://127.0.0.1:8123/v8/finance/chart/"
    assert settings.timeout_s == 2.5


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAPERTRADER_YAHOO_MAX_ATTEMPTS", raising=False)
    (tmp_path / ".env").write_text("PAPERTRADER_YAHOO_MAX_ATTEMPTS=5\n")
    assert YahooSettings().max_attempts == 5


def test_settings_are_frozen_and_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = YahooSettings()
    with pytest.raises(pydantic.ValidationError):
        settings.timeout_s = 1.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        YahooSettings(url="ftp://example.com")
