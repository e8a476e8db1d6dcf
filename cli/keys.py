"""`persona keys`: API keys for the GraphQL API (api/auth.py), kept hashed in PERSONA_API_KEYS_FILE."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from personagraph.api.auth import KeyFile
from personagraph.api.policy import Role
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.settings import get_settings

console = CliConsole(stderr=True)
keys_app = typer.Typer(
    help="Create, list and revoke API keys (roles: admin, service, marketer, analyst; docs/security.md).",
    no_args_is_help=True,
    epilog=examples(
        "persona keys create --name crm --role service  # prints the key once",
        "persona keys list",
        "persona keys revoke crm        # every key named crm, or a key id",
    ),
)
ROLES = ", ".join(r.value for r in Role)


def key_file() -> KeyFile:
    return KeyFile(get_settings().api_keys_path)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key (shown in the audit log).")],
    role: Annotated[str, typer.Option(help=f"One of {ROLES}.")],
) -> None:
    """Create a key and print it once (only its SHA-256 is kept)."""
    try:
        parsed = Role(role)
    except ValueError as exc:
        raise typer.BadParameter(f"role must be one of {ROLES}", param_hint="--role") from exc
    file = key_file()
    stored, token = file.create(name, parsed)
    console.print(
        f"created key {stored.key_id} ({stored.name}, {stored.role}) in {file.path}", highlight=False
    )
    console.print("Send it as `Authorization: Bearer <key>`; it is not shown again:", highlight=False)
    typer.echo(token)


@keys_app.command("list")
def list_keys() -> None:
    """Keys in the keys file (ids, names, roles, dates; never the keys)."""
    table = Table("key id", "name", "role", "created", "revoked")
    for k in key_file().read():
        table.add_row(k.key_id, k.name, k.role, k.created_at, k.revoked_at or "")
    CliConsole().print(table)  # data: stdout


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="A key id, or a name (revokes every key of it).")],
) -> None:
    """Revoke keys: servers stop accepting them within a second."""
    revoked = key_file().revoke(key)
    if not revoked:
        console.print(f"[red]error:[/] no live key with id or name {key!r}", highlight=False)
        raise typer.Exit(1)
    for k in revoked:
        console.print(f"revoked {k.key_id} ({k.name}, {k.role})", highlight=False)
