"""Output types built from graph/ records, field by field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types.base import get_object_definition

T = TypeVar("T")
R = TypeVar("R")


def from_record(cls: type[T], record: Any, **given: Any) -> T:
    """``cls`` with each of its plain GraphQL fields (those without a resolver) taken from the attribute
    of ``record`` of the same name, unless ``given`` (which also carries private fields)."""
    fields = get_object_definition(cls, strict=True).fields
    values = {
        f.python_name: getattr(record, f.python_name)
        for f in fields
        if f.base_resolver is None and f.python_name not in given
    }
    return cls(**values, **given)


async def load_one(loader: DataLoader[str, R | None], key: str, of: Callable[[R], T]) -> T | None:
    """The record under ``key`` (through the request's DataLoader) as an output type, None when none."""
    found = await loader.load(key)
    return of(found) if found else None
