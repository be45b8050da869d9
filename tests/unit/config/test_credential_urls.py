"""Vendor URLs that carry a key or token: https, or plain http only to this machine (a local fake)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from papertrader.config.alphavantage import AlphaVantageSettings
from papertrader.config.questrade import QuestradeSettings
from papertrader.core.net import credential_url, is_loopback

SAFE = [
    "https://www.alphavantage.co/query",
    "https://proxy.example:8443/q",
    "http://127.0.0.1:9/query",
    "http://127.5.6.7/query",
    "http://localhost:8000/query",
    "http://[::1]:8000/query",
]
CLEAR = [
    "http://www.alphavantage.co/query",
    "http://10.0.0.5/query",
    "http://127.0.0.1.evil.example/query",
    "http://localhost.evil.example/q",
    "ftp://127.0.0.1/q",
    "https:///nohost",
    "www.alphavantage.co/query",
]


@pytest.mark.parametrize("url", SAFE)
def test_https_and_loopback_http_are_accepted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_URL", url)
    assert AlphaVantageSettings().url == url


@pytest.mark.parametrize("url", CLEAR)
def test_a_key_is_never_sent_in_clear_to_another_machine(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_URL", url)
    with pytest.raises(ValidationError, match="https://"):
        AlphaVantageSettings()


def test_the_questrade_login_url_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_LOGIN_URL", "http://login.questrade.com")
    with pytest.raises(ValidationError, match="token"):
        QuestradeSettings()
    monkeypatch.setenv("PAPERTRADER_QUESTRADE_LOGIN_URL", "http://127.0.0.1:9000/")
    assert QuestradeSettings().login_url == "http://127.0.0.1:9000"


def test_loopback_is_decided_by_parsing_the_address() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("LOCALHOST")
    assert not is_loopback("0.0.0.0") and not is_loopback("127.0.0.1.nip.io") and not is_loopback("")
    with pytest.raises(ValueError, match="not a URL"):
        credential_url("http://[::1/q", "X")
