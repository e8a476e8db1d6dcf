"""What a saved audience reads about a user itself, as a fold of events can change it: which tags, which
behaviour actions on which products. The folding worker re-evaluates an audience only for the users whose
inputs to it changed (graph/audiences/service.py, refresh_membership): a view of a product of another brand
than the one a behaviour condition names cannot change it.

Conditions on a user's friends, followers or referrers (``friends``, ``followers``, ``referralHops``) read
other users, whom a fold does not revisit; lifecycle, persona, community and influence are written by the
analyses, not by folds. A profile change (identify) may change anything: such users are re-evaluated
against every audience.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from personagraph.graph.audiences.model import BehaviorNode, Condition, TagNode, conditions
from personagraph.graph.kinds import EventKind

# The behaviour action an audience names, for each event kind a fold writes ("bought": an order).
ACTION_OF_EVENT: dict[EventKind, str] = {
    EventKind.VIEW: "viewed",
    EventKind.CLICK: "clicked",
    EventKind.LIKE: "liked",
    EventKind.COMMENT: "commented",
    EventKind.SHARE: "shared",
}
BOUGHT = "bought"


@dataclass(frozen=True)
class ProductFacts:
    """What a behaviour condition may name of a product besides its sku."""

    brands: frozenset[str] = frozenset()  # brand ids (lower-cased names)
    categories: frozenset[str] = frozenset()  # its categories and all their ancestors


@dataclass(frozen=True)
class ActionRead:
    """A behaviour action a definition tests, on one sku, brand or category (the model asks for one)."""

    action: str
    sku: str | None = None
    brand: str | None = None  # as the condition gives it; brand ids are lower-cased
    category: str | None = None

    def names(self, sku: str, facts: ProductFacts | None) -> bool:
        """Whether an event on ``sku`` may change this condition (a product not described: it may)."""
        if self.sku is not None:
            return sku == self.sku
        if facts is None:
            return True
        if self.brand is not None:
            return self.brand.lower() in facts.brands
        return self.category is None or self.category in facts.categories


@dataclass(frozen=True)
class AudienceReads:
    """The tag ids and behaviour actions of a user that a definition's own conditions test."""

    tags: frozenset[str] = frozenset()
    actions: frozenset[ActionRead] = frozenset()


def reads(root: Condition) -> AudienceReads:
    """What ``root`` reads of the user it judges (not of the friends, followers or referrers it names)."""
    own = list(conditions(root, own=True))
    return AudienceReads(
        frozenset(node.tag.tagId for node in own if isinstance(node, TagNode)),
        frozenset(
            ActionRead(node.behavior.action, node.behavior.sku, node.behavior.brand, node.behavior.category)
            for node in own
            if isinstance(node, BehaviorNode)
        ),
    )


Describe = Callable[[Collection[str]], Mapping[str, ProductFacts | None]]


@dataclass
class Touched:
    """What a fold changed, per user: the users re-evaluated for an audience are those whose changes it
    reads. ``profiles``: users identified (or created): every audience. ``describe`` tells the brands and
    categories of products (None: not in the graph), asked only when an audience names one and at most once
    per product (``describe`` absent: every product may match)."""

    profiles: set[str]
    actions: dict[
        str, dict[str, set[str]]
    ]  # action -> user -> skus of their new events of it (BOUGHT: orders)
    tags: dict[str, set[str]]  # tag id -> users who gained, lost or changed it
    describe: Describe | None = None
    _facts: dict[str, ProductFacts | None] = field(default_factory=dict, repr=False)

    def users_for(self, wanted: AudienceReads) -> set[str]:
        users = set(self.profiles)
        for read in wanted.actions:
            acted = self.actions.get(read.action, {})
            facts = (
                {} if read.sku is not None else self._facts_of({s for skus in acted.values() for s in skus})
            )
            users.update(u for u, skus in acted.items() if any(read.names(s, facts.get(s)) for s in skus))
        for tag_id in wanted.tags:
            users |= self.tags.get(tag_id, set())
        return users

    def _facts_of(self, skus: set[str]) -> dict[str, ProductFacts | None]:
        unknown = skus - self._facts.keys()
        if unknown and self.describe is not None:
            described = self.describe(sorted(unknown))
            self._facts.update({sku: described.get(sku) for sku in unknown})
        return self._facts


__all__ = ["ACTION_OF_EVENT", "BOUGHT", "ActionRead", "AudienceReads", "ProductFacts", "Touched", "reads"]
