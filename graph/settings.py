"""One Settings object, read from PERSONA_* environment variables and validated at start."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "personagraph"


def default_workers() -> int:
    """The machine's cores (what ``os.cpu_count`` says), at most 64: `persona serve`'s worker processes."""
    return max(1, min(os.cpu_count() or 1, 64))


class Settings(BaseSettings):
    """Every knob personagraph reads from the environment (prefix ``PERSONA_``)."""

    model_config = SettingsConfigDict(env_prefix="PERSONA_", env_file=".env", extra="ignore")

    # Where Neo4j is. NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD are accepted too, as users expect.
    neo4j_uri: Annotated[
        str | None, Field(validation_alias=AliasChoices("PERSONA_NEO4J_URI", "NEO4J_URI"))
    ] = None
    neo4j_user: Annotated[str, Field(validation_alias=AliasChoices("PERSONA_NEO4J_USER", "NEO4J_USER"))] = (
        "neo4j"
    )
    neo4j_password: Annotated[
        SecretStr | None,
        Field(validation_alias=AliasChoices("PERSONA_NEO4J_PASSWORD", "NEO4J_PASSWORD")),
    ] = None
    neo4j_database: str = "neo4j"
    neo4j_connect_timeout_s: float = 60.0  # how long start-up waits for Neo4j to answer
    # Driver tuning (docs/operations.md). The API uses its own, shorter retry and a query timeout, so
    # a request fails fast with UNAVAILABLE instead of hanging while Neo4j is down.
    neo4j_pool_size: int = Field(default=100, ge=1, le=10_000)  # connections per process
    neo4j_acquisition_timeout_s: float = Field(default=60.0, gt=0)  # wait for a free pooled connection
    neo4j_socket_timeout_s: float = Field(default=30.0, gt=0)  # TCP connect to a server
    neo4j_max_retry_s: float = Field(default=30.0, ge=0)  # transient errors retried this long (CLI, loaders)
    api_neo4j_max_retry_s: float = Field(default=5.0, ge=0)
    api_neo4j_acquisition_timeout_s: float = Field(default=10.0, gt=0)
    api_query_timeout_s: float | None = Field(default=30.0, gt=0)  # server-side transaction timeout

    # The local Neo4j (Maven Central jars + Java launcher), used when there is no URI and no Docker.
    neo4j_version: str = "5.26.19"
    neo4j_plugins: Annotated[tuple[str, ...], NoDecode] = ("apoc", "gds")  # comma-separated in env
    neo4j_local_port: int = Field(default=7687, ge=1, le=65535)
    neo4j_local_dir: Path = _xdg("XDG_DATA_HOME", ".local/share") / "neo4j"
    neo4j_cache_dir: Path = _xdg("XDG_CACHE_HOME", ".cache") / "neo4j"
    data_dir: Path = _xdg("XDG_DATA_HOME", ".local/share")  # generated demo files and the like
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    neo4j_tx_memory_max: str = "512m"
    neo4j_start_timeout_s: float = 180.0
    java_home: Path | None = None
    # Docker: compose file used by `persona neo4j start` when a Docker engine answers.
    use_docker: bool = True

    # Loading and serving.
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    identity_salt: SecretStr | None = None  # keys the hash of emails/phones/... on ingest
    timezone: str = "UTC"  # the zone behaviour hours (night browsing, ...) are counted in
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # uvicorn worker processes of `persona serve`: the machine's cores unless told (docs/operations.md).
    api_workers: int = Field(default_factory=lambda: default_workers(), ge=1, le=64)
    # The state every worker shares (rate-limit and count-budget buckets, api/shared_state.py): a SQLite
    # file on a local disk; default <data_dir>/api-state.sqlite3.
    api_state_path: Path | None = None
    # The event journal (graph/events/journal.py): accepted tracking events, fsync'd before the collector
    # answers, shared by the workers; a SQLite file on a local disk, default <data_dir>/events.sqlite3.
    event_log_path: Path | None = None
    # How long the journal keeps folded entries, and so remembers their messageIds for dedupe (days).
    event_dedupe_days: float = Field(default=7.0, gt=0)

    # Query limits (api/validation.py, docs/operations.md "Query limits"). PERSONA_ENV=production also
    # turns off introspection, field suggestions ("Did you mean ...") and GraphiQL.
    env: Literal["development", "production"] = "development"
    api_max_depth: int = Field(default=10, ge=1)  # nested selections (introspection not counted)
    api_max_aliases: int = Field(default=30, ge=0)  # per document, fragments counted at each spread
    api_max_tokens: int = Field(default=2000, ge=1)  # lexical tokens of the document
    api_max_cost: int = Field(default=50_000, ge=1)  # fields x the page sizes around them
    api_fast_path: bool = True  # profile and product pages without per-field execution (api/fast_path.py)
    api_max_body_bytes: int = Field(default=100_000, ge=1)  # request body, else 413
    api_rate_limit: int = Field(default=600, ge=0)  # requests per minute per client, all workers; 0: off
    # Refused credentials (401s) per minute per client IP (all workers); past it every request from that
    # IP is answered 429 until the budget refills (api/auth.py); 0: off.
    api_auth_failure_limit: int = Field(default=30, ge=0)
    # Browser front-ends on other origins that may call the API (CORS, api/app.py): comma-separated or a
    # JSON list of origins such as https://crm.example.com, "*" for any; empty (the default): no CORS.
    api_cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # Security and privacy (docs/security.md).
    secret_key: SecretStr | None = None  # master key for count noise and the suppression list; else a file
    api_keys_file: Path | None = None  # `persona keys ...` keeps hashed API keys here; default data_dir
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = None  # HS256 shared secret (at least 32 bytes)
    jwt_public_key_file: Path | None = None  # RS256: the issuer's public key, PEM
    jwt_issuer: str | None = None  # when set, tokens must carry this `iss`
    jwt_audience: str | None = None  # when set, tokens must carry this `aud`
    jwt_role_claim: str = "role"  # the claim holding admin / marketer / analyst / service
    jwt_max_lifetime_s: int = Field(default=86_400, ge=1)  # JWTs need `iat`; exp - iat may not exceed this
    privacy_k: int = Field(default=100, ge=1)  # counts below k are "fewer than k" for roles below admin
    # ... and move by a discrete-Laplace noise of this scale in users (mean absolute move about this)
    privacy_noise: int = Field(default=16, ge=0)
    privacy_round_to: int = Field(default=10, ge=1)  # ... and are rounded to a multiple of this
    # How many different counts one key (or token subject) below admin is shown a day, all workers together
    # (the same question again is free); 0: no budget. Averaging many wordings of the same audiences defeats
    # the noise (bench/privacy.py); this caps the pace (docs/security.md has the measured figures).
    privacy_count_budget: int = Field(default=400, ge=0)
    audit_log: Path | None = None  # JSON lines: PII reads, exports, mutations; default data_dir

    # Real time (docs/realtime.md): the folding worker that drains the event log into the graph.
    events_fold_in_api: bool = True  # `persona serve` folds (one worker process at a time holds the lock)
    events_fold_batch: int = Field(
        default=2000, ge=1, le=50_000
    )  # entries folded in one transaction, at most
    events_fold_poll_s: float = Field(default=0.02, gt=0, le=10)  # how often an idle worker looks for more
    events_record_wait_s: float = Field(default=30.0, gt=0)  # recordEvent waits this long for its fold
    changes_keep_days: float = Field(
        default=7.0, gt=0
    )  # the change log's window (subscribers may resume in it)
    # GraphQL subscriptions over the change log (api/change_feed.py): one poller per process fans changes out.
    subscriptions_poll_s: float = Field(default=0.1, gt=0, le=10)  # how often the poller reads new changes
    subscriptions_per_connection: int = Field(default=10, ge=1)  # live subscriptions on one connection
    subscriptions_per_key: int = Field(default=100, ge=1)  # ... and per key (or token subject), per process
    subscriptions_queue: int = Field(default=1000, ge=1)  # changes buffered per subscriber before it re-reads

    # Kafka (docs/realtime.md, "Kafka"): with a bootstrap, the collector produces accepted events to the
    # topic (keyed by user) instead of the local event log, and `persona consume` workers (a consumer
    # group) fold it.
    kafka_bootstrap: str | None = None  # host:port[,host:port...]; unset: the local event log
    kafka_topic: str = "persona.events"  # its dead letters go to <topic>.dlq
    kafka_group: str = "persona-fold"  # the consumer group of `persona consume`
    kafka_partitions: int = Field(
        default=6, ge=1, le=10_000
    )  # of the topics when `persona consume` makes them
    kafka_ack_timeout_s: float = Field(default=30.0, gt=0)  # the collector waits this long for the acks
    kafka_poll_s: float = Field(default=0.1, gt=0, le=10)  # how long an idle consumer waits for more
    # A consumer silent this long is out of the group and its partitions go to the others.
    kafka_session_timeout_s: float = Field(default=10.0, ge=1, le=300)
    # The local Kafka (graph/server/kafka_local.py: Maven Central jars, for development and the tests).
    kafka_version: str = "4.4.0"
    kafka_cache_dir: Path = _xdg("XDG_CACHE_HOME", ".cache") / "kafka"

    # Webhooks (docs/realtime.md, "Webhooks"): the dispatcher that pushes the change log to registered URLs.
    # `persona serve` dispatches (one process per machine at a time holds the lock).
    webhooks_in_api: bool = True
    # Waits before each retry of a failed delivery (comma-separated seconds); past the last: dead-lettered.
    webhooks_retry_s: Annotated[tuple[float, ...], NoDecode] = (5.0, 30.0, 120.0, 600.0, 3600.0)
    webhooks_timeout_s: float = Field(default=10.0, gt=0, le=120)  # one POST, connect to answer
    webhooks_poll_s: float = Field(default=0.2, gt=0, le=60)  # how often an idle dispatcher reads the log
    webhooks_batch: int = Field(default=100, ge=1, le=10_000)  # changes read per webhook per round, at most
    # Delivered deliveries are kept this long (dead letters: until re-sent or their webhook is removed).
    webhooks_keep_days: float = Field(default=7.0, gt=0)
    # Loopback, private and link-local targets: refused outside development unless this allows them.
    webhooks_allow_private: bool = False

    @property
    def api_keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api-keys.json"

    @property
    def audit_log_path(self) -> Path:
        return self.audit_log or self.data_dir / "audit.log"

    @property
    def api_state_file(self) -> Path:
        return self.api_state_path or self.data_dir / "api-state.sqlite3"

    @property
    def event_log_file(self) -> Path:
        return self.event_log_path or self.data_dir / "events.sqlite3"

    @field_validator("neo4j_uri")
    @classmethod
    def _uri_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        allowed = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")
        if not value.startswith(allowed):
            raise ValueError(f"expected a URI starting with one of {', '.join(allowed)}; got {value!r}")
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None  # a blank PERSONA_KAFKA_BOOTSTRAP=: no Kafka

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"expected an IANA time zone such as Asia/Shanghai; got {value!r}") from exc
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        # A blank PERSONA_SECRET_KEY= (an env file's template line) would key the count noise, the
        # suppression list and identity hashes with nothing.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "PERSONA_SECRET_KEY is set but empty: set a long random value (python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))') or leave it out (<data_dir>/secret.key is then used)"
            )
        return value

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return tuple(json.loads(text))
            return tuple(o.strip() for o in text.split(",") if o.strip())
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Each an origin as browsers send it (scheme://host[:port], no path), lower-cased; or "*"."""
        origins = []
        for origin in value:
            origin = origin.strip().rstrip("/").lower()
            if origin != "*":
                parts = urlsplit(origin)
                bad = parts.path or parts.query or parts.fragment or parts.username
                if parts.scheme not in ("http", "https") or not parts.hostname or bad or parts.port == 0:
                    raise ValueError(
                        f"expected origins such as https://crm.example.com or http://127.0.0.1:3000 "
                        f"(scheme, host and port only), or *; got {origin!r}"
                    )
            origins.append(origin)
        return tuple(origins)

    @field_validator("webhooks_retry_s", mode="before")
    @classmethod
    def _retry_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(v) for v in value.split(",") if v.strip())
        return value

    @field_validator("webhooks_retry_s")
    @classmethod
    def _retry_waits(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 <= wait <= 86_400 for wait in value) or len(value) > 20:
            raise ValueError(
                f"expected at most 20 waits of 0 to 86400 seconds, such as 5,30,120; got {value}"
            )
        return value

    @field_validator("neo4j_plugins", mode="before")
    @classmethod
    def _plugins_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value


@cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
