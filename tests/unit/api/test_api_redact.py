"""Database and vendor URLs are shown with their passwords hidden, whatever form the password takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import LOCAL, TOKEN, auth, shared_run
from fastapi.testclient import TestClient

from papertrader.api import create_app
from papertrader.api.app import PREFIX
from papertrader.api.redact import mask_url
from papertrader.config.settings import Settings

SECRET = "not-a-real-password"

FORMS = {
    "postgresql://bob:not-a-real-password@db/pt": "postgresql://bob:***@db/pt",
    "postgresql://:not-a-real-password@h/x": "postgresql://:***@h/x",
    "postgresql://bob:not-a-real-password@with@at@db:5432/pt": "postgresql://bob:***@db:5432/pt",
    "postgresql://bob:not-a-real-password/with:slash@db/pt": "postgresql://bob:***@db/pt",
    "postgresql://db/pt?user=bob&password=not-a-real-password": "postgresql://db/pt?user=bob&password=***",
    "postgresql://bob@db/pt?sslmode=require&sslpassword=not-a-real-password#x": (
        "postgresql://bob@db/pt?sslmode=require&sslpassword=***#x"
    ),
    "https://vendor.example/q?function=X&apikey=not-a-real-password": "https://vendor.example/q?function=X&apikey=***",
    "mysql+pymysql://u:not-a-real-password@h/d?charset=utf8": "mysql+pymysql://u:***@h/d?charset=utf8",
}


@pytest.mark.parametrize(("url", "shown"), FORMS.items())
def test_every_password_form_is_masked_and_the_rest_kept(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize("text", ["plain words: a@b", "sqlite:///home/x.db", "bob@host", "https://h/p@x", "AAPL"])
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert mask_url(text) == text


@pytest.mark.parametrize("url", FORMS)
def test_the_config_route_never_shows_the_database_password(tmp_path: Path, url: str) -> None:
    settings = Settings(home=tmp_path, database_url=url)
    app = create_app(settings, shared_run().repo, token=TOKEN)
    with TestClient(app, base_url=LOCAL) as client:
        response = client.get(f"{PREFIX}/config", headers=auth())
    assert response.status_code == 200
    assert SECRET not in response.text
    assert "settings.database_url" in response.json()["masked"]
