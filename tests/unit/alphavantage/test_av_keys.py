"""The key manager: budgets, persistence, resets, retirement, backoff, routing, configuration and masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from av_keyfixtures import (
    FUND_SECRET,
    MACRO_SECRET,
    PREMIUM_SECRET,
    SENT_SECRET,
    SimSleep,
    av_settings,
    db_engine,
    manager,
    sim_clock,
    standard_keys,
)
from pydantic import SecretStr

from papertrader.config.alphavantage import AlphaVantageKeySettings
from papertrader.core.errors import ConfigError, QuotaExhaustedError
from papertrader.data.adapters.alphavantage.keys import (
    EASTERN,
    ApiKey,
    KeyBudgetExhaustedError,
    KeyOutcome,
    KeyTierError,
    NoKeysError,
    Purpose,
    Tier,
    fingerprint,
    keys_from_settings,
    make_key,
    mask,
    next_eastern_midnight,
    parse_key_list,
)


def _free(budget: int = 3, *, spacing: float = 2.5) -> ApiKey:
    return make_key(FUND_SECRET, Tier.FREE, Purpose.FUNDAMENTALS, av_settings(free_min_spacing_s=spacing), budget)


# --- configuration -----------------------------------------------------------------------------------


def test_named_variables_give_premium_market_and_free_purpose_keys() -> None:
    settings = av_settings()
    keys = keys_from_settings(
        AlphaVantageKeySettings(
            _env_file=None,  # type: ignore[call-arg]
            key_premium=SecretStr(PREMIUM_SECRET),
            key_primary=SecretStr(FUND_SECRET),
            key_secondary=SecretStr(MACRO_SECRET),
            key_sentiment=SecretStr(SENT_SECRET),
        ),
        settings,
    )
    assert [(k.tier, k.purpose, k.budget) for k in keys] == [
        (Tier.PREMIUM, Purpose.MARKET, 75),
        (Tier.FREE, Purpose.FUNDAMENTALS, 25),
        (Tier.FREE, Purpose.MACRO, 25),
        (Tier.FREE, Purpose.SENTIMENT, 25),
    ]
    assert keys[1].min_spacing_s == 2.5 and keys[0].min_spacing_s == 0.0


def test_key_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", PREMIUM_SECRET)
    monkeypatch.setenv("PAPERTRADER_AV_KEYS", f"{FUND_SECRET}:free:fundamentals")
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_URL", "http://127.0.0.1:9/query")
    monkeypatch.setenv("PAPERTRADER_ALPHAVANTAGE_FREE_PER_DAY", "20")
    settings = av_settings()
    assert settings.url == "http://127.0.0.1:9/query" and settings.free_per_day == 20
    keys = keys_from_settings(AlphaVantageKeySettings(_env_file=None), settings)  # type: ignore[call-arg]
    assert [(k.tier, k.budget) for k in keys] == [(Tier.PREMIUM, 75), (Tier.FREE, 20)]
    assert PREMIUM_SECRET not in repr(AlphaVantageKeySettings(_env_file=None))  # type: ignore[call-arg]


def test_key_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"PAPERTRADER_AV_KEY_SENTIMENT={SENT_SECRET}\n")
    keys = keys_from_settings(AlphaVantageKeySettings(_env_file=env), av_settings())  # type: ignore[call-arg]
    assert [(k.purpose, k.masked) for k in keys] == [(Purpose.SENTIMENT, "SE…04")]


def test_key_list_format_with_defaults_budgets_and_separators() -> None:
    keys = parse_key_list(
        f" {PREMIUM_SECRET}:premium::150 ;{FUND_SECRET}:free:fundamentals,\n{MACRO_SECRET} ", av_settings()
    )
    assert [(k.tier, k.purpose, k.budget) for k in keys] == [
        (Tier.PREMIUM, Purpose.MARKET, 150),
        (Tier.FREE, Purpose.FUNDAMENTALS, 25),
        (Tier.FREE, Purpose.ANY, 25),
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f"{FUND_SECRET}:gold", "entry 1: tier"),
        (f"{MACRO_SECRET},{FUND_SECRET}:free:stocks", "entry 2: purpose"),
        (f"{FUND_SECRET}:free:any:lots", "entry 1: budget"),
        (f"{FUND_SECRET}:free:any:0", "entry 1: budget"),
        (f"{FUND_SECRET}:free:any:5:extra", "entry 1: expected"),
        ("bad$key:free", "entry 1: the key"),
        (f"premium:{FUND_SECRET}", "entry 1: tier"),
    ],
)
def test_key_list_errors_name_the_entry_never_its_content(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_key_list(text, av_settings())
    assert FUND_SECRET not in str(info.value) and MACRO_SECRET not in str(info.value)


def test_a_key_configured_twice_is_used_once() -> None:
    keys = keys_from_settings(
        AlphaVantageKeySettings(
            _env_file=None,  # type: ignore[call-arg]
            key_primary=SecretStr(FUND_SECRET),
            keys=SecretStr(f"{FUND_SECRET}:free:macro"),
        ),
        av_settings(),
    )
    assert len(keys) == 1 and keys[0].purpose is Purpose.FUNDAMENTALS


def test_mask_shows_at_most_two_characters_at_each_end() -> None:
    assert mask("ABCDEFGHIJKLMNYZ") == "AB…YZ"
    assert mask("SHORT") == "…"
    key = make_key(PREMIUM_SECRET, Tier.PREMIUM, Purpose.MARKET, av_settings())
    assert PREMIUM_SECRET not in repr(key) and PREMIUM_SECRET not in str(key)
    assert key.masked == "PR…01" and key.reveal() == PREMIUM_SECRET
    assert key.fingerprint == fingerprint(PREMIUM_SECRET) and len(key.fingerprint) == 64


# --- budgets ------------------------------------------------------------------------------------------


def test_free_key_budget_is_enforced_with_the_next_slot_at_new_york_midnight(tmp_path: Path) -> None:
    clock = sim_clock("2024-03-08 15:00")
    keys = manager(db_engine(tmp_path), clock, [_free(budget=3, spacing=0)])
    for _ in range(3):
        keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    with pytest.raises(KeyBudgetExhaustedError) as info:
        keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    assert isinstance(info.value, QuotaExhaustedError)
    assert info.value.available_at == datetime(2024, 3, 9, 0, 0, tzinfo=EASTERN)
    assert "2024-03-09T00:00:00-05:00" in str(info.value)


def test_free_key_keeps_its_minimum_spacing_by_sleeping(tmp_path: Path) -> None:
    clock = sim_clock()
    sleep = SimSleep(clock)
    keys = manager(db_engine(tmp_path), clock, [_free(budget=5)], sleep=sleep)
    first = keys.acquire(Purpose.FUNDAMENTALS)
    second = keys.acquire(Purpose.FUNDAMENTALS)
    assert sleep.calls == [2.5]
    assert second.reserved_at - first.reserved_at == timedelta(seconds=2.5)


def test_premium_key_is_limited_per_rolling_minute(tmp_path: Path) -> None:
    clock = sim_clock()
    sleep = SimSleep(clock)
    premium = make_key(PREMIUM_SECRET, Tier.PREMIUM, Purpose.MARKET, av_settings(), budget=3)
    keys = manager(db_engine(tmp_path), clock, [premium], sleep=sleep)
    start = clock.now()
    for seconds in (0, 10, 20):
        clock.advance_to(start + timedelta(seconds=seconds))
        keys.acquire(Purpose.MARKET)
    with pytest.raises(KeyBudgetExhaustedError) as info:
        keys.acquire(Purpose.MARKET, max_wait_s=0)
    assert info.value.available_at == start + timedelta(seconds=60)
    lease = keys.acquire(Purpose.MARKET)  # waits for the oldest request to leave the window
    assert lease.reserved_at == start + timedelta(seconds=60)
    assert sleep.calls == [40.0]


def test_usage_persists_across_a_restart(tmp_path: Path) -> None:
    clock = sim_clock()
    first = manager(db_engine(tmp_path), clock, [_free(budget=3, spacing=0)])
    first.acquire(Purpose.FUNDAMENTALS)
    first.acquire(Purpose.FUNDAMENTALS)
    restarted = manager(db_engine(tmp_path), clock, [_free(budget=3, spacing=0)])
    assert restarted.status()[0].used == 2
    restarted.acquire(Purpose.FUNDAMENTALS)
    with pytest.raises(KeyBudgetExhaustedError):
        restarted.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)


def test_spacing_persists_across_a_restart(tmp_path: Path) -> None:
    clock = sim_clock()
    manager(db_engine(tmp_path), clock, [_free()]).acquire(Purpose.FUNDAMENTALS)
    sleep = SimSleep(clock)
    manager(db_engine(tmp_path), clock, [_free()], sleep=sleep).acquire(Purpose.FUNDAMENTALS)
    assert sleep.calls == [2.5]


def test_daily_budget_resets_at_midnight_new_york_across_dst(tmp_path: Path) -> None:
    clock = sim_clock("2024-03-10 03:00")  # 2024-03-09 22:00 EST; DST starts at 02:00 on 2024-03-10
    keys = manager(db_engine(tmp_path), clock, [_free(budget=1)])
    keys.acquire(Purpose.FUNDAMENTALS)
    with pytest.raises(KeyBudgetExhaustedError) as info:
        keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    assert info.value.available_at == datetime(2024, 3, 10, 5, 0, tzinfo=UTC)  # midnight EST
    clock.advance_to(datetime(2024, 3, 10, 4, 59, 59, tzinfo=UTC))
    with pytest.raises(KeyBudgetExhaustedError):
        keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    clock.advance_to(datetime(2024, 3, 10, 5, 0, tzinfo=UTC))
    keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    # The next reset is midnight EDT (04:00 UTC), 23 hours later.
    assert next_eastern_midnight(clock.now()) == datetime(2024, 3, 11, 4, 0, tzinfo=UTC)


# --- outcomes -----------------------------------------------------------------------------------------


def test_daily_cap_answer_retires_the_key_until_midnight_even_after_a_restart(tmp_path: Path) -> None:
    clock = sim_clock("2024-03-08 15:00")
    keys = manager(db_engine(tmp_path), clock, [_free(budget=25)])
    lease = keys.acquire(Purpose.FUNDAMENTALS)
    keys.record(lease, KeyOutcome.DAILY_CAP)
    restarted = manager(db_engine(tmp_path), clock, [_free(budget=25)])
    with pytest.raises(KeyBudgetExhaustedError) as info:
        restarted.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)
    midnight = datetime(2024, 3, 9, 0, 0, tzinfo=EASTERN)
    assert info.value.available_at == midnight
    row = restarted.status()[0]
    assert row.retired_until == midnight and row.retired_reason == "daily cap answered" and row.remaining == 0
    clock.advance_to(midnight.astimezone(UTC))
    restarted.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)


def test_bad_key_answer_retires_the_key(tmp_path: Path) -> None:
    clock = sim_clock()
    keys = manager(db_engine(tmp_path), clock, [_free()])
    keys.record(keys.acquire(Purpose.FUNDAMENTALS), KeyOutcome.BAD_KEY)
    assert keys.status()[0].retired_reason == "key refused"


def test_burst_answers_back_off_exponentially_with_injected_jitter(tmp_path: Path) -> None:
    clock = sim_clock()
    sleep = SimSleep(clock)
    settings = av_settings(burst_backoff_base_s=2.0, burst_backoff_max_s=5.0)
    keys = manager(db_engine(tmp_path), clock, [_free(budget=25, spacing=0)], settings, jitter=0.5, sleep=sleep)
    # jitter 0.5 scales each delay by 0.75: 2 -> 1.5, 4 -> 3.0, capped 5 -> 3.75
    delays = [keys.record(keys.acquire(Purpose.FUNDAMENTALS), KeyOutcome.THROTTLED) for _ in range(3)]
    assert delays == [1.5, 3.0, 3.75]
    assert sleep.calls == [1.5, 3.0]  # each acquire waited out the previous backoff
    keys.acquire(Purpose.FUNDAMENTALS)
    assert sleep.calls[-1] == 3.75
    keys.record(keys.acquire(Purpose.FUNDAMENTALS), KeyOutcome.OK)
    assert keys.record(keys.acquire(Purpose.FUNDAMENTALS), KeyOutcome.THROTTLED) == 1.5  # reset by success


def test_jitter_spreads_backoffs_between_half_and_full_delay(tmp_path: Path) -> None:
    clock = sim_clock()
    low = manager(db_engine(tmp_path), clock, [_free()], jitter=0.0)
    high = manager(db_engine(tmp_path), clock, [_free()], jitter=1.0)
    assert low.backoff_delay(1) == 1.0 and high.backoff_delay(1) == 2.0


def test_http_retry_after_sets_a_floor_on_the_backoff(tmp_path: Path) -> None:
    clock = sim_clock()
    keys = manager(db_engine(tmp_path), clock, [_free()])
    assert keys.record(keys.acquire(Purpose.FUNDAMENTALS), KeyOutcome.THROTTLED, min_backoff_s=30) == 30


# --- routing ------------------------------------------------------------------------------------------


def test_routing_prefers_purpose_then_any_then_the_others_with_premium_for_market(tmp_path: Path) -> None:
    settings = av_settings()
    spare = make_key("SPAREKEY00000005", Tier.FREE, Purpose.ANY, settings)
    keys = manager(db_engine(tmp_path), sim_clock(), [*standard_keys(settings), spare])
    masked = lambda purpose: [k.masked for k in keys.route(purpose)]  # noqa: E731
    assert masked(Purpose.MARKET) == ["PR…01", "SP…05", "FU…02", "MA…03", "SE…04"]
    assert masked(Purpose.FUNDAMENTALS) == ["FU…02", "SP…05", "MA…03", "SE…04", "PR…01"]
    assert masked(Purpose.SENTIMENT)[:2] == ["SE…04", "SP…05"]
    assert [k.masked for k in keys.route(Purpose.MARKET, premium_only=True)] == ["PR…01"]


def test_an_exhausted_purpose_key_falls_back_to_another_free_key(tmp_path: Path) -> None:
    settings = av_settings(free_min_spacing_s=0)
    fundamentals = make_key(FUND_SECRET, Tier.FREE, Purpose.FUNDAMENTALS, settings, budget=1)
    macro = make_key(MACRO_SECRET, Tier.FREE, Purpose.MACRO, settings, budget=1)
    keys = manager(db_engine(tmp_path), sim_clock(), [fundamentals, macro], settings)
    assert keys.acquire(Purpose.FUNDAMENTALS).key == fundamentals
    assert keys.acquire(Purpose.FUNDAMENTALS).key == macro
    with pytest.raises(KeyBudgetExhaustedError):
        keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0)


def test_premium_only_requests_without_a_premium_key_fail_before_sending(tmp_path: Path) -> None:
    keys = manager(db_engine(tmp_path), sim_clock(), [_free()])
    with pytest.raises(KeyTierError, match="PAPERTRADER_AV_KEY_PREMIUM"):
        keys.acquire(Purpose.MARKET, premium_only=True)
    assert keys.status()[0].used == 0


def test_no_keys_at_all_is_a_config_error_naming_the_variables(tmp_path: Path) -> None:
    keys = manager(db_engine(tmp_path), sim_clock(), [])
    with pytest.raises(NoKeysError, match="PAPERTRADER_AV_KEYS"):
        keys.acquire(Purpose.MACRO)


def test_status_rows_show_masked_keys_with_used_budget_and_remaining(tmp_path: Path) -> None:
    settings = av_settings(free_min_spacing_s=0)
    keys = manager(db_engine(tmp_path), sim_clock(), standard_keys(settings), settings)
    keys.acquire(Purpose.MARKET)
    keys.acquire(Purpose.FUNDAMENTALS)
    keys.acquire(Purpose.FUNDAMENTALS)
    rows = {r.key: r for r in keys.status()}
    assert (rows["PR…01"].used, rows["PR…01"].budget, rows["PR…01"].remaining, rows["PR…01"].window) == (
        1,
        75,
        74,
        "minute",
    )
    assert (rows["FU…02"].used, rows["FU…02"].remaining, rows["FU…02"].window) == (2, 23, "day")
    assert rows["MA…03"].used == 0 and rows["MA…03"].retired_until is None


def test_a_briefly_spaced_preferred_key_is_waited_for_instead_of_spending_a_backup(tmp_path: Path) -> None:
    clock = sim_clock()
    sleep = SimSleep(clock)
    backup = make_key(MACRO_SECRET, Tier.FREE, Purpose.MACRO, av_settings())
    keys = manager(db_engine(tmp_path), clock, [_free(), backup], sleep=sleep)
    assert keys.acquire(Purpose.FUNDAMENTALS).key.masked == "FU…02"
    assert keys.acquire(Purpose.FUNDAMENTALS).key.masked == "FU…02"
    assert sleep.calls == [2.5]


def test_a_caller_that_cannot_wait_gets_the_backup_at_once(tmp_path: Path) -> None:
    clock = sim_clock()
    backup = make_key(MACRO_SECRET, Tier.FREE, Purpose.MACRO, av_settings())
    keys = manager(db_engine(tmp_path), clock, [_free(), backup])
    keys.acquire(Purpose.FUNDAMENTALS)
    assert keys.acquire(Purpose.FUNDAMENTALS, max_wait_s=0).key.masked == "MA…03"
