"""Write the OpenAPI schema to a file (web/openapi.json), from which the dashboard's typed client is generated.

Usage: python -m papertrader.api.export_openapi [web/openapi.json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from papertrader.api.app import create_app
from papertrader.api.config import ApiSettings
from papertrader.config.settings import Settings
from papertrader.persistence.db import init_db, make_engine
from papertrader.persistence.repository import RunRepository

DEFAULT_PATH = Path("web") / "openapi.json"


def schema() -> dict[str, Any]:
    """The app's schema, built without touching PAPERTRADER_HOME or any database on disk."""
    with tempfile.TemporaryDirectory() as home:
        db = make_engine("sqlite://")
        init_db(db)
        settings = Settings(home=Path(home), database_url="sqlite://")
        app = create_app(settings, RunRepository(db), api_settings=ApiSettings(), token="x" * 43)
        return app.openapi()


def render() -> str:
    """Stable text: sorted keys, two-space indent, trailing newline, so the committed file diffs cleanly."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema where asked (default web/openapi.json)."""
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
