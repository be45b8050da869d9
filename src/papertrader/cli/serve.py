"""`papertrader serve`, and `attach_api` to serve a replay's live state while it runs (backtest, paper, demo)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from papertrader.api.config import ApiSettings
from papertrader.cli.common import EXIT_ERROR, open_repository
from papertrader.config.settings import Settings, load_settings
from papertrader.core.errors import PapertraderError
from papertrader.engine.control import RunControl

if TYPE_CHECKING:  # FastAPI, uvicorn and the engine load when a server starts, not with every command
    from papertrader.api.auth import IssuedToken
    from papertrader.api.server import ServerHandle
    from papertrader.engine.cycle import Engine
    from papertrader.engine.live import LiveState

Echo = Callable[[str], None]
app = typer.Typer()


def banner(url: str, issued: IssuedToken) -> str:
    """What to print once at start: the dashboard URL, with the token in it only when it was just created."""
    if issued.created:
        return (
            f"dashboard: {url}/#token={issued.token}\n"
            f"API token created in {issued.path} (owner-only); it is shown only this once and the "
            "dashboard remembers it. API clients send it as 'Authorization: Bearer <token>'."
        )
    return f"dashboard: {url}/  (API token: {issued.path})"


def warn_if_exposed(api_settings: ApiSettings, echo: Echo) -> None:
    """Say loudly, before the banner, when the server listens beyond loopback without TLS."""
    warning = api_settings.exposure_warning()
    if warning is not None:
        echo(warning)


def _default_echo() -> Echo:
    console = Console()
    return lambda text: console.print(escape(text), soft_wrap=True)


class ApiAttachment:
    """An `on_engine` hook for engine.runner.run: wraps the engine in LiveState and serves the API beside it."""

    def __init__(
        self,
        settings: Settings,
        control: RunControl | None,
        api_settings: ApiSettings | None = None,
        echo: Echo | None = None,
    ) -> None:
        self.settings = settings
        self.control = control
        self.api_settings = api_settings or ApiSettings()
        self.echo = echo or _default_echo()
        self.live: LiveState | None = None
        self.handle: ServerHandle | None = None
        from papertrader.api.server import check_free

        # fail before the run is created (and its row left "running") when the port is taken
        check_free(self.api_settings.host, self.api_settings.port)

    def __call__(self, engine: Engine, total_cycles: int) -> None:
        """Called by the runner once the engine exists, before the first cycle."""
        from papertrader.api.app import create_app
        from papertrader.api.auth import ensure_token
        from papertrader.api.server import start_in_background
        from papertrader.engine.live import LiveState

        self.live = LiveState(engine, total_cycles)
        issued = ensure_token(self.settings.home)
        asgi = create_app(
            self.settings,
            open_repository(self.settings),
            self.live,
            self.control,
            api_settings=self.api_settings,
            token=issued.token,
        )
        if self.handle is not None:  # a second run in the same process replaces the first server
            self.handle.stop()
        self.handle = start_in_background(asgi, self.api_settings.host, self.api_settings.port)
        warn_if_exposed(self.api_settings, self.echo)
        self.echo(banner(self.handle.url, issued))

    def stop(self) -> None:
        """Shut the server down (the process exiting does it too: the thread is a daemon)."""
        if self.handle is not None:
            self.handle.stop()
            self.handle = None

    def keep_serving(self) -> None:
        """Block until Ctrl-C so the dashboard stays up after the run ends (optional, e.g. for demo)."""
        if self.handle is None:
            return
        self.echo(f"run finished; the dashboard stays at {self.handle.url}/ until Ctrl-C")
        try:
            while self.handle.thread.is_alive():
                threading.Event().wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def attach_api(
    settings: Settings,
    control: RunControl | None,
    *,
    api_settings: ApiSettings | None = None,
    echo: Echo | None = None,
) -> ApiAttachment:
    """The `on_engine` callback for `engine.runner.run(...)` that starts the API on the run's live state."""
    return ApiAttachment(settings, control, api_settings, echo)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="interface (default 127.0.0.1, PAPERTRADER_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000, PAPERTRADER_API_PORT; 0 = any free)")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="also allow the Vite dev server origin :5173 (CORS)")] = False,
) -> None:
    """Serve the API and dashboard over the stored runs (no engine runs; controls answer 409)."""
    from papertrader.api.app import create_app
    from papertrader.api.auth import ensure_token
    from papertrader.api.server import start_in_background

    settings = load_settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if dev:
        overrides["dev_server"] = True
    api_settings = ApiSettings().model_copy(update=overrides)
    echo = _default_echo()
    try:
        issued = ensure_token(settings.home)
        asgi = create_app(settings, open_repository(settings), api_settings=api_settings, token=issued.token)
        handle = start_in_background(asgi, api_settings.host, api_settings.port)
        warn_if_exposed(api_settings, echo)
        echo(banner(handle.url, issued))
        echo("serving stored runs; Ctrl-C to stop")
        try:
            while handle.thread.is_alive():
                handle.thread.join(0.5)
        except KeyboardInterrupt:
            handle.stop()
    except PapertraderError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from exc
