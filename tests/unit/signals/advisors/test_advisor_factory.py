"""Which advisors join a run: only with a key, only when enabled, and on history only when opted in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from papertrader.config.advisors import AdvisorKeys, AdvisorsSettings, ClaudeSettings, GrokSettings
from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.signals.advisors import advisor_members, advisor_plan

CLOCK = SimClock(datetime(2024, 5, 1, tzinfo=UTC))
ALL_UNSET = {"xai_api_key": None, "moonshot_api_key": None, "anthropic_api_key": None}


def _keys(**set_: str) -> AdvisorKeys:
    return AdvisorKeys(**{**ALL_UNSET, **{k: SecretStr(v) for k, v in set_.items()}})  # type: ignore[arg-type]


def test_without_keys_no_advisor_joins_even_live() -> None:
    assert advisor_members(AdvisorsSettings(), 5, CLOCK, historical=False, keys=_keys()) == []
    plans = advisor_plan(AdvisorsSettings(), _keys(), historical=False)
    assert [p.why for p in plans] == [
        "XAI_API_KEY is not set",
        "MOONSHOT_API_KEY is not set",
        "ANTHROPIC_API_KEY is not set",
    ]


def test_a_blank_key_counts_as_unset() -> None:
    assert advisor_members(AdvisorsSettings(), 5, CLOCK, historical=False, keys=_keys(xai_api_key="  ")) == []


def test_on_history_advisors_stay_off_unless_opted_in() -> None:
    keys = _keys(xai_api_key="fake-xai-test-key", anthropic_api_key="fake-anthropic-test-key")
    assert advisor_members(AdvisorsSettings(), 5, CLOCK, historical=True, keys=keys) == []
    assert "IN_BACKTESTS" in advisor_plan(AdvisorsSettings(), keys, historical=True)[0].why
    opted = AdvisorsSettings(claude=ClaudeSettings(in_backtests=True))
    members = advisor_members(opted, 5, CLOCK, historical=True, keys=keys)
    assert [m.name for m in members] == ["claude"]
    live = advisor_members(AdvisorsSettings(), 5, CLOCK, historical=False, keys=keys)
    assert [(m.name, m.timeframe, m.horizon_bars) for m in live] == [("grok", "advisor", 5), ("claude", "advisor", 5)]
    assert live[0].required_features() == ("close", "volume")
    for m in (*members, *live):
        m.close()


def test_an_advisor_switched_off_does_not_join_even_with_a_key() -> None:
    keys = _keys(xai_api_key="fake-xai-test-key")
    assert (
        advisor_members(AdvisorsSettings(grok=GrokSettings(enabled=False)), 5, CLOCK, historical=False, keys=keys) == []
    )


def test_keys_come_from_the_vendor_variables_and_never_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_API_KEY", "fake-key-from-env")
    monkeypatch.delenv("MOONSHOT_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    keys = AdvisorKeys(_env_file=None)
    secret = keys.key("grok")
    assert secret is not None and secret.get_secret_value() == "fake-key-from-env"
    assert keys.key("kimi") is None
    assert "fake-key-from-env" not in repr(keys) and "fake-key-from-env" not in str(keys)
    settings = Settings(_env_file=None)
    assert "fake-key-from-env" not in settings.model_dump_json(), "run settings (stored with every run) hold no key"


def test_advisor_settings_are_read_from_nested_papertrader_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_ADVISORS__CLAUDE__MODEL", "claude-sonnet-4-5")
    monkeypatch.setenv("PAPERTRADER_ADVISORS__CLAUDE__IN_BACKTESTS", "true")
    monkeypatch.setenv("PAPERTRADER_ADVISORS__KIMI__DAILY_BUDGET", "40")
    advisors = Settings(_env_file=None).advisors
    assert advisors.claude.model == "claude-sonnet-4-5" and advisors.claude.in_backtests
    assert advisors.claude.wire == "anthropic" and advisors.claude.base_url == "https://api.anthropic.com"
    assert advisors.kimi.daily_budget == 40 and advisors.kimi.temperature is None
    assert advisors.grok == GrokSettings()
