"""Pydantic models for one input row of each entity, and the pure row transforms for Cypher."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from personagraph.graph.bounds import MAX_PRICE, MAX_QUANTITY
from personagraph.graph.errors import TimeRangeError
from personagraph.graph.kinds import (
    SCALE_RANGES,
    ChannelKind,
    EventKind,
    QuestionScale,
    TagSource,
    TagTier,
    TieKind,
)
from personagraph.graph.money import money_float
from personagraph.graph.secrets import identity_key
from personagraph.graph.settings import get_settings
from personagraph.graph.spreadsheet import check_id
from personagraph.graph.times import utc


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _to_bool(value: object) -> object:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "t", "yes", "y", "1"}:
            return True
        if lowered in {"false", "f", "no", "n", "0"}:
            return False
    return value


def _to_datetime(value: object) -> object:
    """ISO-8601 (a bare date means midnight UTC) or epoch seconds; naive times are UTC."""
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError) as exc:  # past what the platform's time_t holds
            raise ValueError(f"epoch seconds {value.strip()!r} are out of range") from exc
    if isinstance(value, str) and len(value.strip()) == 10:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), UTC)
    return value


EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def _in_range(value: datetime | None) -> datetime | None:
    """A time that stays within years 1-9999 in UTC and a day either side (so in any reporting zone)."""
    if value is None:
        return None
    try:
        in_utc: datetime | None = utc(value)
    except TimeRangeError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise ValueError(f"{value.isoformat()} is out of range; expected a time from year 2 to 9998")
    return value


Text = Annotated[str | None, BeforeValidator(_blank_to_none)]
# Text that becomes an indexed property or a node key (User.city and .gender, Brand, Category, a parent
# Tag): Neo4j refuses an index entry over ~8 kB with a database error, so longer values are rejected here.
IndexedText = Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_blank_to_none)]
# Ids (and references to ids) may not begin with a spreadsheet formula lead (= + - @ tab CR): an export
# opened in a spreadsheet would run them (graph/spreadsheet.py).
Key = Annotated[
    str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=200), AfterValidator(check_id)
]


def _id_or_none(value: str | None) -> str | None:
    return None if value is None else check_id(value)


Ref = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_id_or_none)]
# Text that is not always an id: an event's target (a sku, or a search's words, which may begin with -),
# an identity's value (a phone number begins with +).
KeyOrText = Annotated[str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=200)]
Flag = Annotated[bool | None, BeforeValidator(_blank_to_none), BeforeValidator(_to_bool)]
# Quantities and prices (graph/bounds.py, one definition for the loaders, the API and the CLI): a price
# is finite (Decimal refuses infinity and NaN), 0 to MAX_PRICE; a quantity 1 to MAX_QUANTITY. Unbounded,
# 2147483647 x 1e308 made an order total of inf, which no profile could show and the personas turned to NaN.
Price = Annotated[Annotated[Decimal, Field(ge=0, le=MAX_PRICE)] | None, BeforeValidator(_blank_to_none)]
Quantity = Annotated[Annotated[int, Field(gt=0, le=MAX_QUANTITY)] | None, BeforeValidator(_blank_to_none)]
When = Annotated[
    datetime | None, BeforeValidator(_blank_to_none), BeforeValidator(_to_datetime), AfterValidator(_in_range)
]
RequiredWhen = Annotated[
    datetime, BeforeValidator(_blank_to_none), BeforeValidator(_to_datetime), AfterValidator(_in_range)
]


EMPTY_IDENTITY_KEY = (
    "empty; identity hashes need a secret key (an unkeyed hash gives the phone number or email back in "
    "seconds): leave it unset for the deployment's key, or give a long random value"
)


def epoch_ms(value: datetime | None) -> int | None:
    """Times travel to Cypher as epoch milliseconds: the driver encodes ints far faster than datetimes."""
    return None if value is None else round(utc(value).timestamp() * 1000)


class RowContext(BaseModel):
    """What a row transform needs beyond the row: the identity salt, the reporting time zone, and where
    consent statements come from (the loader sets ``load:<file>`` and the load time per file)."""

    model_config = ConfigDict(frozen=True)

    # The key of identity hashes; None: graph.secrets.identity_key(get_settings()), derived from the master
    # secret unless PERSONA_IDENTITY_SALT is set. An empty key is refused: the hashes would be unkeyed.
    identity_salt: str | None = None
    timezone: str = "UTC"
    consent_source: str = "upsert"
    consent_at: datetime | None = None  # when a row gives no consent_updated_at; None: the write's time
    # True for files: a row without consent_updated_at is a copy of a statement of unknown time, which may
    # withdraw but not grant over a recorded statement (cypher/load/merge_users). False: a write made now.
    consent_from_file: bool = False
    # The ad-platform match keys of a raw identity (graph/activation/match_keys.py, set by the loaders, which
    # may import it): an identities row carries them as adKeys, kept only for users with advertising consent.
    # None: none derived (the keys an identity holds stay).
    match_keys: Callable[[str, str], list[str]] | None = None
    # The users with advertising consent (read as a file's load starts): only their identities get keys.
    advertising_users: frozenset[str] = frozenset()

    @field_validator("identity_salt")
    @classmethod
    def _keyed(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(f"identity_salt: {EMPTY_IDENTITY_KEY}")
        return value

    def identity_key(self) -> str:
        """The identity salt given, else the deployment's (graph.secrets.identity_key)."""
        if self.identity_salt is not None:
            return self.identity_salt
        return identity_key(get_settings())


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        raise NotImplementedError


def lower_enum(value: object) -> object:
    """Enum values (graph/kinds.py) are read trimmed and case-insensitively: ' Friend' is friend."""
    return value.strip().lower() if isinstance(value, str) else value


def _present(props: dict[str, Any]) -> dict[str, Any]:
    """The properties that have a value: one left out (None) keeps what the node holds."""
    return {k: v for k, v in props.items() if v is not None}


class ChannelRecord(Record):
    channel_id: Key
    name: Text = None
    kind: Annotated[ChannelKind | None, BeforeValidator(_blank_to_none), BeforeValidator(lower_enum)] = None

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        return {"channelId": self.channel_id, "props": {"name": self.name, "kind": self.kind}}


def age_band(birth_year: int | None, today: date | None = None) -> str | None:
    """Marketing age bands: <18, 18-24, 25-34, 35-44, 45-54, 55-64, 65+."""
    if birth_year is None:
        return None
    age = (today or date.today()).year - birth_year
    bands = ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))
    for upper, band in bands:
        if age < upper:
            return band
    return "65+"


class UserRecord(Record):
    user_id: Key
    gender: IndexedText = None
    birth_year: Annotated[Annotated[int, Field(ge=1900, le=2100)] | None, BeforeValidator(_blank_to_none)] = (
        None
    )
    occupation: Text = None
    education: Text = None
    income_band: Text = None
    city: IndexedText = None
    region: Text = None
    country: Text = None
    marketing_consent: Flag = None
    personalization_opt_out: Flag = None
    acquired_via: Ref = None
    acquired_at: When = None
    consent_updated_at: When = None  # when the consent flags of the row were given

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        props = {
            "gender": self.gender.lower() if self.gender else None,
            "birthYear": self.birth_year,
            "ageBand": age_band(self.birth_year),
            "occupation": self.occupation,
            "education": self.education,
            "incomeBand": self.income_band,
            "city": self.city,
            "region": self.region,
            "country": self.country,
        }
        return {
            "userId": self.user_id,
            "props": _present(props),
            "acquiredVia": self.acquired_via,
            "acquiredAt": epoch_ms(self.acquired_at),
            # The consent flags are set by the statement only when newer than what set them (never via props).
            "marketingConsent": self.marketing_consent,
            "personalizationOptOut": self.personalization_opt_out,
            "consentAt": epoch_ms(self.consent_updated_at or ctx.consent_at),
            "consentTimed": self.consent_updated_at is not None or not ctx.consent_from_file,
            "consentSource": ctx.consent_source,
        }


class ProductRecord(Record):
    sku: Key
    name: Text = None
    brand: IndexedText = None
    category: IndexedText = None
    price: Price = None
    currency: Text = None

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        path = [part.strip() for part in (self.category or "").split("/") if part.strip()]
        # Each category is keyed by its full path, so "Audio" under two parents stays two nodes.
        categories = [
            {"categoryId": "/".join(path[: i + 1]), "name": part, "level": i} for i, part in enumerate(path)
        ]
        props = {
            "name": self.name,
            "price": money_float(self.price) if self.price is not None else None,  # to the cent
            "currency": self.currency.upper() if self.currency else None,
        }
        return {
            "sku": self.sku,
            "props": _present(props),
            "brand": self.brand,
            "categories": categories,
        }


class OrderLineRecord(Record):
    line_id: Ref = None
    order_id: Key
    user_id: Key
    sku: Key
    ordered_at: RequiredWhen
    quantity: Quantity = None
    unit_price: Price = None
    channel_id: Ref = None

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        # Distinct lines of one order for one product stay distinct edges; a re-load finds the same key.
        line = self.line_id or _digest(
            self.order_id,
            self.sku,
            str(self.quantity or 1),
            str(self.unit_price),
            self.ordered_at.isoformat(),
        )
        return {
            "lineId": line,
            "orderId": self.order_id,
            "userId": self.user_id,
            "sku": self.sku,
            "orderedAt": epoch_ms(self.ordered_at),
            "quantity": self.quantity or 1,
            "unitPrice": money_float(self.unit_price) if self.unit_price is not None else None,
            "channelId": self.channel_id,
        }


class TieRecord(Record):
    src_user_id: Key
    dst_user_id: Key
    kind: Annotated[TieKind, BeforeValidator(lower_enum)]
    since: When = None

    @model_validator(mode="after")
    def _not_self(self) -> TieRecord:
        if self.src_user_id == self.dst_user_id:
            raise ValueError(f"a user cannot be tied to themself ({self.src_user_id!r})")
        return self

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        src, dst = self.src_user_id, self.dst_user_id
        if self.kind is TieKind.FRIEND and dst < src:
            src, dst = dst, src  # friendship is stored once, from the smaller id
        return {"src": src, "dst": dst, "since": epoch_ms(self.since)}


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).hexdigest()


def normalise_identity(kind: str, value: str) -> str:
    """Emails compare case-insensitively, phones by their digits, other ids as given (trimmed)."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return re.sub(r"\D", "", value)
    return value


def hash_identity(kind: str, value: str, salt: str) -> str:
    """Keyed hash so raw emails and phones never reach the graph, yet equal values still match."""
    if not salt.strip():
        raise ValueError(f"salt: {EMPTY_IDENTITY_KEY}")
    return hmac.new(
        salt.encode("utf-8"), f"{kind}:{normalise_identity(kind, value)}".encode(), "sha256"
    ).hexdigest()


class IdentityRecord(Record):
    user_id: Key
    kind: Annotated[str, BeforeValidator(lower_enum), Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    value: KeyOrText  # an email or a phone number (+86 ...), hashed before it is stored

    @model_validator(mode="after")
    def _usable(self) -> IdentityRecord:
        if not normalise_identity(self.kind, self.value):
            raise ValueError(f"{self.kind} value {self.value!r} has nothing to match on")
        return self

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "kind": self.kind,
            "value": hash_identity(self.kind, self.value, ctx.identity_key()),
            "adKeys": ctx.match_keys(self.kind, self.value)
            if ctx.match_keys and self.user_id in ctx.advertising_users
            else None,
        }


class EventRecord(Record):
    event_id: Ref = None
    user_id: Key
    kind: Annotated[EventKind, BeforeValidator(lower_enum)]
    at: RequiredWhen
    target: KeyOrText
    channel_id: Ref = None

    @field_validator("target")
    @classmethod
    def _target_id(cls, target: str, info: ValidationInfo) -> str:
        # a sku is an id; a search's words are not
        return target if info.data.get("kind") is EventKind.SEARCH else check_id(target)

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        at = None if self.at is None else utc(self.at)
        assert at is not None
        target = " ".join(self.target.lower().split()) if self.kind is EventKind.SEARCH else self.target
        # Without an event id, the event's own content is its key, so a re-load adds nothing.
        key = self.event_id or _digest(self.user_id, self.kind.value, at.isoformat(), target)
        return {
            "userId": self.user_id,
            "target": target,
            "key": key,
            "at": epoch_ms(at),
            "hour": at.astimezone(ZoneInfo(ctx.timezone)).hour,
            "channelId": self.channel_id,
        }


class TagRecord(Record):
    tag_id: Key
    name: Text = None
    tier: Annotated[TagTier, BeforeValidator(lower_enum)]
    parent_id: Annotated[IndexedText, AfterValidator(_id_or_none)] = None
    description: Text = None

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        props = {"name": self.name or self.tag_id, "tier": self.tier.value, "description": self.description}
        return {
            "tagId": self.tag_id,
            "props": _present(props),
            "parentId": self.parent_id,
        }


class UserTagRecord(Record):
    user_id: Key
    tag_id: Key
    weight: Annotated[Annotated[float, Field(ge=0, le=1)] | None, BeforeValidator(_blank_to_none)] = None
    source: Annotated[TagSource | None, BeforeValidator(_blank_to_none), BeforeValidator(lower_enum)] = None
    assigned_at: When = None
    expires_at: When = None

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "tagId": self.tag_id,
            "weight": 1.0 if self.weight is None else self.weight,
            "source": (self.source or TagSource.MANUAL).value,
            "assignedAt": epoch_ms(self.assigned_at),
            "expiresAt": epoch_ms(self.expires_at),
        }


# -- surveys (docs/surveys.md) ------------------------------------------------------------------------------

# Between the options of a choice question (surveys.csv `options`) and the choices of a multiple-choice
# answer (survey_answers.csv `answer`): "price|quality".
CHOICE_SEPARATOR = "|"
# Between a question's key and an answer in the key a survey_answers row names the answer by, which
# cypher/surveys/read/fitting_answers splits (a control character: no key or answer holds one).
ANSWER_SEPARATOR = "\x1f"
MAX_OPTIONS = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INTEGER = re.compile(r"^[+-]?\d{1,9}$")


def question_key(survey_id: str, question_id: str) -> str:
    """A question's key in the graph: its survey's id and its own, ``nps-2024/q1`` (question ids repeat
    across surveys; a survey id holds no '/')."""
    return f"{survey_id}/{question_id}"


def _survey_id(value: str) -> str:
    if "/" in value:
        raise ValueError(f"a survey id holds no '/' (it names the questions, survey/question): {value!r}")
    return value


def choices_of(text: str) -> list[str]:
    """The parts of an answer or an option list, each trimmed, in the order given, each once; an integer
    part is written plainly (' 07' is '7', '+3' is '3'). ValueError for an empty part or a control
    character."""
    if _CONTROL.search(text):
        raise ValueError("holds a control character")
    parts: list[str] = []
    for raw in text.split(CHOICE_SEPARATOR):
        part = raw.strip()
        if not part:
            raise ValueError(f"{text!r} has an empty part (parts are separated by {CHOICE_SEPARATOR!r})")
        if _INTEGER.match(part):
            part = str(int(part))
        if len(part) > 200:
            raise ValueError(f"a part is at most 200 characters: {part[:20]!r}...")
        if part not in parts:
            parts.append(part)
    return parts


SurveyKey = Annotated[Key, AfterValidator(_survey_id)]


class SurveyQuestionRecord(Record):
    """One question of a survey (surveys.csv: one row per question; the survey's title may repeat)."""

    survey_id: SurveyKey
    title: Text = None
    question_id: Key
    question: Text = None  # the question's wording
    scale: Annotated[QuestionScale, BeforeValidator(lower_enum)]
    # choice questions: "price|quality|brand" (validated when left out too: a choice question needs them)
    options: Annotated[Text, Field(validate_default=True)] = None
    position: Annotated[Annotated[int, Field(ge=0, le=10_000)] | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("options")
    @classmethod
    def _options_fit_scale(cls, options: str | None, info: ValidationInfo) -> str | None:
        scale = info.data.get("scale")
        if scale is None:
            return options  # already reported on scale
        if scale not in (QuestionScale.SINGLE, QuestionScale.MULTI):
            if options is not None:
                raise ValueError(f"a {scale.value} question takes no options (its scores are fixed)")
            return None
        if options is None:
            raise ValueError(f"a {scale.value} question needs options, e.g. 'price|quality|brand'")
        count = len(choices_of(options))
        if not 2 <= count <= MAX_OPTIONS:
            raise ValueError(f"a choice question has 2 to {MAX_OPTIONS} distinct options, not {count}")
        return options

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        low, high = SCALE_RANGES.get(self.scale, (None, None))
        return {
            "surveyId": self.survey_id,
            "title": self.title,
            "questionKey": question_key(self.survey_id, self.question_id),
            "questionId": self.question_id,
            "text": self.question,
            "scale": self.scale.value,
            "options": choices_of(self.options) if self.options is not None else None,
            "low": low,
            "high": high,
            "position": self.position,
        }


class SurveyAnswerRecord(Record):
    """One answer of a user to one question (survey_answers.csv). Whether the answer fits the question's
    scale or options is checked against the question, like a reference (cypher/surveys/read/fitting_answers):
    a score of 0-10 for an NPS question, 1-5 or 1-7 for a Likert one, one option or several ('a|b')."""

    user_id: Key
    survey_id: SurveyKey
    question_id: Key
    answer: Annotated[str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=2000)]
    answered_at: RequiredWhen
    channel_id: Ref = None

    @field_validator("answer")
    @classmethod
    def _parts(cls, answer: str) -> str:
        return CHOICE_SEPARATOR.join(choices_of(answer))

    def to_row(self, ctx: RowContext) -> dict[str, Any]:
        key = question_key(self.survey_id, self.question_id)
        choices = self.answer.split(CHOICE_SEPARATOR)
        score = int(choices[0]) if len(choices) == 1 and _INTEGER.match(choices[0]) else None
        return {
            "userId": self.user_id,
            "surveyId": self.survey_id,
            "questionId": self.question_id,
            "questionKey": key,
            "answer": self.answer,
            "answerKey": f"{key}{ANSWER_SEPARATOR}{self.answer}",
            "choices": choices,
            "score": score,
            "at": epoch_ms(self.answered_at),
            "channelId": self.channel_id,
        }
