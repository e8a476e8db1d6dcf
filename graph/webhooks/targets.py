"""Where a webhook may point: http or https URLs of public hosts (a guard against server-side request
forgery, SSRF).

A webhook makes this server send requests, so an admin key (or whoever holds one) could aim it at what
only the server can reach: Neo4j's HTTP port, a cloud's metadata address (169.254.169.254), an internal
admin page. Outside development, a URL is refused when its host is, or resolves to, a loopback, private,
link-local, multicast, reserved or otherwise non-public address; the host is resolved again before every
delivery (a name may change its address after registration), redirects are not followed and proxies from
the environment are not used. ``PERSONA_WEBHOOKS_ALLOW_PRIVATE=true`` (or ``PERSONA_ENV=development``)
lets such targets through, for receivers on the same network.

What is left: a name that resolves to a public address when checked and a private one when connected to
(DNS rebinding within that moment). Put the API behind an egress firewall where that matters.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from personagraph.graph.settings import Settings
from personagraph.graph.webhooks.model import WebhookError

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_allowed(settings: Settings) -> bool:
    """Whether webhooks may target loopback and private addresses: in development, or when allowed."""
    return settings.env == "development" or settings.webhooks_allow_private


def checked_url(url: str, settings: Settings) -> str:
    """The URL when a webhook may target it (its scheme, its form, and its host's addresses unless
    private ones are allowed); WebhookError saying why not."""
    url = url.strip()
    host = _host_of(url)
    if not private_allowed(settings):
        refuse_private(host)
    return url


def refuse_private(host: str) -> None:
    """WebhookError when ``host`` is, or resolves to, an address that is not public (or to none)."""
    for address in _addresses(host):
        if not _public(address):
            raise WebhookError(
                f"url: {host} is or resolves to {address}, which is not a public address (loopback, "
                "private, link-local and reserved ranges are refused outside development; "
                "PERSONA_WEBHOOKS_ALLOW_PRIVATE=true allows them)"
            )


def _host_of(url: str) -> str:
    if len(url) > MAX_URL_LENGTH:
        raise WebhookError(f"url: at most {MAX_URL_LENGTH} characters, got {len(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise WebhookError(f"url: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"url: expected an http:// or https:// URL; got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise WebhookError("url: no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookError(
            "url: no credentials in the URL (it is shown in listings); receivers check the signature"
        )
    if port == 0 or any(c.isspace() for c in url):
        raise WebhookError("url: not a usable URL")
    return parts.hostname


def _addresses(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookError(f"url: the host {host} does not resolve ({exc})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


__all__ = ["checked_url", "private_allowed", "refuse_private"]
