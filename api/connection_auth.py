"""Who opens a long-lived connection: the websocket of graphql-transport-ws, which api/auth.py's
AuthMiddleware (HTTP only) never sees, and the subscriptions of any transport, whose credentials are
checked again while they run.

A websocket is authenticated once, at ``connection_init`` (api/router.py ``on_ws_connect``), with the same
Authenticator as HTTP requests: from the upgrade request's ``Authorization`` (or ``X-API-Key``) header
when it has one, else from the ``connection_init`` payload (``{"Authorization": "Bearer <key>"}``, as
browsers cannot set headers on a websocket). Without valid credentials the server closes the socket with
4403 (graphql-transport-ws's "Forbidden"; a ``subscribe`` before that gets 4401). Refusals count against
the same per-IP budget as HTTP's (``PERSONA_API_AUTH_FAILURE_LIMIT``, in the state file every worker
shares): past it, every connection from that IP is refused without its credentials being looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import Scope

from personagraph.api.auth import Authenticator, AuthError, Principal
from personagraph.api.http_limits import client_ip
from personagraph.api.rate_limiter import Buckets, RateLimiter

HEADERS = ("authorization", "x-api-key")  # where credentials may travel, as for HTTP (api/auth.py)


class ConnectionAuth:
    """Authenticates websocket connections (and re-checks them), within the per-IP failure budget."""

    def __init__(
        self, authenticator: Authenticator, failure_limit: int = 0, buckets: Buckets | None = None
    ) -> None:
        self.authenticator = authenticator
        # The same bucket name and store as AuthMiddleware's: one budget per IP for HTTP and websockets.
        self.failures = (
            RateLimiter(failure_limit, buckets=buckets, name="auth-failures") if failure_limit else None
        )

    def principal(self, scope: Scope, params: Mapping[str, Any] | None) -> Principal:
        """The caller of a websocket from its upgrade headers, else its connection_init ``params``;
        AuthError when there are none valid or the IP is past its failure budget."""
        ip = client_ip(scope)
        if self.failures is not None and self.failures.wait(ip) > 0:
            raise AuthError("Too many connections with bad or missing credentials from this address")
        try:
            return self.authenticator.principal(credentials(scope, params))
        except AuthError:
            if self.failures is not None:
                self.failures.acquire(ip)
            raise

    def recheck(self, scope: Scope, params: Mapping[str, Any] | None) -> Callable[[], Principal]:
        """A check of the same credentials again (a revoked key, an expired token: AuthError), for a
        subscription to run while it lasts; not charged to the failure budget."""
        headers = credentials(scope, params)
        return lambda: self.authenticator.principal(headers)


def credentials(scope: Scope, params: Mapping[str, Any] | None) -> dict[bytes, bytes]:
    """The credential headers of a connection: the upgrade request's when it carries any, else those of
    the connection_init payload (keys matched without regard to case)."""
    upgrade = {k.lower(): v for k, v in scope.get("headers", ()) if k.lower().decode("latin-1") in HEADERS}
    if upgrade:
        return upgrade
    found: dict[bytes, bytes] = {}
    for key, value in (params or {}).items():
        if isinstance(key, str) and key.lower() in HEADERS and isinstance(value, str):
            found[key.lower().encode("latin-1")] = value.encode("utf-8", "replace")
    return found
