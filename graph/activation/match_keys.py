"""Match keys: the unsalted hashes ad platforms match people on, derived from a raw identity at ingest.

The graph stores identities only as keyed HMACs (graph/records.py ``hash_identity``), which no platform
can match. So when an identities row is loaded, the loader also derives the platform hashes of its raw
value here (``match_keys``), and ``profiles/write/merge_identities`` keeps them on the user's
``HAS_IDENTITY`` relationship (``adKeys``) only while the user has advertising consent. Raw values are
never stored; a key is ``"<type>:<hex hash>"`` (``parse_key`` splits it). docs/privacy-data.md weighs
the trade-off; docs/activation.md lists the types and the platforms that take them.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from personagraph.graph.activation import normalise as n


class KeyType(StrEnum):
    """One platform hash of one identity kind: the normalisation and the hash it takes."""

    EMAIL_SHA256 = "email_sha256"  # Meta: trimmed, lower case
    EMAIL_SHA256_GOOGLE = "email_sha256_google"  # Google: also no dots before @gmail.com
    PHONE_SHA256_E164 = "phone_sha256_e164"  # Google: +8613800138000
    PHONE_SHA256_DIGITS = "phone_sha256_digits"  # Meta: 8613800138000
    PHONE_MD5_CN = "phone_md5_cn"  # Tencent HASH_MOBILE_PHONE, Ocean Engine 手机号-MD5: 13800138000
    PHONE_SHA256_CN = "phone_sha256_cn"  # Tencent SHA256_MOBILE_PHONE, Ocean Engine 手机号-SHA256
    IMEI_MD5 = "imei_md5"  # Tencent HASH_IMEI, Ocean Engine IMEI-MD5
    IDFA_MD5 = "idfa_md5"  # Tencent HASH_IDFA, Ocean Engine IDFA-MD5
    OAID_MD5 = "oaid_md5"  # Tencent HASH_OAID, Ocean Engine OAID-MD5


Normaliser = Callable[[str], str | None]
Hasher = Callable[[str], str]

# identities.csv `kind` -> the keys its value gives. Other kinds (wechat, crm, device, ...) give none: a
# WeChat openid is taken by Tencent only in plain text, which the graph never stores (docs/activation.md).
DERIVED: dict[str, tuple[tuple[KeyType, Normaliser, Hasher], ...]] = {
    "email": (
        (KeyType.EMAIL_SHA256, n.email, n.sha256_hex),
        (KeyType.EMAIL_SHA256_GOOGLE, n.email_google, n.sha256_hex),
    ),
    "phone": (
        (KeyType.PHONE_SHA256_E164, n.phone_e164, n.sha256_hex),
        (KeyType.PHONE_SHA256_DIGITS, n.phone_digits, n.sha256_hex),
        (KeyType.PHONE_MD5_CN, n.phone_cn_mobile, n.md5_hex),
        (KeyType.PHONE_SHA256_CN, n.phone_cn_mobile, n.sha256_hex),
    ),
    "imei": ((KeyType.IMEI_MD5, n.imei, n.md5_hex),),
    "idfa": ((KeyType.IDFA_MD5, n.idfa, n.md5_hex),),
    "oaid": ((KeyType.OAID_MD5, n.oaid, n.md5_hex),),
}
MATCHED_KINDS = tuple(DERIVED)


def match_keys(kind: str, value: str) -> list[str]:
    """The match keys of one raw identity (``"<type>:<hash>"``, in KeyType order); [] for a kind no
    platform matches on or a value no rule can normalise."""
    keys = []
    for key_type, normalise, digest in DERIVED.get(kind.strip().lower(), ()):
        normalised = normalise(value)
        if normalised is not None:
            keys.append(f"{key_type.value}:{digest(normalised)}")
    return keys


def parse_key(key: str) -> tuple[KeyType, str] | None:
    """A stored key's type and hash; None for text that is not a key of a known type."""
    name, _, digest = key.partition(":")
    if not digest or name not in KeyType.__members__.values():
        return None
    return KeyType(name), digest


__all__ = ["DERIVED", "MATCHED_KINDS", "KeyType", "match_keys", "parse_key"]
