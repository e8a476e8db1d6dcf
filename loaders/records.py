"""Pydantic models for one input row of each entity, and the pure row transforms for Cypher."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


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
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str) and len(value.strip()) == 10:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), UTC)
    return value


Text = Annotated[str | None, BeforeValidator(_blank_to_none)]
Key = Annotated[str, BeforeValidator(_blank_to_none), Field(min_length=1, max_length=200)]
Flag = Annotated[bool | None, BeforeValidator(_blank_to_none), BeforeValidator(_to_bool)]
When = Annotated[datetime | None, BeforeValidator(_blank_to_none), BeforeValidator(_to_datetime)]
RequiredWhen = Annotated[datetime, BeforeValidator(_blank_to_none), BeforeValidator(_to_datetime)]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    def to_row(self) -> dict[str, Any]:
        raise NotImplementedError


class ChannelKind(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    SOCIAL = "social"
    ADS = "ads"
    STORE = "store"
    REFERRAL = "referral"


class ChannelRecord(Record):
    channel_id: Key
    name: Text = None
    kind: Annotated[ChannelKind | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("kind", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def to_row(self) -> dict[str, Any]:
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
    gender: Text = None
    birth_year: Annotated[int | None, BeforeValidator(_blank_to_none), Field(ge=1900, le=2100)] = None
    occupation: Text = None
    education: Text = None
    income_band: Text = None
    city: Text = None
    region: Text = None
    country: Text = None
    marketing_consent: Flag = None
    personalization_opt_out: Flag = None
    acquired_via: Text = None
    acquired_at: When = None

    def to_row(self) -> dict[str, Any]:
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
            "marketingConsent": self.marketing_consent,
            "personalizationOptOut": self.personalization_opt_out,
        }
        return {
            "userId": self.user_id,
            "props": {k: v for k, v in props.items() if v is not None},
            "acquiredVia": self.acquired_via,
            "acquiredAt": _utc(self.acquired_at),
        }


class ProductRecord(Record):
    sku: Key
    name: Text = None
    brand: Text = None
    category: Text = None
    price: Annotated[Decimal | None, BeforeValidator(_blank_to_none), Field(ge=0)] = None
    currency: Text = None

    def to_row(self) -> dict[str, Any]:
        path = [part.strip() for part in (self.category or "").split("/") if part.strip()]
        # Each category is keyed by its full path, so "Audio" under two parents stays two nodes.
        categories = [
            {"categoryId": "/".join(path[: i + 1]), "name": part, "level": i} for i, part in enumerate(path)
        ]
        props = {
            "name": self.name,
            "price": float(self.price) if self.price is not None else None,
            "currency": self.currency.upper() if self.currency else None,
        }
        return {
            "sku": self.sku,
            "props": {k: v for k, v in props.items() if v is not None},
            "brand": self.brand,
            "categories": categories,
        }


class OrderLineRecord(Record):
    order_id: Key
    user_id: Key
    sku: Key
    ordered_at: RequiredWhen
    quantity: Annotated[int, BeforeValidator(_blank_to_none), Field(gt=0)] = 1
    unit_price: Annotated[Decimal | None, BeforeValidator(_blank_to_none), Field(ge=0)] = None
    channel_id: Text = None

    def to_row(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "userId": self.user_id,
            "sku": self.sku,
            "orderedAt": _utc(self.ordered_at),
            "quantity": self.quantity,
            "unitPrice": float(self.unit_price) if self.unit_price is not None else None,
            "channelId": self.channel_id,
        }


class TieKind(StrEnum):
    FOLLOWS = "follows"
    FRIEND = "friend"
    REFERRED = "referred"


class TieRecord(Record):
    src_user_id: Key
    dst_user_id: Key
    kind: TieKind
    since: When = None

    @field_validator("kind", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def to_row(self) -> dict[str, Any]:
        src, dst = self.src_user_id, self.dst_user_id
        if self.kind is TieKind.FRIEND and dst < src:
            src, dst = dst, src  # friendship is stored once, from the smaller id
        return {"src": src, "dst": dst, "since": _utc(self.since)}
