"""Who is calling: API keys and JWT bearer tokens, each carrying one role (api/policy.py says what a
role may do).

Credentials travel in ``Authorization: Bearer <token>`` (or ``X-API-Key: <key>``):

- **API keys** look like ``pg_<key id>_<secret>``. ``persona keys create --name crm --role service``
  prints one once; the keys file (``PERSONA_API_KEYS_FILE``, default ``<data_dir>/api-keys.json``)
  keeps only its SHA-256 (the secret is 256 random bits, so a fast hash is enough), name, role and
  dates. Every process re-reads the file when it changes, so a revoked key stops working within a
  second everywhere.
- **JWTs** (PyJWT): ``PERSONA_JWT_ALGORITHM`` HS256 (``PERSONA_JWT_SECRET``) or RS256
  (``PERSONA_JWT_PUBLIC_KEY_FILE``). ``exp``, ``iat`` and ``sub`` are required, and ``exp - iat`` may
  not exceed ``PERSONA_JWT_MAX_LIFETIME_S`` (a day), so a leaked token is not good for years;
  ``iss`` / ``aud`` checked when set, the role read from ``PERSONA_JWT_ROLE_CLAIM`` (``role``). Only
  the configured algorithm is accepted (no ``none``, no HS/RS confusion).

``AuthMiddleware`` answers 401 (``UNAUTHENTICATED``, ``WWW-Authenticate: Bearer``) to any request
without valid credentials, except the health probes and the GraphiQL page itself (a GET of /graphql
asking for HTML, and the page's own scripts and styles under /graphiql/: static, api/ide.py; the
queries it sends need credentials like any other).
Refusals are counted per client IP: past ``PERSONA_API_AUTH_FAILURE_LIMIT`` a minute, every request
from that IP is answered 429 (``RATE_LIMITED``, ``Retry-After``) without its credentials being
looked at, until the budget refills. The principal goes into the ASGI scope's state, where the
GraphQL context, the rate limiter (one budget per key) and the audit log read it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from personagraph.api.console import is_console_page
from personagraph.api.http_limits import RATE_LIMITED, client_ip, refuse
from personagraph.api.ide import is_ide_asset, is_ide_navigation
from personagraph.api.policy import Role
from personagraph.api.rate_limiter import Buckets, RateLimiter
from personagraph.graph.errors import ConfigurationError
from personagraph.graph.settings import Settings

log = logging.getLogger(__name__)

KEY_PREFIX = "pg_"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
GRAPHIQL_PATH = "/graphql"  # the one path whose HTML page (GraphiQL) is served without credentials


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    subject: str  # the API key's name, or the token's `sub`
    role: Role
    via: Literal["api-key", "jwt"]
    key_id: str  # whose rate-limit budget: the key id, or the token's subject

    @property
    def budget(self) -> str:
        return f"{self.via}:{self.key_id}"


class AuthError(Exception):
    """Credentials missing or not valid: 401 with this message (never says which part was wrong
    beyond what helps an honest client)."""


# API keys --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    name: str
    role: str
    sha256: str
    created_at: str
    revoked_at: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyFile:
    """The API keys file: JSON ``{"keys": [StoredKey, ...]}``, written atomically, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[StoredKey]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [StoredKey(**k) for k in raw.get("keys", [])]
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"API keys file {self.path} is not valid: {exc}") from exc

    def create(self, name: str, role: Role | str) -> tuple[StoredKey, str]:
        """A new key: (what is stored, the token to hand over once)."""
        role = Role(role)
        if not name.strip():
            raise ValueError("name: give the key a name (who or what uses it)")
        key_id = secrets.token_hex(4)
        token = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        stored = StoredKey(
            key_id=key_id,
            name=name.strip(),
            role=role.value,
            sha256=_digest(token),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._write([*self.read(), stored])
        return stored, token

    def revoke(self, key_id_or_name: str) -> list[StoredKey]:
        """Revoke the key with this id, or every live key with this name; returns those revoked."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        keys, revoked = [], []
        for k in self.read():
            if k.revoked_at is None and key_id_or_name in (k.key_id, k.name):
                k = StoredKey(**{**asdict(k), "revoked_at": now})
                revoked.append(k)
            keys.append(k)
        if revoked:
            self._write(keys)
        return revoked

    def _write(self, keys: list[StoredKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"keys": [asdict(k) for k in keys]}, out, indent=2)
        os.replace(tmp, self.path)


class KeyRing:
    """Live keys by id, re-read when the file changes (checked at most once a second)."""

    CHECK_S = 1.0

    def __init__(self, file: KeyFile) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._keys: dict[str, StoredKey] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked = -1e9
        self._refresh(force=True)

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, token: str) -> Principal:
        self._refresh()
        key_id = token[len(KEY_PREFIX) :].split("_", 1)[0]
        stored = self._keys.get(key_id)
        if stored is None or not hmac.compare_digest(stored.sha256, _digest(token)):
            raise AuthError("The API key is not valid (unknown or revoked)")
        return Principal(subject=stored.name, role=Role(stored.role), via="api-key", key_id=stored.key_id)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.CHECK_S:
            return
        with self._lock:
            self._checked = now
            try:
                st = self.file.path.stat()
                stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp and not force:
                return
            self._keys = {k.key_id: k for k in self.file.read() if k.revoked_at is None}
            self._stamp = stamp


# JWT -------------------------------------------------------------------------------------------------


class TokenVerifier:
    """Checks bearer JWTs with the one configured algorithm and key."""

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.role_claim = settings.jwt_role_claim
        self.max_lifetime_s = settings.jwt_max_lifetime_s
        self.key: Any
        if self.algorithm == "HS256":
            secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
            if secret and len(secret.encode()) < 32:
                raise ConfigurationError("PERSONA_JWT_SECRET must be at least 32 bytes for HS256")
            self.key = secret or None
        else:
            path = settings.jwt_public_key_file
            self.key = path.read_text(encoding="utf-8") if path else None
            if path is None:
                log.info("RS256 selected but PERSONA_JWT_PUBLIC_KEY_FILE is not set: JWTs are refused")

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def verify(self, token: str) -> Principal:
        if not self.enabled:
            raise AuthError("Bearer tokens are not accepted by this server (no JWT key configured)")
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub"], "verify_aud": self.audience is not None},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("The token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"The token is not valid: {exc}") from exc
        if float(claims["exp"]) - float(claims["iat"]) > self.max_lifetime_s:
            raise AuthError(
                f"The token lives too long: exp - iat is over the {self.max_lifetime_s} s this server "
                "accepts (PERSONA_JWT_MAX_LIFETIME_S); ask the issuer for shorter-lived tokens"
            )
        role = claims.get(self.role_claim)
        try:
            parsed = Role(str(role))
        except ValueError as exc:
            roles = ", ".join(r.value for r in Role)
            raise AuthError(f"The token's {self.role_claim!r} claim must be one of {roles}") from exc
        subject = str(claims["sub"])
        return Principal(subject=subject, role=parsed, via="jwt", key_id=subject)


# The middleware --------------------------------------------------------------------------------------


class Authenticator:
    """Turns request headers into a Principal, or AuthError."""

    def __init__(self, settings: Settings, keys: KeyRing | None = None) -> None:
        self.keys = keys or KeyRing(KeyFile(settings.api_keys_path))
        self.tokens = TokenVerifier(settings)
        if not len(self.keys) and not self.tokens.enabled:
            log.warning(
                "no API keys in %s and no JWT key configured: every request will be refused (401). "
                "Create a key with `persona keys create --name NAME --role admin`.",
                settings.api_keys_path,
            )

    def principal(self, headers: dict[bytes, bytes]) -> Principal:
        token = _credentials(headers)
        if token is None:
            raise AuthError(
                "Credentials required: send `Authorization: Bearer <API key or JWT>` (or `X-API-Key`)"
            )
        if token.startswith(KEY_PREFIX):
            return self.keys.authenticate(token)
        return self.tokens.verify(token)


def _credentials(headers: dict[bytes, bytes]) -> str | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None
    api_key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    return api_key or None


def _is_graphiql_page(scope: Scope, headers: dict[bytes, bytes], graphiql: bool) -> bool:
    """A browser opening the IDE page (a GET of /graphql asking for HTML first, whatever its query
    string: the router then serves the page and runs nothing) or fetching one of its scripts and styles
    (api/ide.py): static, no data. Any other path asking for HTML needs credentials like everything else."""
    if not graphiql:
        return False
    method, path = str(scope.get("method")), str(scope.get("path"))
    accept = headers.get(b"accept", b"").decode("latin-1")
    return (path == GRAPHIQL_PATH and is_ide_navigation(method, accept)) or is_ide_asset(method, path)


def principal_of(scope: Scope) -> Principal | None:
    found = scope.get("state", {}).get("principal")
    return found if isinstance(found, Principal) else None


def rate_limit_key(scope: Scope) -> str:
    """Whose budget a request spends: the caller's key (or token subject); the IP without one."""
    principal = principal_of(scope)
    return principal.budget if principal else f"ip:{client_ip(scope)}"


class AuthMiddleware:
    """401 for any HTTP request without valid credentials, outside ``OPEN_PATHS``, the IDE page and the
    console's page and files (static, no data: api/console.py);
    429 for every request from a client IP refused more than ``failure_limit`` times a minute (0: no
    limit), so keys and tokens cannot be tried at the speed of the network."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        graphiql: bool,
        failure_limit: int = 0,
        buckets: Buckets | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.graphiql = graphiql
        # In ``buckets`` (the app's: the state file every worker shares) or, without, in memory.
        self.failures = (
            RateLimiter(failure_limit, buckets=buckets, name="auth-failures") if failure_limit else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        if _is_graphiql_page(scope, headers, self.graphiql) or is_console_page(
            str(scope.get("method")), str(scope.get("path"))
        ):
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope)
        if self.failures is not None:
            # Checked before the credentials, so a client past its budget learns nothing from them.
            wait = self.failures.wait(ip)
            if wait > 0:
                retry_after = max(1, math.ceil(wait - 1e-6))
                await refuse(
                    send,
                    429,
                    f"Too many requests with bad or missing credentials from this address: at most "
                    f"{self.failures.capacity:.0f} a minute; retry in {retry_after} s",
                    RATE_LIMITED,
                    {"Retry-After": str(retry_after)},
                )
                return
        try:
            principal = self.authenticator.principal(headers)
        except AuthError as exc:
            if self.failures is not None:
                self.failures.acquire(ip)
            await refuse(
                send, 401, str(exc), "UNAUTHENTICATED", {"WWW-Authenticate": 'Bearer realm="personagraph"'}
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
