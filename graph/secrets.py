"""The deployment's master secret and the keys derived from it.

One secret (``PERSONA_SECRET_KEY``) keys everything that must be stable across processes and restarts
but unguessable from outside: the noise on counts shown to roles below admin, the hashes on the
suppression list of forgotten users and the identity hashes (emails, phones, ...). Each use gets its
own key, derived with HMAC-SHA256, so one never helps guess another. Without the setting, a random
key is created once in ``<data_dir>/secret.key`` (mode 0600): fine for one machine; set the same
``PERSONA_SECRET_KEY`` on every host that serves or loads the same graph (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from threading import Lock

from personagraph.graph.errors import ConfigurationError
from personagraph.graph.settings import Settings

_lock = Lock()
_from_files: dict[Path, bytes] = {}


def master_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    path = settings.data_dir / "secret.key"
    with _lock:
        if path not in _from_files:
            _from_files[path] = _read_or_create(path)
        return _from_files[path]


def derived_key(settings: Settings, purpose: str) -> bytes:
    """The key for one use (``"count-noise"``, ``"suppression"``, ...)."""
    return hmac.new(master_key(settings), purpose.encode("utf-8"), hashlib.sha256).digest()


def identity_key(settings: Settings) -> str:
    """The key of identity hashes (loaders/records.hash_identity): ``PERSONA_IDENTITY_SALT`` when set,
    else a key derived from the master secret (so kept in ``<data_dir>/secret.key`` from the first start).

    An explicitly empty salt is refused: identity hashes without a key are a dictionary lookup away from
    the phone number or email they stand for.
    """
    if settings.identity_salt is not None:
        salt = settings.identity_salt.get_secret_value()
        if not salt.strip():
            raise ConfigurationError(
                "PERSONA_IDENTITY_SALT is set but empty: identity hashes would have no key, and a phone "
                "number or email could be recovered from its hash in seconds. Unset it (a key derived from "
                "PERSONA_SECRET_KEY or <data_dir>/secret.key is used) or set a long random value"
            )
        return salt
    return derived_key(settings, "identity").hex()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` as hex: the same value always gives the same hash under one key."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _read_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="ascii").strip().encode("ascii")
