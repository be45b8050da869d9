"""Single-use refresh tokens: rotated, persisted atomically (0600) before use, never reused, never shown."""

from __future__ import annotations

import logging
import os
import stat
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from questrade_fakes import BOOTSTRAP, FakeQuestrade, make_client, stored_token

from papertrader.core.errors import AuthError, ConfigError, PapertraderError
from papertrader.data.adapters.questrade import QuestradeClient, Secret, TokenStore


class Crash(BaseException):
    """Stands for the process dying (not an Exception, so nothing catches it)."""


def test_bootstrap_uses_the_env_token_once_then_the_rotated_token_from_disk(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path)
    client.time()
    assert fake.refresh_tokens_received == [BOOTSTRAP]
    assert stored_token(tmp_path) == "rt-0001-secretrefresh"
    # a restarted process with the same environment continues the chain from disk
    again, _ = make_client(fake, tmp_path)
    again.time()
    assert fake.refresh_tokens_received == [BOOTSTRAP, "rt-0001-secretrefresh"]
    assert stored_token(tmp_path) == "rt-0002-secretrefresh"


def test_new_refresh_token_is_on_disk_before_the_access_token_is_first_used(tmp_path: Path) -> None:
    seen_on_disk: list[str] = []
    fake = FakeQuestrade(on_api=lambda request: seen_on_disk.append(stored_token(tmp_path)))
    client, _ = make_client(fake, tmp_path)
    client.time()
    assert seen_on_disk == ["rt-0001-secretrefresh"]


def test_crash_right_after_the_token_response_keeps_the_new_token_and_never_reuses_the_old(tmp_path: Path) -> None:
    def die(request: httpx.Request) -> None:
        raise Crash

    fake = FakeQuestrade(on_api=die)
    client, _ = make_client(fake, tmp_path)
    with pytest.raises(Crash):
        client.time()
    assert stored_token(tmp_path) == "rt-0001-secretrefresh"
    # restart: the environment still holds the spent bootstrap token; it must not be sent again
    fake.on_api = None
    restarted, _ = make_client(fake, tmp_path)
    assert len(restarted.accounts()) == 3
    assert fake.refresh_tokens_received == [BOOTSTRAP, "rt-0001-secretrefresh"]
    assert len(set(fake.refresh_tokens_received)) == len(fake.refresh_tokens_received)


def test_when_the_new_token_cannot_be_saved_the_access_token_is_never_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path)
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConfigError, match="cannot save the rotated Questrade refresh token") as caught:
        client.time()
    assert fake.api_requests == []
    assert "rt-0001" not in str(caught.value)
    assert not list((tmp_path / "secrets").glob("*.tmp")), "the temp file is cleaned up"


def test_an_unusable_token_directory_is_a_config_error_before_any_request(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path, token_file=blocker / "token.json")
    with pytest.raises(ConfigError):
        client.time()
    assert fake.api_requests == [] and fake.refresh_tokens_received == []


def test_token_file_is_owner_only_0600_and_loosened_modes_are_tightened(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path)
    client.time()
    path = tmp_path / "secrets" / "questrade-token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    os.chmod(path, 0o644)
    TokenStore(path).load()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_new_env_token_after_reauthorising_replaces_the_stored_chain(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    make_client(fake, tmp_path)[0].time()
    fake.valid_refresh = {"FRESH-from-portal"}
    client, _ = make_client(fake, tmp_path, refresh_token="FRESH-from-portal")
    client.time()
    assert fake.refresh_tokens_received[-1] == "FRESH-from-portal"
    assert stored_token(tmp_path) == "rt-0002-secretrefresh"


def test_no_token_in_env_or_on_disk_is_an_auth_error_saying_what_to_set(tmp_path: Path) -> None:
    client, _ = make_client(FakeQuestrade(), tmp_path, refresh_token=None)
    with pytest.raises(AuthError, match="PAPERTRADER_QUESTRADE_REFRESH_TOKEN"):
        client.time()


def test_refused_refresh_token_is_an_auth_error_and_is_not_sent_twice(tmp_path: Path) -> None:
    fake = FakeQuestrade(valid_refresh=set())
    client, _ = make_client(fake, tmp_path)
    for _ in range(2):
        with pytest.raises(AuthError, match="refused") as caught:
            client.time()
        assert BOOTSTRAP not in str(caught.value)
    assert fake.refresh_tokens_received == [BOOTSTRAP]


def test_access_token_is_refreshed_before_it_expires_on_the_injected_clock(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    client, clock = make_client(fake, tmp_path)
    client.time()
    clock.advance_to(clock.now() + timedelta(seconds=1700))
    client.time()
    assert fake.issued == 1
    clock.advance_to(clock.now() + timedelta(seconds=60))  # within the 60 s margin of 1800 s
    client.time()
    assert fake.issued == 2
    assert [r.headers["authorization"][-17:] for r in fake.api_requests] == ["0001-secretaccess"] * 2 + [
        "0002-secretaccess"
    ]


def test_concurrent_callers_share_one_refresh(tmp_path: Path) -> None:
    fake = FakeQuestrade()
    client, _ = make_client(fake, tmp_path)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.time()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for exc in errors:  # the fake skips (without ../shared recordings) from inside the threads: skip here too
        if isinstance(exc, pytest.skip.Exception):
            raise exc
    assert errors == [] and fake.issued == 1


def test_tokens_never_appear_in_logs_errors_or_reprs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeQuestrade()
    fake.scripted = [lambda request: httpx.Response(401, json={"code": 1017, "message": "Access token is invalid"})]
    client, _ = make_client(fake, tmp_path)
    client.time()  # bootstrap, a 401, a refresh and a retry
    fake.scripted = [
        lambda request: httpx.Response(400, json={"code": 1003, "message": f"bad {request.headers['authorization']}"})
    ]
    with pytest.raises(PapertraderError) as caught:
        client.markets()
    texts = [
        caplog.text,
        str(caught.value),
        repr(caught.value),
        repr(client),
        repr(client.auth),
        repr(client.auth.session()),
    ]
    tokens = [
        BOOTSTRAP,
        *(f"rt-{i:04d}-secretrefresh" for i in range(1, 4)),
        *(f"at-{i:04d}-secretaccess" for i in range(1, 4)),
    ]
    for text in texts:
        for token in tokens:
            assert token not in text, f"token leaked into {text[:80]!r}"
    assert repr(Secret("abc")) == str(Secret("abc")) == "Secret('***')"


def test_client_repr_and_settings_repr_hide_the_bootstrap_token(tmp_path: Path) -> None:
    client, _ = make_client(FakeQuestrade(), tmp_path)
    assert BOOTSTRAP not in repr(client.settings) and BOOTSTRAP not in repr(client)
    assert isinstance(client, QuestradeClient)
