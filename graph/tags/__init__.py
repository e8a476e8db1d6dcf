"""The tag engine: a taxonomy of tags, manual tagging, and rule tags kept in step with behaviour."""

from personagraph.graph.tags.engine import (
    RefreshReport,
    RuleReport,
    TagCache,
    TagChange,
    latest_order_time,
    refresh_tags,
)
from personagraph.graph.tags.rule_file import (
    DEFAULT_RULES,
    Rule,
    RuleFileError,
    RuleSet,
    TagSpec,
    load_rules,
    parse_rules,
)
from personagraph.graph.tags.taxonomy import (
    Tag,
    TagInputError,
    TagUsage,
    UserTagChange,
    find_tags,
    list_tags,
    resolve_tag,
    tag_user,
    untag_user,
    upsert_tag,
)

__all__ = [
    "DEFAULT_RULES",
    "RefreshReport",
    "Rule",
    "RuleFileError",
    "RuleReport",
    "RuleSet",
    "Tag",
    "TagCache",
    "TagChange",
    "TagInputError",
    "TagSpec",
    "TagUsage",
    "UserTagChange",
    "find_tags",
    "latest_order_time",
    "list_tags",
    "load_rules",
    "parse_rules",
    "refresh_tags",
    "resolve_tag",
    "tag_user",
    "untag_user",
    "upsert_tag",
]
