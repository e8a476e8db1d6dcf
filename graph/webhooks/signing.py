"""Signing secrets and signatures per the Standard Webhooks spec (https://www.standardwebhooks.com).

A webhook's secret is never stored: it is derived from the deployment's master secret keyed by the
webhook's id (graph/secrets.py ``derived_key``), so the dispatcher derives it again to sign and the graph
holds nothing a reader of Neo4j could sign with. The receiver gets it once, at registration, as
``whsec_<base64 of 32 bytes>``. Changing ``PERSONA_SECRET_KEY`` changes every webhook's secret (register
them again, or keep the old master secret).

A message is signed with HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}`` under the secret's
bytes; the ``webhook-signature`` header is ``v1,<base64 of the digest>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from personagraph.graph.secrets import derived_key
from personagraph.graph.settings import Settings

SECRET_PREFIX = "whsec_"


def secret_bytes(settings: Settings, webhook_id: str) -> bytes:
    """The webhook's signing key: 32 bytes derived from the master secret and the webhook id."""
    return derived_key(settings, f"webhook-signing:{webhook_id}")


def shown_secret(key: bytes) -> str:
    """The secret as a receiver configures it: ``whsec_`` and the key in base64."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def signature(key: bytes, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header's value for one attempt of one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body.encode("utf-8")
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(key: bytes, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The headers of one attempt: the id, the time it is sent (unix seconds) and the signature."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
    }


__all__ = ["SECRET_PREFIX", "headers", "secret_bytes", "shown_secret", "signature"]
