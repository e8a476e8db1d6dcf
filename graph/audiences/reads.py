"""What a saved audience reads about a user itself, as a fold of events can change it: which tags, which
behaviour actions. The folding worker re-evaluates an audience only for the users whose inputs to it
changed (graph/audiences/service.py, refresh_membership).

Conditions on a user's friends, followers or referrers (``friends``, ``followers``, ``referralHops``) read
other users, whom a fold does not revisit; lifecycle, persona, community and influence are written by the
analyses, not by folds. A profile change (identify) may change anything: such users are re-evaluated
against every audience.
"""

from __future__ import annotations

from dataclasses import dataclass

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
class AudienceReads:
    """The tag ids and behaviour actions of a user that a definition's own conditions test."""

    tags: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()


def reads(root: Condition) -> AudienceReads:
    """What ``root`` reads of the user it judges (not of the friends, followers or referrers it names)."""
    own = list(conditions(root, own=True))
    return AudienceReads(
        frozenset(node.tag.tagId for node in own if isinstance(node, TagNode)),
        frozenset(node.behavior.action for node in own if isinstance(node, BehaviorNode)),
    )


@dataclass
class Touched:
    """What a fold changed, per user: the users re-evaluated for an audience are those whose changes it
    reads. ``profiles``: users identified (or created): every audience."""

    profiles: set[str]
    actions: dict[str, set[str]]  # behaviour action -> users with new events of it (BOUGHT: orders)
    tags: dict[str, set[str]]  # tag id -> users who gained, lost or changed it

    def users_for(self, wanted: AudienceReads) -> set[str]:
        users = set(self.profiles)
        for action in wanted.actions:
            users |= self.actions.get(action, set())
        for tag_id in wanted.tags:
            users |= self.tags.get(tag_id, set())
        return users


__all__ = ["ACTION_OF_EVENT", "BOUGHT", "AudienceReads", "Touched", "reads"]
