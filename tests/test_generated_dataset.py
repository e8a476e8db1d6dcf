"""The generator's planted truth survives the real loader and Neo4j: exact rejects, resolvable twins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from personagraph.graph.profiles.identities import resolve_identities
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import GeneratorReport, generate
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratorReport:
    return generate(tmp_path_factory.mktemp("generated"), users=1500, seed=5, chunk_size=600)


def _truth(report: GeneratorReport, name: str) -> object:
    return json.loads((report.truth_dir / name).read_text())


def test_loader_rejects_exactly_the_planted_bad_rows(
    store: GraphStore, generated: GeneratorReport, tmp_path: Path
) -> None:
    options = LoadOptions(batch_size=700, rejects_dir=tmp_path, context=RowContext(identity_salt="s"))
    reports: dict[str, FileReport] = {
        r.path.name: r for r in load_dataset(store, generated.out_dir, options=options)
    }
    planted = _truth(generated, "bad_rows.json")
    assert isinstance(planted, dict)
    for name, report in reports.items():
        rejected = []
        if report.rejects_file is not None:
            rejected = sorted(json.loads(x)["line"] for x in report.rejects_file.read_text().splitlines())
        assert rejected == sorted(planted[name]), name
        assert report.loaded == generated.rows[name] - len(planted[name]), name
    records, _, _ = store.driver.execute_query("MATCH (u:User) RETURN count(u) AS n")
    assert records[0]["n"] == 1500


def test_planted_twins_resolve_to_one_customer(
    store: GraphStore, generated: GeneratorReport, tmp_path: Path
) -> None:
    options = LoadOptions(batch_size=2000, rejects_dir=tmp_path, context=RowContext(identity_salt="s"))
    load_dataset(store, generated.out_dir, options=options)
    resolve_identities(store)
    pairs = _truth(generated, "duplicates.json")
    assert isinstance(pairs, list) and pairs
    records, _, _ = store.driver.execute_query(
        "UNWIND $pairs AS pair MATCH (a:User {userId: pair[0]}), (b:User {userId: pair[1]}) "
        "RETURN count(*) AS n, sum(CASE WHEN a.customerId = b.customerId THEN 1 ELSE 0 END) AS same",
        pairs=pairs,
    )
    assert records[0]["n"] == len(pairs) and records[0]["same"] == len(pairs)
    linked, _, _ = store.driver.execute_query("MATCH (:User)-[s:SAME_AS]->(:User) RETURN count(s) AS n")
    assert linked[0]["n"] == len(pairs)  # no other accounts share an identity
