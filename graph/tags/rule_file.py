"""The rule file (rules/tags.yaml): loaded and validated with pydantic, errors naming rule and field."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
)

from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.kinds import TagTier
from personagraph.graph.records import lower_enum
from personagraph.graph.tags.rules import KINDS, RuleParams

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "rules" / "tags.yaml"
TEMPLATE = "{category}"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TAG_ID = re.compile(r"^[\w][\w.-]{0,99}$")


class RuleFileError(PersonaGraphError):
    """The rule file is missing, is not YAML, or a rule in it is invalid."""


class TagSpec(BaseModel):
    """The tag a rule gives (or a taxonomy entry the rule tags hang under)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    tier: Annotated[TagTier, BeforeValidator(lower_enum)]
    parent: str | None = None
    description: str | None = None
    synonyms: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _TAG_ID.match(value.replace(TEMPLATE, "x")):
            raise ValueError(f"{value!r} is not a tag id; expected letters, digits, '.', '_' or '-'")
        return value

    def for_key(self, key: str) -> TagSpec:
        """The concrete tag of a templated spec for one key (a category): id slugged, name as given."""
        return self.model_copy(
            update={"id": self.id.replace(TEMPLATE, slug(key)), "name": self.name.replace(TEMPLATE, key)}
        )


class Rule(BaseModel):
    """One validated rule: what it tests (kind + params), which tag it gives, how long that lasts."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    tag: TagSpec
    ttl_days: float | None = None
    params: SerializeAsAny[RuleParams]


class _RuleHead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    tag: TagSpec
    ttl_days: float | None = Field(None, gt=0)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a rule id; expected lower-case letters, digits, '_' or '-'")
        return value

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"{value!r} is not a rule kind; expected one of {', '.join(KINDS)}")
        return value


class _FileHead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, ge=1, le=1)
    max_evidence: int = Field(5, ge=1, le=20)
    tags: list[TagSpec] = Field(default_factory=list)
    rules: list[Any] = Field(default_factory=list)


class RuleSet(BaseModel):
    """A whole rule file: taxonomy entries to create, the rules, and the evidence cap."""

    model_config = ConfigDict(frozen=True)

    source: str
    max_evidence: int = 5
    tags: tuple[TagSpec, ...] = ()
    rules: tuple[Rule, ...] = ()

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise RuleFileError(
            f"{self.source}: no rule {rule_id!r}; expected one of {[r.id for r in self.rules]}"
        )


def slug(text: str) -> str:
    """A tag-id-safe form of a name: lower case, runs of other characters become '-'."""
    return re.sub(r"[^\w]+", "-", text.strip().lower()).strip("-_") or "x"


def _explain(error: ValidationError) -> str:
    """Every problem as 'field: message (got value)'."""
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "rule"
        message = e["msg"].removeprefix("Value error, ")
        got = f" (got {e['input']!r})" if e["type"] != "missing" and not isinstance(e["input"], dict) else ""
        parts.append(f"{where}: {message}{got}")
    return "; ".join(parts)


def _parse_rule(raw: object, index: int, source: str) -> Rule:
    label = f"rules[{index}]"
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        label = f"rule {raw['id']!r} ({label})"
    if not isinstance(raw, dict):
        raise RuleFileError(f"{source}: {label}: {raw!r} is not a mapping; expected id, kind, tag, params")
    try:
        head = _RuleHead.model_validate(raw)
    except ValidationError as error:
        raise RuleFileError(f"{source}: {label}: {_explain(error)}") from None
    try:
        params = KINDS[head.kind].model_validate(head.params)
    except ValidationError as error:
        raise RuleFileError(f"{source}: {label}: params.{_explain(error)}") from None
    templated = TEMPLATE in head.tag.id
    if templated != params.templated:
        expected = f"an id holding {TEMPLATE}" if params.templated else f"an id without {TEMPLATE}"
        raise RuleFileError(
            f"{source}: {label}: tag.id: {head.tag.id!r} for kind {head.kind}; expected {expected}"
        )
    return Rule(id=head.id, kind=head.kind, tag=head.tag, ttl_days=head.ttl_days, params=params)


def parse_rules(data: object, *, source: str = "<rules>") -> RuleSet:
    """Validate a rule file's parsed YAML; the first bad rule raises RuleFileError naming it and the field."""
    if not isinstance(data, dict):
        raise RuleFileError(
            f"{source}: the file holds {type(data).__name__}; expected a mapping with 'rules:'"
        )
    try:
        head = _FileHead.model_validate(data)
    except ValidationError as error:
        raise RuleFileError(f"{source}: {_explain(error)}") from None
    rules = [_parse_rule(raw, i, source) for i, raw in enumerate(head.rules)]
    _check_unique(rules, source)
    return RuleSet(source=source, max_evidence=head.max_evidence, tags=tuple(head.tags), rules=tuple(rules))


def _check_unique(rules: list[Rule], source: str) -> None:
    """One rule per id and per tag, so each rule tag edge has exactly one owner."""
    seen: set[str] = set()
    tags: dict[str, str] = {}
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise RuleFileError(f"{source}: rule {rule.id!r} (rules[{i}]): id: {rule.id!r} is used twice")
        seen.add(rule.id)
        if rule.tag.id in tags:
            raise RuleFileError(
                f"{source}: rule {rule.id!r} (rules[{i}]): tag.id: {rule.tag.id!r} is already given by rule "
                f"{tags[rule.tag.id]!r}; expected one rule per tag"
            )
        tags[rule.tag.id] = rule.id


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and validate a rule file (default rules/tags.yaml); re-read only when the file changes."""
    file = Path(path) if path is not None else DEFAULT_RULES
    try:
        stamp = file.stat().st_mtime_ns
    except OSError as error:
        raise RuleFileError(
            f"{file}: cannot read the rule file ({error.strerror}); expected a YAML file"
        ) from None
    return _load(str(file.resolve()), stamp)


@lru_cache(maxsize=8)
def _load(path: str, stamp: int) -> RuleSet:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RuleFileError(f"{path}: not valid YAML: {error}") from None
    return parse_rules(data, source=path)
