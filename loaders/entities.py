"""What each input file kind is: its record model, required columns and the statements it feeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loaders.records import (
    ChannelRecord,
    OrderLineRecord,
    ProductRecord,
    Record,
    TieKind,
    TieRecord,
    UserRecord,
)


@dataclass(frozen=True)
class EntityKind:
    name: str
    model: type[Record]
    statement: str

    @property
    def required_columns(self) -> list[str]:
        return [n for n, f in self.model.model_fields.items() if f.is_required()]

    def statement_for(self, record: Record) -> str:
        """The catalog statement one record goes to (ties split by kind)."""
        if isinstance(record, TieRecord):
            return f"load/merge_ties_{record.kind.value}"
        return self.statement

    def to_row(self, record: Record) -> dict[str, Any]:
        return record.to_row()


# Dependency order: referenced entities load before what refers to them.
KINDS: dict[str, EntityKind] = {
    k.name: k
    for k in (
        EntityKind("channels", ChannelRecord, "load/merge_channels"),
        EntityKind("products", ProductRecord, "load/merge_products"),
        EntityKind("users", UserRecord, "load/merge_users"),
        EntityKind("orders", OrderLineRecord, "load/merge_order_lines"),
        EntityKind("ties", TieRecord, "load/merge_ties_friend"),
    )
}
TIE_STATEMENTS = tuple(f"load/merge_ties_{k.value}" for k in TieKind)
