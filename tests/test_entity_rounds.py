"""EntityKind.rounds: the calls a batch of rows is written in (no Neo4j needed)."""

from __future__ import annotations

import dataclasses

from personagraph.graph.entities import KINDS


def test_a_batch_is_cut_into_calls_that_hold_a_key_once_and_keep_file_order() -> None:
    users = dataclasses.replace(KINDS["users"], rows_per_call=3)
    rows = [{"userId": u, "n": n} for n, u in enumerate(["a", "b", "a", "c", "d", "e", "a", "f"])]
    calls = users.rounds(rows)
    assert all(0 < len(call) <= 3 for call in calls)
    assert all(len({r["userId"] for r in call}) == len(call) for call in calls), "a key once per call"
    assert sorted(r["n"] for call in calls for r in call) == list(range(len(rows))), "every row, once"
    order = [r["n"] for call in calls for r in call if r["userId"] == "a"]
    assert order == [0, 2, 6], "a key's rows apply in file order"


def test_without_a_limit_a_batch_of_distinct_keys_is_one_call() -> None:
    ties = KINDS["ties"]
    rows = [{"src": str(i)} for i in range(10)]
    assert ties.rows_per_call is None and ties.rounds(rows) == [rows]
    assert KINDS["users"].rounds([]) == [[]]
