"""Questrade settings: PAPERTRADER_QUESTRADE_* and .env, the token file under PAPERTRADER_HOME, a masked token."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from papertrader.config.questrade import DEFAULT_QUESTRADE_LOGIN_URL, QuestradeSettings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("LOGIN_URL", "REFRESH_TOKEN", "TOKEN_FILE", "MAX_CANDLES_PER_REQUEST"):
        monkeypatch.delenv(f"PAPERTRADER_QUESTRADE_{name}", raising=False)
    monkeypatch.setenv("PAPERTRADER_HOME", str(tmp_path / "home"))


def test_defaults_point_at_questrade_login_and_a_token_file_under_home(tmp_path: Path) -> None:
    settings = QuestradeSettings()
    assert settings.login_url == DEFAULT_QUESTRADE_LOGIN_URL == "https://login.questrade.com"
    assert settings.token_file == tmp_path / "home" / "secrets" / "questrade-token.json"
    assert settings.max_candles_per_request == 2000 and settings.refresh_token is None


def test_env_vars_set_login_url_and_the_bootstrap_token_which_stays_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_LOGIN_URL", "http://127.0.0.1:9000/")
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_REFRESH_TOKEN", "very-secret-refresh")
    settings = QuestradeSettings()
    assert settings.login_url == "http://127.0.0.1:9000"
    assert settings.refresh_token is not None and settings.refresh_token.get_secret_value() == "very-secret-refresh"
    assert "very-secret-refresh" not in repr(settings) and "very-secret-refresh" not in str(settings)


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PAPERTRADER_QUESTRADE_MAX_CANDLES_PER_REQUEST=500\n")
    assert QuestradeSettings().max_candles_per_request == 500


def test_page_size_cannot_exceed_questrades_limit_and_settings_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        QuestradeSettings(max_candles_per_request=2001)
    settings = QuestradeSettings()
    with pytest.raises(pydantic.ValidationError):
        settings.timeout_s = 1.0  # type: ignore[misc]
