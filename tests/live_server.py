"""An ASGI app served by a real uvicorn on 127.0.0.1, for tests that need real HTTP (browsers, CORS)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from starlette.types import ASGIApp

from personagraph.graph.server.local import free_port

START_TIMEOUT_S = 60.0


@contextmanager
def live(app: ASGIApp, name: str = "test-server", log_level: str = "warning") -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 in a background thread: its base URL
    (``log_level="info"`` turns uvicorn's access log on, as `persona serve` runs it)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            pytest.fail(f"{name} exited during start-up (see the captured log)")
        if time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"{name} did not start within {START_TIMEOUT_S:.0f}s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
