"""Definition tree -> Cypher boolean expressions over one user variable (see compile.py for statements).

One module per kind of condition, named for it, each turning its condition into an expression true
for the user bound to a variable:

- ``tags.py``: ``tag`` (holds a tag, not expired, at least a weight);
- ``attributes.py``: ``attribute`` (a test on one User property);
- ``segments.py``: ``lifecycle``, ``persona``, ``community``, ``influence`` (what graph.analytics writes);
- ``prediction.py``: ``prediction`` (a test on the stored churn probability or expected spend);
- ``behavior.py``: ``behavior`` (bought or viewed/clicked/... a product, brand or category in a window);
- ``acquired_via.py``: ``acquiredVia`` (acquisition channel);
- ``survey_answer.py``: ``surveyAnswer`` (the latest answer to a survey question meets a score or choice);
- ``friends_and_followers.py``: ``friends``, ``followers`` (at least n friends/followers who meet a
  condition);
- ``referral_hops.py``: ``referralHops`` (within n referral ties of a user or of a sub-audience);
- here: ``and``, ``or``, ``not`` and ``predicate``, which sends each condition to its module.

With compile.py, this is the one place in personagraph that builds Cypher text at run time: an
audience is an arbitrary tree, so no fixed catalog file can express it. The text is assembled only
from constant fragments in these modules; property names come from ``model.USER_FIELDS``,
relationship types and hop bounds from their tables, variable names from a counter. Every value a
user gave reaches Neo4j as a ``$pN`` parameter, never as text.
"""

from __future__ import annotations

from personagraph.graph.audiences.conditions.acquired_via import acquired_via
from personagraph.graph.audiences.conditions.attributes import attribute
from personagraph.graph.audiences.conditions.behavior import behaved
from personagraph.graph.audiences.conditions.context import Context, all_of
from personagraph.graph.audiences.conditions.friends_and_followers import has_ties
from personagraph.graph.audiences.conditions.prediction import prediction
from personagraph.graph.audiences.conditions.referral_hops import within_hops
from personagraph.graph.audiences.conditions.segments import in_segment, influence
from personagraph.graph.audiences.conditions.survey_answer import answered
from personagraph.graph.audiences.conditions.tags import has_tag
from personagraph.graph.audiences.model import (
    INDEXED_FIELDS,
    AcquiredViaNode,
    AndNode,
    AttributeNode,
    BehaviorNode,
    CommunityNode,
    Condition,
    FollowersNode,
    FriendsNode,
    InfluenceNode,
    LifecycleNode,
    NotNode,
    OrNode,
    PersonaNode,
    PredictionNode,
    ReferralHopsNode,
    SurveyAnswerNode,
    TagNode,
)

__all__ = ["Context", "indexed", "is_simple", "predicate"]


def predicate(node: Condition, var: str, ctx: Context) -> str:
    """A boolean Cypher expression true when the user bound to ``var`` meets ``node``."""
    if isinstance(node, AndNode):
        return all_of([predicate(c, var, ctx) for c in node.and_])
    if isinstance(node, OrNode):
        return "(" + " OR ".join(predicate(c, var, ctx) for c in node.or_) + ")"
    if isinstance(node, NotNode):  # a missing property compares as null: treat it as false first
        return f"NOT coalesce({predicate(node.not_, var, ctx)}, false)"
    if isinstance(node, TagNode):
        return has_tag(node.tag, var, ctx)
    if isinstance(node, BehaviorNode):
        return behaved(node.behavior, var, ctx)
    if isinstance(node, AcquiredViaNode):
        return acquired_via(node.acquiredVia, var, ctx)
    if isinstance(node, SurveyAnswerNode):
        return answered(node.surveyAnswer, var, ctx)
    if isinstance(node, FriendsNode | FollowersNode):
        return has_ties(node, var, ctx, predicate)
    if isinstance(node, ReferralHopsNode):
        return within_hops(node.referralHops, var, ctx, predicate)
    if isinstance(node, AttributeNode):
        return attribute(node.attribute, var, ctx)
    if isinstance(node, InfluenceNode):
        return influence(node.influence, var, ctx)
    if isinstance(node, PredictionNode):
        return prediction(node.prediction, var, ctx)
    return in_segment(node, var, ctx)


def is_simple(node: Condition) -> bool:
    """Only the user's own properties: can sit in the anchoring MATCH's WHERE (and use its indexes)."""
    if isinstance(node, AndNode | OrNode | NotNode):
        return all(is_simple(c) for c in node.children())
    return isinstance(
        node, AttributeNode | LifecycleNode | PersonaNode | CommunityNode | InfluenceNode | PredictionNode
    )


def indexed(node: Condition) -> bool:
    """An equality on an indexed User property: a MATCH can start from its index."""
    if isinstance(node, LifecycleNode | PersonaNode | CommunityNode):
        return True
    if not isinstance(node, AttributeNode):
        return False
    return node.attribute.field in INDEXED_FIELDS and node.attribute.op in ("eq", "in")
