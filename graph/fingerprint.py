"""A fingerprint of the graph's content, which two databases holding the same graph share (issue 20).

One entry per node label and per relationship type: a count and a digest of the content. Issue 20: an
initial load through ``neo4j-admin database import`` must build exactly the graph the transactional loader
builds from the same files. Internal ids (and the order the store keeps things in) differ between two such
databases, so the fingerprint reads content only:

- a node is its labels and its properties; it counts in the entry of each of its labels
  (``"node:<Label>"``; a node with no label in ``"node:"``);
- a relationship (``"rel:<TYPE>"``) is its type, its properties and its two end nodes, each told by its
  labels and its key (``KEYS``: the uniqueness constraints of cypher/schema/), or, for a node with no key
  (a ConsentChange), by its labels and properties;
- each entry's digest is the sum, modulo 2**256, of the BLAKE2b digests of its items' canonical forms:
  independent of order, sensitive to duplicates (unlike XOR), and summed as the rows stream by, so a graph
  of 15 million relationships needs no more memory than a tiny one (sorting per-item digests would hold
  them all). It catches mistakes, not forgeries: nobody should rely on it against someone crafting
  a graph to match.

Canonical values keep their type: Neo4j itself writes each property as its ``valueType()`` and its
``toString()`` (cypher/server/read/fingerprint_graph), so ``5`` and ``5.0`` differ, as do ``"2025-01-01"``
and ``date("2025-01-01")``; temporal values come as their ISO text (with the zone's name where they have
one), lists element by element. Decoding temporal values in the driver instead would cost some 80 µs
each, most of the time of a fingerprint. Properties that hold the load's wall-clock time (``LOAD_TIME``)
are left out, and so are the housekeeping nodes that are not data (``HOUSEKEEPING``: the schema ledger).
``diff_fingerprints`` says what differs between two fingerprints, one line per entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from neo4j import READ_ACCESS, Query, Record

from personagraph.graph.catalog import cypher
from personagraph.graph.store import GraphStore

STATEMENT = "server/read/fingerprint_graph"

# Labels whose nodes are bookkeeping of the database, not data: the schema ledger (which wipes keep and
# whose appliedAt is the time of the migration). cypher/server/write/wipe_data keeps nothing else.
HOUSEKEEPING: frozenset[str] = frozenset({"SchemaMigration"})

# What identifies a node of each label: the uniqueness constraints of cypher/schema/ (a test checks that
# every one is here). A relationship's end node is told by these, not by all its properties.
KEYS: Mapping[str, tuple[str, ...]] = {
    "SchemaMigration": ("version",),
    "User": ("userId",),
    "Identity": ("kind", "value"),
    "Product": ("sku",),
    "Category": ("categoryId",),
    "Brand": ("brandId",),
    "Order": ("orderId",),
    "Channel": ("channelId",),
    "SearchTerm": ("term",),
    "Tag": ("tagId",),
    "Community": ("communityId",),
    "AnalyticsRun": ("runId",),
    "Audience": ("audienceId",),
    "Suppressed": ("hash",),
    "PrivacyKeyCheck": ("purpose",),
    "Change": ("seq",),
    "ChangeSequence": ("name",),
    "FoldCursor": ("logId",),
    "Webhook": ("webhookId",),
    "WebhookDelivery": ("deliveryId",),
    "Survey": ("surveyId",),
    "Question": ("questionKey",),
    "AudiencePush": ("pushId",),
}

# Properties (by node label or relationship type) that hold the wall-clock time of the load, so that two
# loads of the same files legitimately differ in them:
# - ConsentChange.recordedAt: always the time the statement was recorded (datetime() in merge_users);
# - a users.csv row without consent_updated_at takes the time its file was loaded (loaders/pipeline.py's
#   RowContext.consent_at) as the time of its consent statement: ConsentChange.at, and on the user
#   marketingConsentAt, personalizationOptOutAt and consentUpdatedAt;
# - a user_tags.csv row without assigned_at: HAS_TAG.assignedAt (datetime() in merge_user_tags);
# - SAME_AS.resolvedAt: the time identity resolution first linked the user (datetime()).
# A caller whose files give every such time may pass ALWAYS_LOAD_TIME instead, which keeps the rest checked.
ALWAYS_LOAD_TIME: Mapping[str, frozenset[str]] = {
    "ConsentChange": frozenset({"recordedAt"}),
    "SAME_AS": frozenset({"resolvedAt"}),
}
LOAD_TIME: Mapping[str, frozenset[str]] = {
    "ConsentChange": frozenset({"recordedAt", "at"}),
    "User": frozenset({"marketingConsentAt", "personalizationOptOutAt", "consentUpdatedAt"}),
    "HAS_TAG": frozenset({"assignedAt"}),
    "SAME_AS": frozenset({"resolvedAt"}),
}

FETCH_SIZE = 2_000  # rows (nodes, each with its outgoing relationships) the driver pulls per round trip
_MODULUS = 2**256
_DIGEST_BYTES = 32


@dataclass(frozen=True)
class Part:
    """One entry of a fingerprint: how many nodes of a label (or relationships of a type) there are, the
    digest of their content, and the names of the properties they hold (ignored ones left out)."""

    count: int
    digest: str  # hex, 64 digits
    properties: tuple[str, ...] = ()  # sorted


@dataclass
class _Sum:
    count: int = 0
    total: int = 0
    properties: set[str] = field(default_factory=set)

    def add(self, text: str, names: Iterable[str]) -> None:
        digest = hashlib.blake2b(text.encode(), digest_size=_DIGEST_BYTES).digest()
        self.count += 1
        self.total += int.from_bytes(digest, "big")
        self.properties.update(names)

    def part(self) -> Part:
        return Part(
            self.count,
            (self.total % _MODULUS).to_bytes(_DIGEST_BYTES, "big").hex(),
            tuple(sorted(self.properties)),
        )


def graph_fingerprint(
    store: GraphStore,
    *,
    ignore: Mapping[str, frozenset[str]] = LOAD_TIME,
    skip: frozenset[str] = HOUSEKEEPING,
) -> dict[str, Part]:
    """The graph's content, one Part per node label (``"node:<Label>"``) and per relationship type
    (``"rel:<TYPE>"``), leaving out the properties ``ignore`` names for a label or type and the nodes of
    the labels in ``skip`` (with their relationships). Two databases holding the same graph give equal
    fingerprints; ``diff_fingerprints`` says where two differ. Streams every node and relationship once."""
    sums: dict[str, _Sum] = {}

    def entry(name: str) -> _Sum:
        if (found := sums.get(name)) is None:
            found = sums[name] = _Sum()
        return found

    params = {
        "skip": sorted(skip),
        "keys": {label: list(names) for label, names in KEYS.items()},
        "ignore": {name: sorted(names) for name, names in ignore.items()},
    }
    # Canonical texts as repr() of lists of strings: unambiguous, and made in C (json.dumps costs more).
    for labels, names, props, keyed, key, rels in _stream(store, STATEMENT, params):
        labels.sort()
        props.sort()
        node = repr([labels, props])
        for label in labels or [""]:
            entry(f"node:{label}").add(node, names)
        # A relationship's start node as its end nodes are told: labels and key, or labels and properties.
        start = repr([labels, True, sorted(key)] if keyed else [labels, False, props])
        for kind, rel_names, rel_props, end_labels, end_keyed, end in rels:
            rel_props.sort()
            end_labels.sort()
            end.sort()
            entry(f"rel:{kind}").add(start + repr([kind, rel_props, end_labels, end_keyed, end]), rel_names)
    return {name: sums[name].part() for name in sorted(sums)}


def diff_fingerprints(a: Mapping[str, Part], b: Mapping[str, Part]) -> list[str]:
    """What differs between two fingerprints, one line per entry that differs (none when equal)."""
    lines: list[str] = []
    for name in sorted(a.keys() | b.keys()):
        first, second = a.get(name), b.get(name)
        if first == second:
            continue
        if second is None:
            assert first is not None
            lines.append(f"{name}: only in the first ({first.count})")
        elif first is None:
            lines.append(f"{name}: only in the second ({second.count})")
        else:
            what = [f"count {first.count} vs {second.count}" if first.count != second.count else ""]
            gone = sorted(set(first.properties) - set(second.properties))
            new = sorted(set(second.properties) - set(first.properties))
            what.append(f"properties only in the first: {', '.join(gone)}" if gone else "")
            what.append(f"properties only in the second: {', '.join(new)}" if new else "")
            what.append(f"content {first.digest[:12]}… vs {second.digest[:12]}…")
            lines.append(f"{name}: " + "; ".join(part for part in what if part))
    return lines


def _stream(store: GraphStore, name: str, params: dict[str, Any]) -> Iterator[Record]:
    """The rows of a catalog read one by one as the driver pulls them: GraphStore.read would hold them all.
    No transaction timeout (a fingerprint of a large graph runs for minutes); the read sees every write
    this driver made before it (execute_query's bookmarks, as GraphStore's reads)."""
    with store.driver.session(
        database=store.database,
        default_access_mode=READ_ACCESS,
        fetch_size=FETCH_SIZE,
        bookmark_manager=store.driver.execute_query_bookmark_manager,
    ) as session:
        yield from session.run(Query(cypher(name)), params)
