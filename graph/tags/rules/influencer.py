"""The most influential users by influenceRank (rule kind influencer)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from personagraph.graph.store import GraphStore
from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed


class Influencer(RuleParams):
    """influenceRank (from `persona analyze influence`) <= max_rank and/or within the top top_percent."""

    statement = "tags/rules/influencer"
    max_rank: int | None = Field(None, ge=1)
    top_percent: float | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _one_bar(self) -> Influencer:
        if self.max_rank is None and self.top_percent is None:
            raise ValueError("neither max_rank nor top_percent is set; expected at least one of them")
        return self

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        ranked = int(store.read("tags/rules/influencer_ranked")[0]["ranked"])
        cutoff = self.max_rank if self.max_rank is not None else ranked
        if self.top_percent is not None:
            cutoff = min(cutoff, math.ceil(ranked * self.top_percent / 100.0))
        if ranked == 0:
            return Prepared(reason="no influence ranks: run `persona analyze influence` first")
        return Prepared({"maxRank": cutoff, "ranked": ranked})

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {}

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        cutoff = int(prepared.params["maxRank"])
        rank = int(row["rank"])
        evidence = [f"influenceRank:{rank} of {prepared.params['ranked']}"]
        if row["score"] is not None:
            evidence.append(f"influence:{row['score']:.6f}")
        evidence += [
            f"{name}:{row[key]}" for name, key in (("degree", "degree"), ("reach2", "reach")) if row[key]
        ]
        if row["runId"]:
            evidence.append(f"run:{row['runId']}")
        return 1.0 - 0.5 * (rank - 1) / max(cutoff - 1, 1), evidence
