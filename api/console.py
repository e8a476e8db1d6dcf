"""The web console at ``GET /console`` (issue 19): pages for marketers and analysts over the public
GraphQL API, served by the API itself, so same origin, same keys, same roles.

- ``static/console/``: the console's own scripts (``console.js`` and one plain ES module per screen: no
  build step, no framework) and style, committed, served under ``/console/assets/``;
- ``static/vendor/``: Cytoscape.js (the neighbourhood drawing), installed from npm by
  ``tools/web-assets/vendor.sh`` (``make install``), served under ``/console/vendor/``; nothing is
  fetched from a CDN;
- the page (``page``): HTML naming those files under ``/console/assets/``; its Content-Security-Policy
  lets it load and call nothing but this server.

The page and its files are static and hold no data, so they are served without credentials
(api/auth.py); everything the page shows comes from ``POST /graphql`` with the key the user types
(kept in the tab's sessionStorage), so an analyst sees in the console exactly what an analyst may see
through GraphQL: masked fields, k-anonymous counts, refusals as GraphQL errors.

Screens: the audience builder (every condition of the audience language, nested all/any/not, its size
as the caller may see it, updated as the definition is edited), a profile with its neighbourhood drawn,
the personas as cards, and insights (influencers, communities, bought-together pairs, channel
attribution, analytics runs). docs/console.md.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from personagraph.api import ide

CONSOLE_PATH = "/console"
ASSETS_PATH = "/console/assets"
VENDOR_PATH = "/console/vendor"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "console"

# Cytoscape.js puts one <style> element in the page, always this text (cytoscape's renderer init); its
# hash lets that one in and no other inline style. An upgrade that changes it shows as a CSP error in
# tests/test_console_browser.py.
CYTOSCAPE_STYLE = ".__________cytoscape_container { position: relative; }"
CYTOSCAPE_STYLE_HASH = base64.b64encode(hashlib.sha256(CYTOSCAPE_STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        f"style-src 'self' 'sha256-{CYTOSCAPE_STYLE_HASH}'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
# GraphiQL's page headers (api/ide.py: nosniff, no referrer, no cache) with the console's stricter policy.
PAGE_HEADERS = {**ide.PAGE_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY}


def is_console_page(method: str, path: str) -> bool:
    """A GET of the console page or of one of its files (static: no data, no credentials needed)."""
    return method == "GET" and (
        path in (CONSOLE_PATH, CONSOLE_PATH + "/")
        or path.startswith(ASSETS_PATH + "/")
        or path.startswith(VENDOR_PATH + "/")
    )


def page(root_path: str = "") -> HTMLResponse:
    assets, vendor = f"{root_path}{ASSETS_PATH}", f"{root_path}{VENDOR_PATH}"
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>personagraph console</title><link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{assets}/console.css"></head>'
        f'<body><div id="console" data-graphql="{root_path}/graphql" data-vendor="{vendor}">'
        "Loading the console...</div>"
        f'<script type="module" src="{assets}/console.js"></script></body></html>',
        headers=PAGE_HEADERS,
    )


def mount_console(app: FastAPI) -> None:
    """``GET /console`` (the page), ``/console/assets/`` (its scripts and style) and ``/console/vendor/``
    (Cytoscape.js; the directory may be missing until ``make install``, and the page then says so)."""

    async def console(request: Request) -> HTMLResponse:
        return page(request.scope.get("root_path", ""))

    app.add_api_route(CONSOLE_PATH, console, methods=["GET"], include_in_schema=False)
    app.add_api_route(CONSOLE_PATH + "/", console, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="console-assets")
    app.mount(VENDOR_PATH, StaticFiles(directory=ide.VENDOR_DIR, check_dir=False), name="console-vendor")
