"""The committed schema.graphql is the schema the code serves (front-end tooling reads the file)."""

from __future__ import annotations

from pathlib import Path

from personagraph.api.schema import schema

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text(encoding="utf-8") == schema.as_str() + "\n", (
        "schema.graphql is stale: run `persona api-schema --out schema.graphql` and commit it"
    )
