"""The domain's fixed names, one definition each: the loaders, tags, audiences, the CLI and the API all
import them from here (the API's GraphQL enums are these classes, given a description in api/).

Each value is what the graph stores and what a file or a command line spells (lower case); the member
name is the GraphQL enum value.
"""

from __future__ import annotations

from enum import StrEnum


class ChannelKind(StrEnum):
    """What sort of channel a user is acquired or an order is placed through (channels.csv `kind`)."""

    ONLINE = "online"
    OFFLINE = "offline"
    SOCIAL = "social"
    ADS = "ads"
    STORE = "store"
    REFERRAL = "referral"


class TieKind(StrEnum):
    """A social tie between two users as loaded (ties.csv `kind`): FOLLOWS, FRIEND_OF or REFERRED."""

    FOLLOWS = "follows"
    FRIEND = "friend"
    REFERRED = "referred"


class TieList(StrEnum):
    """Which of a user's ties a list walks: friends (either way), who follows them, whom they follow."""

    FRIENDS = "friends"
    FOLLOWERS = "followers"
    FOLLOWING = "following"


class EventKind(StrEnum):
    """A behaviour event (events.csv `kind`; the API's EventKind)."""

    VIEW = "view"
    CLICK = "click"
    LIKE = "like"
    COMMENT = "comment"
    SHARE = "share"
    SEARCH = "search"


class TagTier(StrEnum):
    """The three tag tiers: who someone is, what they do, what they want."""

    BASIC = "basic"
    BEHAVIOR = "behavior"
    PREFERENCE = "preference"


class TagSource(StrEnum):
    """Who gave a user a tag: a person (manual), a rule of rules/tags.yaml, or a model."""

    MANUAL = "manual"
    RULE = "rule"
    MODEL = "model"


class QuestionScale(StrEnum):
    """How a survey question is answered (surveys.csv `scale`): a Likert scale of 1-5 or 1-7, a Net
    Promoter Score of 0-10, one option, or any of the options (docs/surveys.md)."""

    LIKERT5 = "likert5"
    LIKERT7 = "likert7"
    NPS = "nps"
    SINGLE = "single"
    MULTI = "multi"


# The scores a numeric scale takes, both ends included.
SCALE_RANGES: dict[QuestionScale, tuple[int, int]] = {
    QuestionScale.LIKERT5: (1, 5),
    QuestionScale.LIKERT7: (1, 7),
    QuestionScale.NPS: (0, 10),
}


class Purpose(StrEnum):
    """What an audience is for; consent decides who it may contain (marketing and personalised need it)."""

    MARKETING = "marketing"
    PERSONALISED = "personalised"  # recommendations from the user's own history (stored; schema V004)
    ANALYSIS = "analysis"
    ADVERTISING = "advertising"  # audiences delivered to ad platforms (graph/activation/, docs/activation.md)


PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)
# The purposes a consent statement is about, named as audiences name them.
CONSENT_PURPOSES: tuple[str, ...] = (
    Purpose.MARKETING.value,
    Purpose.PERSONALISED.value,
    Purpose.ADVERTISING.value,
)
# Survey answers (psychographics): shown by the API and used by rule tags and audiences unless the user
# withdrew it (u.surveyOptOut; docs/surveys.md). A consent purpose, not an audience's purpose.
SURVEY_PURPOSE = "surveys"
CONSENT_PURPOSES += (SURVEY_PURPOSE,)
# Old names still accepted as input (and read from a graph not yet migrated by V004), with today's name.
OLD_PURPOSE = "personalisation"
CONSENT_ALIASES: dict[str, str] = {OLD_PURPOSE: Purpose.PERSONALISED.value}
