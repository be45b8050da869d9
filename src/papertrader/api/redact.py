"""Hide the secrets inside URLs (a DSN's password, `?password=`, `?apikey=`) by parsing them, not by pattern."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "pwd", "auth", "credential", "signature")
MASK = "***"


def secret_name(name: str) -> bool:
    """Whether a setting or query-parameter name says its value is a secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def mask_url(text: str) -> str:
    """The URL with its password and secret query values replaced by ***; anything that is no URL unchanged.

    The user:password part ends at the last `@` before the query (a password may contain `@`, `/` or `:`;
    an empty user, `scheme://:pw@host`, still hides the password). Query parameters named like secrets
    (`password`, `sslpassword`, `apikey`, `token`, ...) are masked whatever their position.
    """
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or not (scheme[0].isalpha() and all(c.isalnum() or c in "+.-" for c in scheme)):
        return text
    before_query, qmark, query_and_fragment = rest.partition("?")
    if "@" in before_query:
        userinfo, _, hostpart = before_query.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            before_query = f"{user}:{MASK}@{hostpart}"
    if qmark:
        query, hashmark, fragment = query_and_fragment.partition("#")
        query = _mask_query(query)
        query_and_fragment = f"{query}{hashmark}{fragment}"
    return f"{scheme}://{before_query}{qmark}{query_and_fragment}"


def _mask_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(secret_name(name) for name, _ in pairs):
        return query
    return urlencode([(name, MASK if secret_name(name) else value) for name, value in pairs], safe="*")
