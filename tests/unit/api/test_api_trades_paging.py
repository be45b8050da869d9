"""The trade log pages: offset and limit walk the fills newest first without gaps or overlaps."""

from __future__ import annotations

from api_support import auth, make_app, shared_run
from fastapi.testclient import TestClient

from papertrader.api.app import PREFIX
from papertrader.api.schemas import TradesView


def test_pages_of_the_trade_log_join_up_to_the_whole_log() -> None:
    with TestClient(make_app(shared_run())) as client:

        def page(query: str) -> TradesView:
            response = client.get(f"{PREFIX}/trades?{query}", headers=auth())
            assert response.status_code == 200, response.text
            return TradesView.model_validate(response.json())

        whole = page("limit=10000")
        first, second = page("limit=7"), page("limit=7&offset=7")
        assert second.offset == 7 and first.total == whole.total > 14
        assert [t.seq for t in first.trades + second.trades] == [t.seq for t in whole.trades[:14]]
        assert page(f"offset={whole.total}").trades == []
        assert client.get(f"{PREFIX}/trades?offset=-1", headers=auth()).status_code == 422
