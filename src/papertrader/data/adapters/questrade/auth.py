"""Questrade's OAuth refresh flow with single-use refresh tokens, persisted before the access token is used.

One refresh, in order, under the token-file lock:

1. pick the refresh token: the stored one, unless the environment holds a token that is not the one the
   stored chain started from (the user re-authorised), or nothing is stored yet (first bootstrap);
2. refuse a token this process has already sent (a spent token is never sent twice);
3. POST ``{login_url}/oauth2/token`` with ``grant_type=refresh_token&refresh_token=...`` as a form body
   (never in the URL, which httpx logs);
4. save the new refresh token atomically (0600) — only then
5. hand out the access token and ``api_server`` (the base URL of every later call).

Failures: a refused token (any 4xx but 429) is an AuthError saying to set a new token, and that token is
never sent again; 429 is RateLimitedError; 5xx and network failures are TemporaryError and leave the token
usable for a retry (if Questrade did rotate it, the retry is refused and says so).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from papertrader.config.questrade import QuestradeSettings
from papertrader.core.clock import Clock
from papertrader.core.errors import AuthError, DataError, RateLimitedError, TemporaryError
from papertrader.data.adapters.questrade.responses import rate_limit_wait
from papertrader.data.adapters.questrade.secret import Secret, scrub
from papertrader.data.adapters.questrade.tokens import TokenStore

log = logging.getLogger(__name__)

_NEW_TOKEN_HINT = "generate a new refresh token in Questrade's API centre and set PAPERTRADER_QUESTRADE_REFRESH_TOKEN"


@dataclass(frozen=True, repr=False)
class Session:
    """A usable access token and the API server it is valid for."""

    access_token: Secret
    api_server: str
    expires_at: datetime
    generation: int = field(default=0)

    def __repr__(self) -> str:
        """Never print the token."""
        return f"Session(api_server={self.api_server!r}, expires_at={self.expires_at.isoformat()}, access_token=***)"


@dataclass(frozen=True, repr=False)
class TokenResponse:
    """The fields of a token answer, validated."""

    access_token: Secret
    refresh_token: Secret
    api_server: str
    expires_in: int

    def __repr__(self) -> str:
        """Never print the tokens."""
        return f"TokenResponse(api_server={self.api_server!r}, expires_in={self.expires_in}, tokens=***)"


def parse_token_response(body: object, *, allow_http: bool = False) -> TokenResponse:
    """Validate a token answer; anything malformed is a DataError that never quotes the body."""
    if not isinstance(body, Mapping):
        raise DataError("Questrade token answer is not a JSON object")
    access, refresh, server, expires = (
        body.get("access_token"),
        body.get("refresh_token"),
        body.get("api_server"),
        body.get("expires_in"),
    )
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise DataError("Questrade token answer lacks access_token or refresh_token")
    schemes = ("https://", "http://") if allow_http else ("https://",)
    if not isinstance(server, str) or not server.startswith(schemes) or len(server) > 300:
        raise DataError("Questrade token answer has no usable https api_server")
    if isinstance(expires, bool) or not isinstance(expires, int | float) or not 0 < expires < 10**7:
        raise DataError("Questrade token answer has no positive expires_in")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise DataError("Questrade token answer is not a Bearer token")
    return TokenResponse(
        Secret(access), Secret(refresh), server if server.endswith("/") else server + "/", int(expires)
    )


class QuestradeAuth:
    """Hands out a valid Session, refreshing (and rotating the stored refresh token) when needed."""

    def __init__(
        self,
        settings: QuestradeSettings,
        http: httpx.Client,
        clock: Clock,
        store: TokenStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or TokenStore(settings.token_file)
        self._http = http
        self._clock = clock
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._spent: set[str] = set()
        self._generation = 0
        env = settings.refresh_token
        self._env_token = Secret(env.get_secret_value()) if env is not None and env.get_secret_value() else None
        #: Token requests sent, for tests and budgets.
        self.refreshes = 0

    def __repr__(self) -> str:
        """Show the token file, never a token."""
        return f"QuestradeAuth(store={self.store!r})"

    def known_secrets(self) -> list[Secret]:
        """Every token this object holds in memory, so error texts can be scrubbed of them."""
        secrets = [self._env_token] if self._env_token is not None else []
        return secrets + ([self._session.access_token] if self._session is not None else [])

    def session(self) -> Session:
        """The current session, refreshed first when it is missing or about to expire."""
        with self._lock:
            current = self._session
            margin = timedelta(seconds=self.settings.token_refresh_margin_s)
            if current is not None and self._clock.now() + margin < current.expires_at:
                return current
            return self.refresh(stale=current)

    def refresh(self, stale: Session | None = None) -> Session:
        """Rotate the refresh token and return a fresh session (unless another caller already did)."""
        with self._lock:
            current = self._session
            someone_else_refreshed = (
                current is not None and stale is not None and current.generation != stale.generation
            )
            if current is not None and someone_else_refreshed and self._clock.now() < current.expires_at:
                return current
            with self.store.locked():
                token, bootstrap = self._pick_token()
                answer = self._request_token(token)
                self.store.save(answer.refresh_token, bootstrap, self._clock.now())
            self._generation += 1
            self._session = Session(
                answer.access_token,
                answer.api_server,
                self._clock.now() + timedelta(seconds=answer.expires_in),
                self._generation,
            )
            log.info(
                "questrade: access token refreshed; api server %s, valid %ds", answer.api_server, answer.expires_in
            )
            return self._session

    def _pick_token(self) -> tuple[Secret, str | None]:
        stored = self.store.load()
        env = self._env_token
        new_env = env is not None and (stored is None or env.fingerprint() != stored.bootstrap_sha256)
        if env is not None and new_env and env.fingerprint() not in self._spent:
            return env, env.fingerprint()
        if stored is None and env is not None:
            raise AuthError(
                f"the Questrade refresh token from the environment was refused or already used; {_NEW_TOKEN_HINT}"
            )
        if stored is None:
            raise AuthError(f"no Questrade refresh token stored at {self.store.path}: {_NEW_TOKEN_HINT}")
        if stored.refresh_token.fingerprint() in self._spent:
            raise AuthError(f"the stored Questrade refresh token was already used; {_NEW_TOKEN_HINT}")
        return stored.refresh_token, stored.bootstrap_sha256

    def _request_token(self, token: Secret) -> TokenResponse:
        url = self.settings.login_url + "/oauth2/token"
        self.refreshes += 1
        try:
            response = self._http.post(url, data={"grant_type": "refresh_token", "refresh_token": token.reveal()})
        except httpx.TimeoutException as exc:
            raise TemporaryError(
                f"Questrade login timed out ({type(exc).__name__}); retry later — if the retry is refused, "
                f"the token was spent: {_NEW_TOKEN_HINT}"
            ) from None
        except httpx.HTTPError as exc:
            raise TemporaryError(f"Questrade login failed ({type(exc).__name__}); retry later") from None
        status = response.status_code
        if status == 429:
            wait = rate_limit_wait(response.headers, self._clock.now())
            raise RateLimitedError("Questrade login throttled (429)", retry_after=wait)
        if status >= 500:
            raise TemporaryError(f"Questrade login server error {status}; retry later")
        # Questrade has now either rotated the token (200) or declared it dead: never send it again.
        self._spent.add(token.fingerprint())
        if status != 200:
            raise AuthError(f"Questrade refused the refresh token (HTTP {status}); {_NEW_TOKEN_HINT}")
        try:
            body = json.loads(response.content.decode("utf-8"))
            return parse_token_response(body, allow_http=self.settings.login_url.startswith("http://"))
        except (UnicodeDecodeError, ValueError, RecursionError, DataError) as exc:
            message = scrub(str(exc), token) if isinstance(exc, DataError) else "unreadable body"
            raise AuthError(f"Questrade's token answer is unusable ({message}); {_NEW_TOKEN_HINT}") from None
