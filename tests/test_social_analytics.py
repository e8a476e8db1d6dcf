"""Influence and communities on real data in a real Neo4j, checked against networkx and planted truth."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import normalized_mutual_info_score

from personagraph.graph.analytics.influence import pagerank, run_influence, two_hop_reach
from personagraph.graph.analytics.lookalikes import lookalikes
from personagraph.graph.analytics.social_communities import run_social_communities
from personagraph.graph.analytics.social_projection import project_social
from personagraph.graph.errors import NotFoundError
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

KARATE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "zachary-karate"


def _users(store: GraphStore, *fields: str) -> dict[str, list[object]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) RETURN u.userId AS id, [f IN $fields | u[f]] AS values", fields=list(fields)
    )
    return {r["id"]: r["values"] for r in records}


@pytest.fixture
def karate(store: GraphStore, tmp_path: Path) -> nx.Graph[str]:
    if not KARATE.exists():
        pytest.skip(f"Zachary's karate club not found at {KARATE}")
    with (KARATE / "edges.csv").open() as handle:
        edges = [(row["source"], row["target"]) for row in csv.DictReader(handle)]
    with (KARATE / "nodes.csv").open() as handle:
        nodes = [row["node"] for row in csv.DictReader(handle)]
    folder = tmp_path / "karate"
    folder.mkdir()
    (folder / "users.csv").write_text("user_id\n" + "".join(f"{n}\n" for n in nodes))
    (folder / "ties.csv").write_text(
        "src_user_id,dst_user_id,kind\n" + "".join(f"{a},{b},friend\n" for a, b in edges)
    )
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=tmp_path / "r"))
    assert all(r.rejected == 0 for r in reports)
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def test_karate_pagerank_matches_networkx(store: GraphStore, karate: nx.Graph[str]) -> None:
    report = run_influence(store)
    expected = nx.pagerank(karate, alpha=0.85, tol=1e-12, max_iter=10_000)
    written = _users(store, "influence", "influenceRank", "degree", "influenceRunId")
    assert set(written) == set(expected)
    for user, (score, _rank, degree, run_id) in written.items():
        assert score == pytest.approx(expected[user], abs=1e-6)
        assert degree == karate.degree(user) and run_id == report.run_id
    best = max(expected, key=lambda u: expected[u])
    assert written[best][1] == 1 and report.top[0][0] == best


def test_karate_communities_are_as_good_as_networkx_louvain(store: GraphStore, karate: nx.Graph[str]) -> None:
    report = run_social_communities(store, min_size=1)
    louvain = nx.community.louvain_communities(karate, seed=42)
    reference = nx.community.modularity(karate, louvain)
    membership = {u: v[0] for u, v in _users(store, "socialCommunity").items()}
    groups: dict[object, set[str]] = {}
    for user, community in membership.items():
        groups.setdefault(community, set()).add(user)
    ours = nx.community.modularity(karate, list(groups.values()))
    assert ours == pytest.approx(report.modularity, abs=1e-9)
    assert ours >= reference - 0.01
    records, _, _ = store.driver.execute_query(
        "MATCH (c:Community {kind: 'social'}) "
        "RETURN sum(c.size) AS members, count(c) AS n, collect(c.runId) AS runs"
    )
    assert records[0]["members"] == 34 and records[0]["n"] == report.communities
    assert set(records[0]["runs"]) == {report.run_id}


def test_a_shared_projection_gives_the_same_results_and_no_reach_keeps_reach2(
    store: GraphStore, karate: nx.Graph[str]
) -> None:
    run_influence(store)
    run_social_communities(store, min_size=1)
    own = _users(store, "influence", "socialCommunity", "reach2")
    projection = project_social(store)
    later = run_influence(store, projection=projection, reach=False)
    run_social_communities(store, min_size=1, projection=projection)
    shared = _users(store, "influence", "socialCommunity", "reach2", "influenceRunId")
    for user, (score, community, reach) in own.items():
        assert shared[user][0] == pytest.approx(score, abs=1e-12)
        assert shared[user][1] == community and shared[user][2] == reach  # reach2 kept from the first run
        assert shared[user][3] == later.run_id


def test_pagerank_handles_dangling_nodes_like_networkx() -> None:
    rng = np.random.default_rng(1)
    graph = nx.gnp_random_graph(60, 0.05, seed=3, directed=True)
    for a, b in graph.edges:
        graph[a][b]["weight"] = float(rng.integers(1, 4))
    adjacency = sp.csr_matrix(nx.to_scipy_sparse_array(graph, nodelist=range(60), weight="weight"))
    expected = nx.pagerank(graph, tol=1e-12, max_iter=10_000, weight="weight")
    ours = pagerank(adjacency)
    assert np.allclose(ours, [expected[i] for i in range(60)], atol=1e-9)


def test_two_hop_reach_counts_distinct_users_both_ways() -> None:
    graph = nx.path_graph(6, create_using=nx.DiGraph)  # 0->1->2->3->4->5
    adjacency = sp.csr_matrix(nx.to_scipy_sparse_array(graph, nodelist=range(6)))
    expected = [
        len(nx.single_source_shortest_path_length(graph.to_undirected(), n, cutoff=2)) - 1 for n in range(6)
    ]
    assert two_hop_reach(adjacency, chunk=4).tolist() == expected


def test_planted_communities_and_influencers_are_recovered(store: GraphStore, tmp_path: Path) -> None:
    report = generate(tmp_path / "gen", users=3000, seed=9, chunk_size=1500)
    options = LoadOptions(batch_size=5000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, report.out_dir, options=options)
    run_influence(store)
    run_social_communities(store, min_size=1)
    planted = json.loads((report.truth_dir / "communities.json").read_text())
    truth = {user: community for community, members in planted.items() for user in members}
    found = {user: values[0] for user, values in _users(store, "socialCommunity").items()}
    users = sorted(truth)
    nmi = normalized_mutual_info_score([truth[u] for u in users], [str(found[u]) for u in users])
    assert nmi >= 0.9, nmi
    influencers = json.loads((report.truth_dir / "influencers.json").read_text())
    rank = {user: values[0] for user, values in _users(store, "influenceRank").items()}
    assert all(rank[u] <= len(influencers) for u in influencers), sorted(rank[u] for u in influencers)


def test_lookalikes_of_community_members_come_from_that_community(store: GraphStore, tmp_path: Path) -> None:
    report = generate(tmp_path / "gen", users=2000, seed=4, chunk_size=1000)
    options = LoadOptions(batch_size=5000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, report.out_dir, options=options)
    run_social_communities(store, min_size=1)
    planted = json.loads((report.truth_dir / "communities.json").read_text())
    community = max(planted.values(), key=len)
    seeds = sorted(community)[:5]
    found = lookalikes(store, seed_user_ids=seeds, first=20)
    assert len(found) == 20 and not {f.user_id for f in found} & set(seeds)
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    precision = sum(f.user_id in set(community) for f in found) / len(found)
    assert precision >= 0.8, precision
    assert all(f.reasons for f in found)
    with pytest.raises(NotFoundError):
        lookalikes(store, seed_user_ids=[])
