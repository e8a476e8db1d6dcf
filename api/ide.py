"""The GraphiQL page at ``GET /graphql``, served from this package's own files: nothing from a CDN.

Strawberry's page loads React and GraphiQL from unpkg.com, so on a machine without the internet it
said "Loading..." for ever. Ours:

- ``static/vendor/``: the built GraphiQL, React and ReactDOM bundles (and their licences), installed
  from npm at build time by ``tools/web-assets/vendor.sh`` (``make install``, the Dockerfile), versions
  pinned by its package-lock.json; not committed;
- ``static/ide.js``, ``static/ide.css``: the page's own script and style;
- the page (``page``): HTML naming those files under ``/graphiql/`` and a JSON block with the example
  it opens with (docs/queries.md's profile page; a test keeps the two equal) and the Headers pane's
  template, ``{"Authorization": "Bearer <paste your key>"}``. Its Content-Security-Policy lets it
  load and call nothing but this server.

The page and those files are all that is served without credentials (api/auth.py); the operations
the page sends need a key like any other. A browser navigating to ``/graphql`` (a GET whose
``Accept`` starts with ``text/html``) gets the page whatever the query string, so reloading a page
whose address holds GraphiQL's state (``?query=...&variables=...``) shows the page again instead of
running the query without credentials (a 401). Other clients' GETs with ``query`` run it as before
(GraphQL over HTTP). With ``PERSONA_ENV=production`` there is no page and no assets (404).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
ASSETS_PATH = "/graphiql"  # URL prefix of the page's scripts and styles
VENDOR_SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
VENDOR_STYLES = ("graphiql.min.css",)

KEY_PLACEHOLDER = "<paste your key>"
HEADERS_TEMPLATE = json.dumps({"Authorization": f"Bearer {KEY_PLACEHOLDER}"}, indent=2)
KEY_HINT = (
    f"Put your API key in the Headers pane below, in place of {KEY_PLACEHOLDER}, then run the query "
    "again (Ctrl-Enter). `persona keys create --name NAME --role admin` makes a key; `make demo` "
    "prints one."
)
# docs/queries.md, "Profile page in one round trip" (tests/test_day_one_api.py checks they stay equal).
EXAMPLE_TITLE = "Profile page in one round trip"
EXAMPLE_QUERY = """query Profile($id: ID!) {
  user(id: $id) {
    id city ageBand gender occupation lifecycle marketingConsent
    rfm { recency frequency monetary score }
    influence { score rank degree reach2 runId computedAt }
    community { communityId size topCity topTags topCategories }
    persona { name description }
    channels { channelId kind acquired orders }
    tags { tagId name tier weight source evidence expiresAt }
    friends(first: 20) { totalCount edges { node { id city } } }
    orders(first: 10) { totalCount edges { node { orderId orderedAt total lines { sku name quantity } } } }
  }
}
"""
EXAMPLE_VARIABLES: dict[str, Any] = {"id": "u0000040"}
INTRO = """# personagraph: put your API key in the Headers pane
# below, in place of <paste your key>, then run this
# query (Ctrl-Enter or the play button).
# More examples: docs/queries.md; the schema: Docs (left).

"""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # GraphiQL and CodeMirror set inline styles
        "img-src 'self' data:",
        "font-src 'self' data:",  # GraphiQL's fonts are data: URLs inside its stylesheet
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the address holds the query and its variables
    "Cache-Control": "no-cache",
}


def is_ide_navigation(method: str, accept: str) -> bool:
    """A browser opening the page: a GET asking for HTML first (a navigation, which never carries the
    ``Authorization`` header, so it could not run an operation anyway)."""
    return method == "GET" and accept.lstrip().lower().startswith("text/html")


def is_ide_asset(method: str, path: str) -> bool:
    """A GET of one of the page's scripts or styles."""
    return method == "GET" and path.startswith(ASSETS_PATH + "/")


def missing_vendor_files() -> list[str]:
    return [name for name in (*VENDOR_SCRIPTS, *VENDOR_STYLES) if not (VENDOR_DIR / name).is_file()]


def page(root_path: str = "") -> HTMLResponse:
    """The GraphiQL page; a 503 page saying how to install GraphiQL's files when they are missing."""
    assets = f"{root_path}{ASSETS_PATH}"
    missing = missing_vendor_files()
    if missing:
        body = (
            f'<main class="persona-ide-missing"><h1>GraphiQL is not installed</h1>'
            f"<p>This server has no {html.escape(', '.join(missing))} in {html.escape(str(VENDOR_DIR))}. "
            f"Run <code>make install</code> (or <code>tools/web-assets/vendor.sh</code>, which needs npm) "
            f"where personagraph was installed from, then restart the server. The API itself works: "
            f"POST queries to this address with an API key.</p></main>"
        )
        return HTMLResponse(_document(assets, body, vendor=False), status_code=503, headers=PAGE_HEADERS)
    config = {
        "query": INTRO + EXAMPLE_QUERY,
        "variables": json.dumps(EXAMPLE_VARIABLES, indent=2),
        "headers": HEADERS_TEMPLATE,
        "placeholder": KEY_PLACEHOLDER,
        "keyHint": KEY_HINT,
    }
    # JSON inside <script>: no "<", ">" or "&" in the text, so it cannot close the element early.
    data = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    scripts = "".join(f'<script src="{assets}/vendor/{name}"></script>' for name in VENDOR_SCRIPTS)
    body = (
        '<div id="graphiql">Loading GraphiQL...</div>'
        f'<script id="persona-ide-config" type="application/json">{data}</script>'
        f'{scripts}<script src="{assets}/ide.js"></script>'
    )
    return HTMLResponse(_document(assets, body), headers=PAGE_HEADERS)


def _document(assets: str, body: str, *, vendor: bool = True) -> str:
    names = VENDOR_STYLES if vendor else ()
    styles = "".join(f'<link rel="stylesheet" href="{assets}/vendor/{name}">' for name in names)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>personagraph GraphiQL</title><link rel="icon" href="data:,">'
        f'{styles}<link rel="stylesheet" href="{assets}/ide.css"></head>'
        f"<body>{body}</body></html>"
    )


def mount_assets(app: FastAPI) -> None:
    """Serve ``static/`` (the page's script and style, and GraphiQL's files) under ``/graphiql/``."""
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR, check_dir=False), name="graphiql-assets")
