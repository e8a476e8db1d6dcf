"""Forgetting a user (GDPR erasure, PIPL deletion) without letting them come back.

Forgetting deletes the user and everything personal about them in one write transaction, keeps their
orders' revenue in anonymised form, marks what their data fed into as stale, and puts a keyed hash of
their id on a suppression list that loaders and API writes check, so a re-load cannot resurrect them.
The graph model and what is kept are in docs/privacy-data.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from personagraph.graph.errors import ConfigurationError, NotFoundError, SuppressedUserError
from personagraph.graph.privacy.consent import PrivacyInputError
from personagraph.graph.records import hash_identity, normalise_identity
from personagraph.graph.secrets import derived_key, keyed_hash
from personagraph.graph.secrets import identity_key as _identity_key
from personagraph.graph.settings import Settings, get_settings
from personagraph.graph.store import GraphStore, StoreTransaction

log = logging.getLogger(__name__)

KEY_CHECK_TEXT = "personagraph-suppression-check"
REFUSED = "refused: this user asked to be forgotten"


# --- the suppression list -----------------------------------------------------------------------


def suppression_key(settings: Settings) -> bytes:
    """The key of the suppression list's hashes, derived from the deployment's master secret."""
    return derived_key(settings, "suppression")


def suppression_hash(key: bytes, user_id: str) -> str:
    """What the suppression list holds for a forgotten user: never the id itself."""
    return keyed_hash(key, user_id)


def key_check(key: bytes) -> str:
    """A fixed text hashed under the key: stored once, so a different key is noticed before it does harm."""
    return keyed_hash(key, KEY_CHECK_TEXT)


def verify_key(stored_check: str | None, entries: int, key: bytes | None) -> None:
    """ConfigurationError unless ``key`` is the key the suppression list was written with.

    With a wrong key every hash misses, and forgotten users would silently come back on the next load.
    """
    _verify_check(stored_check, entries, key_check(key) if key is not None else None)


def _verify_check(stored_check: str | None, entries: int, expected: str | None) -> None:
    if stored_check is None and entries == 0:
        return  # no list yet: the first forget pins the key
    if expected is None:
        raise ConfigurationError(
            "the graph holds a suppression list of forgotten users, but no suppression key was given; "
            "pass LoadOptions.suppression_key = graph.privacy.forget.suppression_key(settings) (the CLI does)"
        )
    if stored_check is None:
        raise ConfigurationError(
            f"the suppression list holds {entries} entries but no key check (PrivacyKeyCheck); "
            "restore it from a backup before loading or forgetting (docs/privacy-data.md)"
        )
    if not hmac.compare_digest(stored_check, expected):
        raise ConfigurationError(
            "the suppression key does not match the key the suppression list was written with; set "
            "PERSONA_SECRET_KEY to the value used when users were forgotten (docs/privacy-data.md). "
            "Refusing: with this key forgotten users would come back"
        )


@dataclass(frozen=True)
class SuppressionList:
    """The whole list, read once per load: membership is one keyed hash and one set lookup."""

    hashes: frozenset[str]
    key: bytes | None = None
    _base: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key is not None:  # an HMAC primed with the key, copied per id: same digest, less work
            object.__setattr__(self, "_base", hmac.new(self.key, digestmod=hashlib.sha256))

    def __bool__(self) -> bool:
        return bool(self.hashes)

    def __contains__(self, user_id: object) -> bool:
        if not self.hashes or self._base is None or not isinstance(user_id, str):
            return False
        mac = self._base.copy()
        mac.update(user_id.encode("utf-8"))
        return mac.hexdigest() in self.hashes


def load_suppression_list(store: GraphStore, key: bytes | None) -> SuppressionList:
    """The suppression list with its key verified (ConfigurationError on a missing or wrong key)."""
    record = store.read("privacy/read/suppression_list")[0]
    hashes = frozenset(record["hashes"])
    verify_key(record["check"], len(hashes), key)
    return SuppressionList(hashes, key)


def suppressed(store: GraphStore, key: bytes, user_ids: Iterable[str]) -> set[str]:
    """Which of these user ids asked to be forgotten (one indexed lookup)."""
    by_hash = {suppression_hash(key, uid): uid for uid in dict.fromkeys(user_ids)}
    if not by_hash:
        return set()
    record = store.read("privacy/read/suppression_lookup", hashes=list(by_hash))[0]
    verify_key(record["check"], record["entries"], key)
    return {by_hash[h] for h in record["found"]}


def ensure_not_suppressed(
    store: GraphStore, key: bytes, user_ids: Sequence[str], *, field: str = "userId"
) -> None:
    """SuppressedUserError when any of these users asked to be forgotten; the message echoes no more
    than the id the caller sent."""
    found = suppressed(store, key, user_ids)
    if not found:
        return
    if len(user_ids) == 1:
        raise SuppressedUserError(f"{field}: {REFUSED}", field)
    first = next(uid for uid in user_ids if uid in found)
    raise SuppressedUserError(f"{field}: user {first!r}: {REFUSED}", field)


# --- forgetting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForgetReport:
    """What forgetting one user did. ``subject`` is the suppression hash, never the id."""

    subject: str
    removed: dict[str, int]  # nodes by kind (users, identities, ...) and relationships by type
    anonymised_orders: int
    stale_neighbours: int
    stale_groups: int  # Community and Persona nodes marked stale

    def as_dict(self) -> dict[str, Any]:
        """Counts only, for audit entries and JSON output."""
        return {
            "subject": self.subject,
            "removed": dict(self.removed),
            "anonymised_orders": self.anonymised_orders,
            "stale_neighbours": self.stale_neighbours,
            "stale_groups": self.stale_groups,
        }


def placeholder_for(subject: str) -> str:
    """What replaces a forgotten user's id where a copy of it was kept (e.g. an audience definition)."""
    return f"forgotten:{subject[:16]}"


def forget_user(
    store: GraphStore, *, user_id: str, key: bytes, actor: str, identity_key: str | None = None
) -> ForgetReport:
    """Forget one user in one write transaction (all or nothing), then refuse them for good.

    ``identity_key`` keys the identity hashes (graph.secrets.identity_key; None: this process's settings):
    search terms other users searched too are deleted when their text names the user by id or by one of
    their identities (an email, a phone number, ...); other shared terms stay, no longer linked to them.

    Idempotent: a user already on the suppression list and gone gives a report of zeros. Unknown and not
    suppressed: NotFoundError. A key that differs from the list's: ConfigurationError, nothing written.
    """
    if not user_id.strip():
        raise PrivacyInputError("userId: blank; expected the id of the user to forget")
    if not key:
        raise PrivacyInputError("key: empty; expected graph.privacy.forget.suppression_key(settings)")
    if not actor.strip():
        raise PrivacyInputError("actor: blank; expected who asked for the erasure to be carried out")
    subject = suppression_hash(key, user_id)
    identities = identity_key or _identity_key(get_settings())

    def work(tx: StoreTransaction) -> ForgetReport:
        return _forget(tx, user_id, subject, key_check(key), actor.strip(), identities)

    report = store.write_transaction("privacy/forget_user", work)
    log.info("forgot subject %s (by %s): %s", subject[:12], actor, report.removed)
    return report


def _forget(
    tx: StoreTransaction, user_id: str, subject: str, check: str, actor: str, identity_key: str
) -> ForgetReport:
    state = tx.single("privacy/read/forget_subject", userId=user_id, hash=subject)
    _verify_check(state["check"], state["entries"], check)
    if not state["present"]:
        if state["suppressed"]:
            return ForgetReport(subject, {}, 0, 0, 0)
        raise NotFoundError(f"userId: no user with id {user_id!r}")
    stale = tx.single("privacy/write/forget_mark_stale", userId=user_id)
    unlinked = tx.single("privacy/write/forget_unlink_customers", userId=user_id)["unlinked"]
    orders = tx.single("privacy/write/forget_anonymise_orders", userId=user_id)
    search = tx.single("privacy/read/forget_search_candidates", userId=user_id)  # before their identities go
    naming = [t for t in search["terms"] if names_user(t, user_id, search["identities"], identity_key)]
    owned = tx.single("privacy/write/forget_delete_owned", userId=user_id)
    changes = tx.single("changes/write/changes_forget_user", userId=user_id)["removed"]  # the change log's
    deliveries = tx.single("webhooks/write/deliveries_forget_user", userId=user_id)["removed"]  # webhooks'
    copies = _scrub_copies(tx, user_id, placeholder_for(subject))
    edges = tx.single("privacy/write/forget_delete_user", userId=user_id)["edges"]
    named = {"terms": 0, "searches": 0}
    if naming:
        named = dict(tx.single("privacy/write/forget_delete_search_terms", terms=naming))
    tx.run("privacy/write/record_suppression", hash=subject, check=check, actor=actor)
    removed = {
        "users": 1,
        "identities": owned["identities"],
        "consent_changes": owned["consentChanges"],
        "logged_changes": changes,
        "webhook_deliveries": deliveries,
        "search_terms": owned["searchTerms"] + named["terms"],
        "searches_naming_them": named["searches"],  # other users' searches for their id, email, phone, ...
        "customer_links": unlinked,
        "copies": copies,
        **{e["type"]: e["n"] for e in sorted(edges, key=lambda e: e["type"])},
    }
    return ForgetReport(
        subject=subject,
        removed=removed,
        anonymised_orders=orders["orders"],
        stale_neighbours=stale["neighbours"],
        stale_groups=stale["groups"],
    )


# Names people give saved audiences: there the id as a word ('aud-u1', 'u1_lookalikes', in any case) is a copy
# of it too. Elsewhere only the whole id is (an id such as 'u1-b' or 'u1@shop' may be another user's).
AUDIENCE_LABELS = ("audienceId", "name")


def _scrub_copies(tx: StoreTransaction, user_id: str, placeholder: str) -> int:
    """Replace copies of the id kept outside the user's own data; returns the properties changed."""
    rows, changed = [], 0
    for record in tx.rows("privacy/read/forget_scrub_candidates", userId=user_id):
        props = dict(record["props"])
        audience = "Audience" in record["labels"]
        clean = {
            k: scrub_label(v, user_id, placeholder)
            if audience and k in AUDIENCE_LABELS
            else scrub_value(v, user_id, placeholder)
            for k, v in props.items()
        }
        diff = sum(1 for k in props if clean[k] != props[k])
        if diff:
            rows.append({"id": record["id"], "props": clean})
            changed += diff
    if rows:
        tx.run("privacy/write/forget_scrub_write", rows=rows)
    return changed


def scrub_value(value: Any, user_id: str, placeholder: str) -> Any:
    """``value`` with every occurrence of ``user_id`` (as a whole id, not inside a longer one) replaced;
    JSON text (saved audience definitions, run parameters) is walked so it stays valid JSON."""
    if isinstance(value, list):
        return [scrub_value(v, user_id, placeholder) for v in value]
    if not isinstance(value, str) or user_id not in value:
        return value
    if value == user_id:
        return placeholder
    if value[:1] in "{[":
        try:
            parsed = json.loads(value)
        except ValueError:
            pass
        else:
            return json.dumps(
                _scrub_json(parsed, user_id, placeholder), ensure_ascii=False, separators=(",", ":")
            )
    return _whole_id(user_id).sub(placeholder, value)


def _scrub_json(value: Any, user_id: str, placeholder: str) -> Any:
    if isinstance(value, dict):
        return {
            scrub_value(k, user_id, placeholder): _scrub_json(v, user_id, placeholder)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v, user_id, placeholder) for v in value]
    return scrub_value(value, user_id, placeholder)


def _whole_id(user_id: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.@-]){re.escape(user_id)}(?![\w.@-])")


def scrub_label(value: Any, user_id: str, placeholder: str) -> Any:
    """``value`` with the id replaced wherever it stands as a word of a name, in any case: 'aud-u1' and
    'U1_lookalikes' lose it, 'u12' keeps it."""
    if not isinstance(value, str):
        return scrub_value(value, user_id, placeholder)
    word = re.compile(rf"(?<![0-9A-Za-z]){re.escape(user_id)}(?![0-9A-Za-z])", re.IGNORECASE)
    return word.sub(placeholder, value)


_PUNCTUATION = ".,;:!?\"'()[]{}<>"


def words_of(text: str) -> set[str]:
    """The words of free text (a search, a name) that could be an id: each word as written, lower-cased
    and stripped of punctuation around it, and each run of letters, digits and '_' in it."""
    found: set[str] = set()
    for word in text.split():
        bare = word.strip(_PUNCTUATION)
        found |= {word, bare, bare.lower(), *re.findall(r"\w+", bare)}
    found.discard("")
    return found


def names_user(text: str, user_id: str, identities: Sequence[Mapping[str, str]], identity_key: str) -> bool:
    """Whether free text names this user: their id as a word, or one of their identities (compared by keyed
    hash, as raw values are not stored): an email word, a phone number's digits (in one word or spread over
    consecutive words), another identity kind's word."""
    words = words_of(text)
    if user_id in words or user_id.lower() in words:
        return True
    wanted = {(i["kind"], i["value"]) for i in identities}
    if not wanted:
        return False
    parts = text.split()
    spans = {"".join(parts[a:b]) for a in range(len(parts)) for b in range(a + 1, min(a + 8, len(parts)) + 1)}
    for kind in {k for k, _ in wanted}:
        candidates = spans | words if kind == "phone" else words
        for candidate in candidates:
            if normalise_identity(kind, candidate) and (
                (kind, hash_identity(kind, candidate, identity_key)) in wanted
            ):
                return True
    return False


__all__ = [
    "ForgetReport",
    "SuppressionList",
    "ensure_not_suppressed",
    "forget_user",
    "key_check",
    "load_suppression_list",
    "names_user",
    "scrub_label",
    "suppressed",
    "suppression_hash",
    "suppression_key",
    "verify_key",
    "words_of",
]
