"""One attempt to deliver one message: a signed POST with httpx, judged by its status.

A 2xx answer is a delivery; anything else (another status, a redirect, which is not followed, a timeout,
a refused connection, a target that now resolves to a private address) is a failed attempt with its status
and a short error for the deliveries listing. The answer's body is never read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from personagraph.graph.settings import Settings
from personagraph.graph.webhooks.model import Message, WebhookError
from personagraph.graph.webhooks.signing import headers
from personagraph.graph.webhooks.targets import private_allowed, refuse_private

USER_AGENT = "personagraph-webhooks/1"
MAX_ERROR = 200


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    ok: bool
    status: int | None  # the HTTP status, None when there was no answer
    error: str | None  # why it failed, None when it did not


def http_client(settings: Settings) -> httpx.Client:
    """The client every attempt goes through: the timeout of the settings, no redirects, no proxies from
    the environment (a proxy would reach what the address check refused)."""
    return httpx.Client(
        timeout=settings.webhooks_timeout_s,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )


def send(client: httpx.Client, settings: Settings, url: str, key: bytes, message: Message) -> Attempt:
    """POST ``message`` to ``url`` signed with ``key``, now; the attempt's outcome (never raises for the
    receiver's faults)."""
    try:
        if not private_allowed(settings):
            refuse_private(urlsplit(url).hostname or "")  # again: the name may point elsewhere now
    except WebhookError as exc:
        return Attempt(False, None, str(exc)[:MAX_ERROR])
    sent = headers(key, message.message_id, int(time.time()), message.body)
    try:
        with client.stream("POST", url, content=message.body.encode("utf-8"), headers=sent) as answer:
            status = answer.status_code
    except httpx.TimeoutException:
        return Attempt(False, None, f"timed out after {settings.webhooks_timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    if 200 <= status < 300:
        return Attempt(True, status, None)
    return Attempt(False, status, f"HTTP {status}")


__all__ = ["Attempt", "http_client", "send"]
