"""What every benchmark shares: where results go, how the machine is described, and the credentials
and private files of a personagraph server a bench starts."""

from __future__ import annotations

import json
import os
import platform
import secrets
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# The Authorization header value the Node load generators (bench/api-node/loadgen.mjs, mixload.mjs)
# add to every request they send, when this variable is set in their environment.
AUTH_ENV = "BENCH_AUTHORIZATION"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_results(name: str, result: dict[str, Any], markdown: str) -> None:
    """bench/results/<name>.json (the numbers) and <name>.md (the table)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / f"{name}.md").write_text(markdown)


def private_env(workdir: Path) -> dict[str, str]:
    """PERSONA_* variables that keep what personagraph writes about itself (its audit log, its master
    secret, its event log and shared API state) in ``workdir``, not in the user's data dir. The secret is made once per work dir, so every
    process of one bench run (server, loaders) shares it."""
    key_file = workdir / "bench-secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return {
        "PERSONA_AUDIT_LOG": str(workdir / "audit.log"),
        "PERSONA_SECRET_KEY": key_file.read_text().strip(),
        "PERSONA_EVENT_LOG_PATH": str(workdir / "events.sqlite3"),  # the event log belongs to this graph
        "PERSONA_API_STATE_PATH": str(workdir / "api-state.sqlite3"),
    }


def api_credentials(workdir: Path, role: str = "admin") -> tuple[dict[str, str], str]:
    """A keys file in ``workdir`` holding one new API key of ``role`` for a personagraph server the
    bench starts: (the PERSONA_* variables for that server, the ``Authorization`` header value every
    request to it must carry). Admin by default: the benches compare exact counts with other
    contenders, and only admins see them unrounded."""
    from personagraph.api.auth import KeyFile  # here: most benches never start the API

    keys = workdir / "api-keys.json"
    _, token = KeyFile(keys).create("bench", role)
    return {**private_env(workdir), "PERSONA_API_KEYS_FILE": str(keys)}, f"Bearer {token}"
