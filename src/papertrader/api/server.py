"""Run the API with uvicorn in a daemon thread, beside the engine (replay, demo) or the `serve` command."""

from __future__ import annotations

import errno
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from papertrader.core.errors import ConfigError

#: uvicorn's access log would print every request (and a WebSocket's ?token=) next to the progress bar.
_UVICORN = {"log_level": "warning", "access_log": False, "ws": "websockets-sansio", "lifespan": "on"}


@dataclass
class ServerHandle:
    """A running server: where it listens and how to stop it."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        """Base URL of the dashboard and API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Ask uvicorn to shut down and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout)


def check_free(host: str, port: int) -> None:
    """Fail with a clear message before uvicorn logs a traceback in its thread."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"{host}:{port} is in use: stop the other server or set PAPERTRADER_API_PORT"
                ) from exc
            raise ConfigError(f"cannot bind {host}:{port}: {exc.strerror}") from exc


def start_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, timeout: float = 10.0) -> ServerHandle:
    """Start uvicorn in a daemon thread and return once it accepts connections (port 0 picks a free one)."""
    check_free(host, port)
    config = uvicorn.Config(app, host=host, port=port, **_UVICORN)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="papertrader-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the API server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = port
    for srv in server.servers:
        for sock in srv.sockets:
            bound = int(sock.getsockname()[1])
            break
    return ServerHandle(server, thread, host, bound)
