"""Do these ids exist? The one reference check before a write (a recorded event's user, product and
channel; a loaded row's references), a refresh (the users asked for) or a warning (an audience's tag
ids): one read of the kind's ``existing_*`` catalog statement."""

from __future__ import annotations

from collections.abc import Iterable

from personagraph.graph.store import GraphStore

# Per kind of node (graph.entities.Reference.target): the statement that finds which of the given keys
# name one. Catalog names, never built.
EXISTING: dict[str, str] = {
    "users": "profiles/read/existing_users",
    "products": "products/read/existing_products",
    "channels": "channels/read/existing_channels",
    "tags": "tags/read/existing_tags",
    "questions": "surveys/read/existing_questions",
    # an answer's key (question key, records.ANSWER_SEPARATOR, answer) is found when the answer fits the
    # question's scale or options
    "answers": "surveys/read/fitting_answers",
}


CHUNK = 20_000  # ids per read


def existing_ids(store: GraphStore, kind: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` name an existing node of ``kind`` (no ids: no read; many: a read per CHUNK)."""
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(store.read(EXISTING[kind], keys=wanted[start : start + CHUNK])[0]["found"])
    return found


def missing_ids(store: GraphStore, kind: str, ids: Iterable[str]) -> list[str]:
    """The ids of ``ids`` that name nothing of ``kind``, in the order given, each once."""
    wanted = list(dict.fromkeys(ids))
    found = existing_ids(store, kind, wanted)
    return [i for i in wanted if i not in found]
