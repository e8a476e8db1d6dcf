"""The GraphQL enums: the graph's own enums (graph/kinds.py), each given its GraphQL description here.

Every API module imports them from this module, so each enum is made a GraphQL enum once, before any type
names it (Strawberry would otherwise make a second, undescribed one for a type read first).
"""

from __future__ import annotations

from enum import Enum

import strawberry

from personagraph.graph.kinds import OLD_PURPOSE, SURVEY_PURPOSE, EventKind, Purpose, QuestionScale, TagTier

strawberry.enum(EventKind, description="Behaviour event kinds.")
strawberry.enum(Purpose, description="What an audience is for; consent decides who it may contain.")
strawberry.enum(TagTier, description="The three tag tiers: who someone is, what they do, what they want.")
strawberry.enum(
    QuestionScale, description="How a survey question is answered: Likert 1-5 or 1-7, NPS 0-10, choices."
)


@strawberry.enum(description="What a consent statement is about.")
class ConsentPurpose(Enum):
    """The consent purposes of graph/kinds.py (CONSENT_PURPOSES), and the old name, deprecated."""

    MARKETING = Purpose.MARKETING.value  # marketing messages (audiences for the MARKETING purpose)
    PERSONALISED = Purpose.PERSONALISED.value  # recommendations from the user's own history
    ADVERTISING = Purpose.ADVERTISING.value  # audiences pushed to ad platforms (docs/activation.md)
    SURVEYS = SURVEY_PURPOSE  # the use of the user's survey answers (docs/surveys.md)
    PERSONALISATION = strawberry.enum_value(
        OLD_PURPOSE, deprecation_reason="Use PERSONALISED, the purpose's name in audiences too."
    )


__all__ = ["ConsentPurpose", "EventKind", "Purpose", "QuestionScale", "TagTier"]
