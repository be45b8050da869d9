"""API keys never reach logs, exception messages or tracebacks, reprs, or the database file."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import httpx
import pytest
from av_fake import FakeAlphaVantage, bodies, json_reply, keyfixtures

from papertrader.config.alphavantage import AlphaVantageKeySettings
from papertrader.core.errors import PapertraderError
from papertrader.data.adapters.alphavantage import AlphaVantageSource

PREMIUM = keyfixtures.PREMIUM_SECRET
FUND = keyfixtures.FUND_SECRET
MACRO = keyfixtures.MACRO_SECRET
SENT = keyfixtures.SENT_SECRET
SECRETS = (PREMIUM, FUND, MACRO, SENT)


def _echo_url_failure(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.url}", request=request)


def _echo_key_notice(request: httpx.Request) -> httpx.Response:
    key = request.url.params["apikey"]
    notice = f"Key {key}: please consider spreading out your free API requests more sparingly (1 request per second)."
    return json_reply({"Information": notice})


def _exercise(source: AlphaVantageSource, fake: FakeAlphaVantage) -> list[BaseException]:
    """Drive the client through every failure path, collecting what was raised."""
    fake.script(PREMIUM, _echo_url_failure, _echo_url_failure, _echo_url_failure, _echo_url_failure)
    fake.script(FUND, _echo_key_notice, json_reply(bodies.BAD_KEY))
    fake.script(MACRO, json_reply(bodies.DAILY_CAP))
    fake.script(SENT, httpx.Response(500, text=f"upstream error for apikey={SENT}"), json_reply(bodies.BAD_CALL))
    raised: list[BaseException] = []
    calls = (
        lambda: source.client.global_quote("IBM"),
        lambda: source.client.overview("IBM"),
        lambda: source.client.cpi(),
        lambda: source.client.news_sentiment(tickers=["IBM"]),
        lambda: source.client.earnings("IBM"),
        lambda: source.client.intraday("IBM"),
    )
    for call in calls:
        try:
            call()
        except PapertraderError as exc:
            raised.append(exc)
    suspended = lambda r: json_reply({"Information": f"Key {r.url.params['apikey']} is suspended."})  # noqa: E731
    fake.script(PREMIUM, *[suspended] * 4)  # an unknown notice, retried, then raised with the vendor's words
    with pytest.raises(PapertraderError, match="is suspended") as info:
        source.client.daily("IBM")
    raised.append(info.value)
    return raised


def test_keys_never_appear_in_logs_errors_reprs_or_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PREMIUM", PREMIUM)
    monkeypatch.setenv("PAPERTRADER_AV_KEY_PRIMARY", FUND)
    monkeypatch.setenv("PAPERTRADER_AV_KEY_SECONDARY", MACRO)
    monkeypatch.setenv("PAPERTRADER_AV_KEYS", f"{SENT}:free:sentiment,{FUND}:free:any")
    caplog.set_level(logging.DEBUG)
    fake = FakeAlphaVantage()
    clock = keyfixtures.sim_clock()
    source = AlphaVantageSource.from_env(
        clock=clock,
        db_url=f"sqlite:///{tmp_path / 'papertrader.db'}",
        settings=keyfixtures.av_settings(max_retries=3),
        transport=fake.transport(),
        sleep=keyfixtures.SimSleep(clock),
    )

    raised = _exercise(source, fake)

    assert len(fake.requests) >= 8, "the failure paths were not exercised"
    assert "apikey=***" in caplog.text, "httpx's request log line was expected, redacted"
    assert raised, "some calls were expected to fail"
    texts = [caplog.text]
    for exc in raised:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args)]
        assert exc.__context__ is None or isinstance(exc.__context__, PapertraderError)
    texts += [
        repr(source),
        repr(source.client),
        repr(source.client.keys),
        repr(source.client.keys.keys),
        repr(source.client.keys.status()),
        repr(AlphaVantageKeySettings()),
    ]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    database = b"".join(p.read_bytes() for p in tmp_path.glob("papertrader.db*"))
    assert database, "the usage database was expected on disk"
    for secret in SECRETS:
        assert secret.encode() not in database
        assert secret.encode("utf-16-le") not in database
