"""A real browser for the web page tests: Debian's chromium (``/usr/bin/chromium``; .ci/run installs it)
driven by Playwright for Python, whose own browser downloads are never used. ``Offline`` aborts and
records every request to anything but the server under test, and collects the page's errors, so a test
fails when a page reaches for a CDN or logs an error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000
# Screenshots the browser tests keep (not committed: build/ is ignored).
ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"


@contextmanager
def chromium(what: str) -> Iterator[Browser]:
    """Chromium, or a skip that says how to get it (``what``: the tests that need it)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's package (`apt-get install -y chromium`, as "
            f".ci/run does) to run {what}"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Offline:
    """A browser page whose requests reach only ``allowed`` origins; the rest are aborted and kept."""

    page: Page
    allowed: tuple[str, ...]
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    graphql_posts: list[dict[str, str]] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(tuple(f"{origin}/" for origin in self.allowed)) or url.startswith("data:"):
            if route.request.method == "POST" and url.endswith("/graphql"):
                self.graphql_posts.append(route.request.headers)
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


@contextmanager
def offline_page(browser: Browser, origin: str) -> Iterator[Offline]:
    """A new page that may reach ``origin`` only; on the way out, no other host and no page error."""
    context = browser.new_context()
    page = context.new_page()
    watched = Offline(page, (origin,))
    page.route("**/*", watched.route)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    try:
        yield watched
    finally:
        context.close()
    assert not watched.refused, f"the page tried to reach other hosts: {watched.refused}"
    assert not watched.errors, f"errors in the page: {watched.errors}"


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot under build/test-artifacts/ (the CI job's artefacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
