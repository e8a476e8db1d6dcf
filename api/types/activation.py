"""Activation: push a saved audience to an ad platform as its upload files, written on the server under
``<data_dir>/activation/``; admins and marketers only (api/policy.py), a marketer only their own audiences;
audited as every mutation, and the push itself by graph/activation/push.py (docs/activation.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.errors import ApiError
from personagraph.api.policy import ADMIN, PolicyError
from personagraph.graph.activation.platforms import Platform
from personagraph.graph.activation.push import PushReport, push_audience
from personagraph.graph.audiences.service import saved_audience

Ctx = Info[Context, None]


@strawberry.enum(description="An ad platform a saved audience can be pushed to (docs/activation.md).")
class AdPlatform(Enum):
    GOOGLE = Platform.GOOGLE.value  # Google Customer Match: CSV of SHA-256 emails and E.164 phones
    META = Platform.META.value  # Meta custom audience customer list: CSV of SHA-256 emails and phones
    TENCENT = Platform.TENCENT.value  # 腾讯广告 customer files: one MD5 / SHA-256 per line per id type
    OCEANENGINE = Platform.OCEANENGINE.value  # 巨量引擎 audience package: id-type files in one zip


@strawberry.type(description="One file a push wrote on the server.")
class PushFile:
    name: str
    path: str = strawberry.field(description="Where the file is on the server.")
    rows: int = strawberry.field(description="People (CSV files) or hashes (one-per-line files) in it.")


@strawberry.type(
    description="A push of a saved audience to an ad platform: what went out and where the files are."
)
class AudiencePush:
    id: strawberry.ID
    audience_id: strawberry.ID
    platform: AdPlatform
    diff: bool = strawberry.field(description="True: files of the keys to add and to remove; false: full.")
    at: datetime
    actor: str
    members: int = strawberry.field(description="Members of the audience with advertising consent.")
    users: int = strawberry.field(description="People in the files (members with a key the platform takes).")
    keys: int = strawberry.field(description="Match keys sent in all (a full push's files hold them all).")
    added: int = strawberry.field(description="Keys added since the previous push (all, on a first push).")
    removed: int = strawberry.field(description="Keys removed since the previous push.")
    previous_push_id: strawberry.ID | None
    folder: str = strawberry.field(description="The folder on the server holding the files.")
    files: list[PushFile]

    @staticmethod
    def of(report: PushReport) -> AudiencePush:
        return AudiencePush(
            id=strawberry.ID(report.push_id),
            audience_id=strawberry.ID(report.audience_id),
            platform=AdPlatform(report.platform.value),
            diff=report.mode == "diff",
            at=report.at,
            actor=report.actor,
            members=report.members,
            users=report.users,
            keys=report.keys,
            added=report.added,
            removed=report.removed,
            previous_push_id=strawberry.ID(report.previous_push_id) if report.previous_push_id else None,
            folder=str(report.folder),
            files=[PushFile(name=f.path.name, path=str(f.path), rows=f.rows) for f in report.files],
        )


@strawberry.type
class ActivationMutations:
    @strawberry.mutation(
        description="Push a saved audience to an ad platform: its members with advertising consent, as the "
        "platform's upload files (full, or a diff since the last push of it there), written on the server. "
        "Refused under the k-anonymity floor."
    )
    async def push_audience(
        self,
        info: Ctx,
        audience_id: strawberry.ID,
        platform: AdPlatform,
        diff: Annotated[
            bool, strawberry.argument(description="Files of the keys to add and remove since the last push.")
        ] = False,
    ) -> AudiencePush:
        ctx = info.context
        role = ctx.role
        caller = ctx.principal.subject if ctx.principal else "unknown"
        if ctx.settings is None:
            raise ApiError("pushes need the server's settings, which this context lacks", "UNAVAILABLE")
        saved = await ctx.call(saved_audience, audience_id=str(audience_id))
        if role != ADMIN and saved.owner != caller:
            raise PolicyError(f"audienceId: the {role.value} role may push only audiences it owns")
        out: Path = ctx.settings.data_dir / "activation" / uuid.uuid4().hex
        report = await ctx.call(
            push_audience,
            audience_id=str(audience_id),
            platform=Platform(platform.value),
            out=out,
            diff=diff,
            k=ctx.disclosure.k,
            actor=caller,
            role=role.value,
            audit=ctx.audit,
        )
        return AudiencePush.of(report)


__all__ = ["ActivationMutations", "AdPlatform", "AudiencePush", "PushFile"]
