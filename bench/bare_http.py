"""The thinnest Python HTTP answer to bench/api.py's queries: its named "bare-http" reference.

A plain ASGI app under the same uvicorn as personagraph (uvloop, httptools) that runs the raw Cypher of
the query a POST names, as an auto-commit read through the Python driver exactly as bench/api.py's
raw-cypher contender does, called on the event loop's thread (no thread hop: it blocks the loop, which
only one client at a time can afford, and bench/api.py times it at 1 client), and answers the records
as JSON (orjson). No GraphQL, no authentication, no checks, no framework: what any Python HTTP server
adds to the raw Cypher on this machine. Its p50 over the raw Cypher's (both at 1 client, same run) is
the least a Python GraphQL server's p50 over the raw Cypher can be here. (The async driver measured
slower: about 0.6 ms more a statement than the synchronous one, 5k users.)

POST body: ``{"query": <name in bench/api.py's RAW_CYPHER>, "params": {...}}``; ``{}`` answers
``{"data": {"__typename": "Query"}}`` without Neo4j (the HTTP hop alone). The Cypher texts come
from the JSON file named by ``BARE_HTTP_QUERIES``; Neo4j from ``PERSONA_NEO4J_URI/USER/PASSWORD/
DATABASE``. Run it as ``uvicorn --factory bench.bare_http:create_app`` from the repository root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
from neo4j import READ_ACCESS, Driver, GraphDatabase, Query
from starlette.types import Message, Receive, Scope, Send

TYPENAME = orjson.dumps({"data": {"__typename": "Query"}})
HEADERS = [(b"content-type", b"application/json")]


def create_app() -> Any:
    queries = {
        name: Query(text)
        for name, text in json.loads(Path(os.environ["BARE_HTTP_QUERIES"]).read_text()).items()
    }
    database = os.environ.get("PERSONA_NEO4J_DATABASE", "neo4j")
    state: dict[str, Driver] = {}

    def answer(body: bytes) -> bytes:
        job = orjson.loads(body) if body else {}
        if "query" not in job:
            return TYPENAME
        with state["driver"].session(database=database, default_access_mode=READ_ACCESS) as session:
            records = [
                record.data() for record in session.run(queries[job["query"]], job.get("params") or {})
            ]
        return orjson.dumps({"data": records}, default=str)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    state["driver"] = GraphDatabase.driver(
                        os.environ["PERSONA_NEO4J_URI"],
                        auth=(os.environ["PERSONA_NEO4J_USER"], os.environ["PERSONA_NEO4J_PASSWORD"]),
                    )
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    state["driver"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        message: Message = {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            body += message.get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": answer(body)})

    return app
