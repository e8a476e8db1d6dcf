"""Webhooks against the real Neo4j and a real receiver: a small HTTP server on 127.0.0.1 that checks every
signature with the `standardwebhooks` package (the spec's own library, not our signer). Messages arrive
signed, in cursor order per user, with stable ids to dedupe; a receiver answering 500 is retried with
backoff; past the limit a delivery is dead-lettered and `retry` sends it again; a receiver down, then up,
gets everything; filters hold; a forgotten user's deliveries go; only admins register; private and bad
URLs are refused outside development; the secret is never stored, listed, logged or audited.

Changes are written with graph.changes.log.record_changes (the folding worker's own call), except the one
end-to-end test that goes through the recordEvent mutation. Nothing here asserts on timing: every wait
polls with a deadline.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook as SpecVerifier
from standardwebhooks.webhooks import WebhookVerificationError

from personagraph.graph.changes.log import NewChange, latest_cursor, record_changes
from personagraph.graph.file_lock import FileLock
from personagraph.graph.privacy.forget import forget_user, suppression_key
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.webhooks import registry
from personagraph.graph.webhooks.dispatcher import Dispatcher
from personagraph.graph.webhooks.model import EVENT_TYPES, WebhookError, message_id
from personagraph.graph.webhooks.signing import headers, secret_bytes, signature
from personagraph.graph.webhooks.targets import checked_url
from tests.api_support import TEST_SECRET, AnalysedGraph, rows

DEADLINE_S = 60.0


# --- the receiver ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the receiver got: where, its headers and body, what it answered, and the payload when
    the signature verified (else why not)."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    payload: dict[str, Any] | None
    error: str | None
    at: float = field(default_factory=time.time)  # when it came (bench/events_faults.py: recovery times)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread. Each path has its own secret; every request is
    verified with the standardwebhooks package; it answers 500 while ``fail`` is above 0 (counting down),
    else 204, and records everything."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self.fail = 0
        self.port = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.take(self.path, dict(self.headers.items()), body, self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until ``start`` again (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self, path: str, sent: dict[str, str], body: bytes, handler: BaseHTTPRequestHandler) -> None:
        lowered = {k.lower(): v for k, v in sent.items()}
        payload, error = None, None
        try:
            payload = SpecVerifier(self.secrets[path]).verify(body, lowered)
        except (WebhookVerificationError, KeyError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            answered = 500 if self.fail > 0 else 204
            self.fail = max(0, self.fail - 1)
            self.received.append(Received(path, lowered, body, answered, payload, error))
        handler.send_response(answered)
        handler.send_header("content-length", "0")
        handler.end_headers()

    def accepted(self, path: str) -> list[Received]:
        """The requests on ``path`` answered 2xx, in the order they came."""
        with self._lock:
            return [r for r in self.received if r.path == path and r.answered < 300]

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


# --- helpers --------------------------------------------------------------------------------------------


def _settings(tmp_path: Path, **given: Any) -> Settings:
    """Settings for a dispatcher under test: tiny retry waits, a fast poll, the test secret."""
    values: dict[str, Any] = {
        "secret_key": TEST_SECRET,
        "data_dir": tmp_path,
        "audit_log": tmp_path / "audit.log",
        "webhooks_retry_s": (0.05, 0.05, 0.05),
        "webhooks_poll_s": 0.02,
        "webhooks_timeout_s": 5.0,
        **given,
    }
    return Settings(**values)


def _until(check: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` past the deadline."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.02)
    return found


@contextmanager
def dispatching(store: GraphStore, settings: Settings) -> Iterator[Dispatcher]:
    """A dispatcher running in its thread for the block."""
    dispatcher = Dispatcher(store, settings)
    thread, stop = dispatcher.start()
    try:
        yield dispatcher
    finally:
        stop.set()
        thread.join(timeout=30)
        dispatcher.close()


@pytest.fixture
def hooks(graph: AnalysedGraph) -> GraphStore:
    """The module's analysed graph with no webhooks or deliveries left by another test."""
    graph.store.driver.execute_query("MATCH (n) WHERE n:Webhook OR n:WebhookDelivery DETACH DELETE n")
    return graph.store


def _users(graph: AnalysedGraph, n: int, skip: int = 0) -> list[str]:
    found = rows(
        graph, "MATCH (u:User) RETURN u.userId AS id ORDER BY id SKIP $skip LIMIT $n", skip=skip, n=n
    )
    return [str(r["id"]) for r in found]


def _register(
    store: GraphStore, settings: Settings, receiver: Receiver, path: str, events: list[str], **filters: Any
) -> registry.Registered:
    done = registry.register_webhook(
        store, settings, url=receiver.url(path), events=events, created_by="tests", **filters
    )
    receiver.secrets[path] = done.secret
    return done


def _change(user: str, kind: str, subject: str, change: str) -> NewChange:
    return NewChange(user, kind, subject, change, "event", (f"m-{user}-{subject}",), "rule-x")


ALL_EVENTS = list(EVENT_TYPES)


# --- without Neo4j --------------------------------------------------------------------------------------


def test_the_signature_is_the_specs() -> None:
    """The Standard Webhooks spec's own example, and our headers verified by the spec's library."""
    key = SpecVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")._whsecret
    assert (
        signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )
    settings = Settings(secret_key=TEST_SECRET)
    key = secret_bytes(settings, "wh_1")
    body = '{"type":"tag.added","data":{"userId":"u1","note":"日本"}}'
    sent = headers(key, "msg_wh_1_7", int(time.time()), body)
    from personagraph.graph.webhooks.signing import shown_secret

    assert SpecVerifier(shown_secret(key)).verify(body.encode(), sent) == json.loads(body)
    assert secret_bytes(settings, "wh_2") != key  # one secret per webhook
    with pytest.raises(WebhookVerificationError):
        SpecVerifier(shown_secret(secret_bytes(settings, "wh_2"))).verify(body.encode(), sent)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_targets_are_refused_outside_development(url: str) -> None:
    production = Settings(env="production", secret_key=TEST_SECRET)
    with pytest.raises(WebhookError, match="not a public address"):
        checked_url(url, production)
    assert checked_url(url, Settings(env="production", webhooks_allow_private=True)) == url
    assert checked_url(url, Settings(env="development")) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https:///nohost", "no host"),
        ("https://user:pw@example.com/hook", "no credentials"),
        ("https://example.com:99999/hook", "not a URL"),
        ("https://example.com/" + "a" * 3000, "at most 2048"),
    ],
)
def test_bad_urls_are_refused_everywhere(url: str, reason: str) -> None:
    for env in ("development", "production"):
        with pytest.raises(WebhookError, match=reason):
            checked_url(url, Settings(env=env, webhooks_allow_private=True))


def test_the_retry_schedule_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSONA_WEBHOOKS_RETRY_S", "1, 2.5,60")
    assert Settings().webhooks_retry_s == (1.0, 2.5, 60.0)
    monkeypatch.setenv("PERSONA_WEBHOOKS_RETRY_S", "-1")
    with pytest.raises(ValueError, match="waits"):
        Settings()


def test_one_dispatcher_per_machine(tmp_path: Path) -> None:
    first, second = (
        FileLock(tmp_path / "webhooks.dispatch.lock"),
        FileLock(tmp_path / "webhooks.dispatch.lock"),
    )
    assert first.try_acquire() and not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


# --- with Neo4j: delivery -------------------------------------------------------------------------------


def test_messages_are_signed_in_order_per_user_with_stable_ids(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    done = _register(hooks, settings, receiver, "/all", ALL_EVENTS)
    wh = done.webhook.webhook_id
    a, b, c = _users(graph, 3)
    cursors: list[int] = []
    for round_ in range(4):  # four transactions, the users interleaved within each
        cursors += record_changes(
            hooks,
            [
                _change(a, "tag", f"t{round_}", "added"),
                _change(b, "audience", f"aud{round_}", "entered"),
                _change(c, "profile", "city", "changed"),
                _change(a, "tag", f"t{round_}", "updated"),
                _change(b, "audience", f"aud{round_}", "exited"),
                _change(a, "tag", f"t{round_}", "removed"),
            ],
        )
    with dispatching(hooks, settings):
        _until(lambda: len(receiver.accepted("/all")) >= len(cursors), "every change delivered")
        _until(lambda: registry.list_webhooks(hooks)[0].cursor == cursors[-1], "the cursor at the last")
    got = receiver.accepted("/all")
    assert all(r.error is None for r in receiver.requests("/all")), [r.error for r in got]
    assert [r.payload["data"]["cursor"] for r in got if r.payload] == cursors  # one sender: log order
    assert [r.id for r in got] == [message_id(wh, n) for n in cursors]  # the dedupe id: stable, unique
    assert len({r.id for r in got}) == len(got)
    for user, count in ((a, 12), (b, 8), (c, 4)):
        theirs = [
            r.payload["data"]["cursor"] for r in got if r.payload and r.payload["data"]["userId"] == user
        ]
        assert theirs == sorted(theirs) and len(theirs) == count
    first = got[0].payload
    assert first is not None and set(first) == {"type", "timestamp", "data"}
    assert first["type"] == "tag.added" and datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    assert first["data"] == {
        "cursor": cursors[0],
        "userId": a,
        "tagId": "t0",
        "change": "added",
        "cause": "event",
        "causeIds": [f"m-{a}-t0"],
        "ruleId": "rule-x",
    }
    kinds = {r.payload["type"]: r.payload["data"] for r in got if r.payload}
    assert set(kinds) == set(EVENT_TYPES)
    assert "audienceId" in kinds["audience.entered"] and kinds["profile.changed"]["field"] == "city"
    assert int(got[0].headers["webhook-timestamp"]) == pytest.approx(time.time(), abs=600)
    delivered = registry.deliveries(hooks, webhook_id=wh, first=100)
    assert len(delivered) == len(cursors) and {d.status for d in delivered} == {"delivered"}


def test_a_failing_receiver_is_retried_with_the_same_id_and_nothing_overtakes(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, webhooks_retry_s=(0.05, 0.05, 0.05, 0.05, 0.05))
    wh = _register(hooks, settings, receiver, "/flaky", ["tag.added"]).webhook.webhook_id
    (user,) = _users(graph, 1, skip=10)
    cursors = list(record_changes(hooks, [_change(user, "tag", f"f{i}", "added") for i in range(3)]))
    receiver.fail = 3
    with dispatching(hooks, settings):
        _until(lambda: len(receiver.accepted("/flaky")) == 3, "three messages accepted")
    sent = receiver.requests("/flaky")
    first = message_id(wh, cursors[0])
    assert [(r.id, r.answered) for r in sent[:4]] == [(first, 500)] * 3 + [(first, 204)]
    assert [r.id for r in sent[4:]] == [message_id(wh, n) for n in cursors[1:]]
    assert all(r.error is None for r in sent)  # every attempt signed afresh, and verified
    retried = registry.deliveries(hooks, delivery_id=first)[0]
    assert (retried.status, retried.attempts, retried.last_status) == ("delivered", 4, 204)


def test_dead_letters_after_the_limit_move_on_and_retry_sends_them_again(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, webhooks_retry_s=(0.02, 0.02))
    wh = _register(hooks, settings, receiver, "/dead", ["tag.removed"]).webhook.webhook_id
    (user,) = _users(graph, 1, skip=20)
    cursors = list(record_changes(hooks, [_change(user, "tag", f"d{i}", "removed") for i in range(2)]))
    receiver.fail = 10**9
    with dispatching(hooks, settings):
        dead = _until(
            lambda: len(found := registry.deliveries(hooks, webhook_id=wh, status="dead")) == 2 and found,
            "two dead letters",
        )
        _until(lambda: registry.list_webhooks(hooks)[0].cursor == cursors[-1], "the cursor past them")
    assert {(d.attempts, d.last_status, d.last_error) for d in dead} == {(3, 500, "HTTP 500")}
    ids = [r.id for r in receiver.requests("/dead")]
    assert ids == [message_id(wh, cursors[0])] * 3 + [message_id(wh, cursors[1])] * 3  # in order
    assert registry.list_webhooks(hooks)[0].retrying is None

    receiver.fail = 0
    again = registry.retry_delivery(hooks, settings, message_id(wh, cursors[0]))
    assert (again.status, again.attempts, again.last_status) == ("delivered", 4, 204)
    resent = receiver.accepted("/dead")
    assert [r.id for r in resent] == [message_id(wh, cursors[0])] and resent[0].error is None
    assert resent[0].payload is not None and resent[0].payload["data"]["cursor"] == cursors[0]
    assert [d.delivery_id for d in registry.deliveries(hooks, status="dead")] == [message_id(wh, cursors[1])]
    with pytest.raises(WebhookError, match="only dead letters"):
        registry.retry_delivery(hooks, settings, message_id(wh, cursors[0]))
    with pytest.raises(WebhookError, match="no delivery"):
        registry.retry_delivery(hooks, settings, "msg_nope_1")


def test_a_receiver_down_then_up_receives_everything(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, webhooks_retry_s=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8))
    wh = _register(hooks, settings, receiver, "/down", ["profile.changed"]).webhook.webhook_id
    users = _users(graph, 3, skip=30)
    receiver.stop()  # connections refused from here
    cursors = list(record_changes(hooks, [_change(u, "profile", "city", "changed") for u in users * 2]))
    with dispatching(hooks, settings):
        _until(
            lambda: (w := registry.list_webhooks(hooks)[0]).retrying is not None and w.retrying.attempts >= 2,
            "two failed attempts while the receiver is down",
        )
        waiting = registry.list_webhooks(hooks)[0].retrying
        assert (
            waiting is not None
            and waiting.last_status is None
            and "ConnectError" in (waiting.last_error or "")
        )
        receiver.start()  # up again, on the same port
        _until(
            lambda: {r.id for r in receiver.accepted("/down")} >= {message_id(wh, n) for n in cursors}, "all"
        )
    assert not registry.deliveries(hooks, status="dead")
    got = [r.payload["data"]["cursor"] for r in receiver.accepted("/down") if r.payload]
    assert sorted(set(got)) == cursors and got == sorted(got)


def test_filters_send_each_webhook_only_what_it_asked_for(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    _register(hooks, settings, receiver, "/tags", ["tag.added"], tag_ids=["t-yes"])
    _register(
        hooks, settings, receiver, "/auds", ["audience.entered", "audience.exited"], audience_ids=["a-yes"]
    )
    _register(hooks, settings, receiver, "/mixed", ["profile.changed", "tag.removed"])
    u, v = _users(graph, 2, skip=40)
    record_changes(
        hooks,
        [
            _change(u, "tag", "t-yes", "added"),
            _change(u, "tag", "t-no", "added"),
            _change(v, "tag", "t-yes", "removed"),
            _change(v, "audience", "a-yes", "entered"),
            _change(u, "audience", "a-no", "entered"),
            _change(v, "audience", "a-yes", "exited"),
            _change(u, "profile", "city", "changed"),
            _change(u, "tag", "t-yes", "updated"),
        ],
    )
    latest = latest_cursor(hooks)
    with dispatching(hooks, settings):
        _until(
            lambda: all(w.cursor == latest for w in registry.list_webhooks(hooks)), "every cursor at the end"
        )

    def seen(path: str) -> list[tuple[str, str, str]]:
        out = []
        for r in receiver.accepted(path):
            assert r.payload is not None, r.error
            data = r.payload["data"]
            out.append(
                (
                    r.payload["type"],
                    data["userId"],
                    data.get("tagId") or data.get("audienceId") or data["field"],
                )
            )
        return out

    assert seen("/tags") == [("tag.added", u, "t-yes")]
    assert seen("/auds") == [("audience.entered", v, "a-yes"), ("audience.exited", v, "a-yes")]
    assert seen("/mixed") == [("tag.removed", v, "t-yes"), ("profile.changed", u, "city")]


def test_a_forgotten_users_deliveries_are_dropped(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, webhooks_retry_s=())  # the first failure is final
    wh = _register(hooks, settings, receiver, "/forget", ["tag.added"]).webhook.webhook_id
    gone, stays = _users(graph, 2, skip=50)
    receiver.fail = 10**9
    record_changes(hooks, [_change(gone, "tag", "x", "added")])
    with dispatching(hooks, settings):
        _until(lambda: registry.deliveries(hooks, status="dead"), "a dead letter")
    # A retry waiting an hour for the same user, then the user is forgotten.
    slow = _settings(tmp_path, webhooks_retry_s=(3600.0,))
    record_changes(hooks, [_change(gone, "tag", "y", "added")])
    with dispatching(hooks, slow):
        _until(lambda: registry.list_webhooks(hooks)[0].retrying, "a delivery waiting to be retried")
    forget_user(hooks, user_id=gone, key=suppression_key(settings), actor="tests")
    assert not rows(graph, "MATCH (d:WebhookDelivery {userId: $u}) RETURN d", u=gone)
    assert registry.list_webhooks(hooks)[0].retrying is None and not registry.deliveries(hooks, webhook_id=wh)

    receiver.fail = 0
    before = len(receiver.requests("/forget"))
    later = record_changes(hooks, [_change(stays, "tag", "z", "added")])
    with dispatching(hooks, slow):
        _until(lambda: receiver.accepted("/forget"), "the other user's change")
    after = receiver.requests("/forget")[before:]
    assert [r.id for r in after] == [message_id(wh, later[0])]  # nothing of the forgotten user


def test_registration_checks_its_input_and_never_stores_the_secret(
    graph: AnalysedGraph,
    hooks: GraphStore,
    receiver: Receiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path)
    production = _settings(tmp_path, env="production")
    for bad, reason in [
        ({"events": ["tag.deleted"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"audience_ids": [f"a{i}" for i in range(101)]}, "audienceIds"),
    ]:
        given = {"url": receiver.url("/x"), "events": ["tag.added"], **bad}
        with pytest.raises(WebhookError, match=reason):
            registry.register_webhook(hooks, settings, created_by="tests", **given)
    with pytest.raises(WebhookError, match="not a public address"):
        registry.register_webhook(
            hooks, production, url=receiver.url("/x"), events=["tag.added"], created_by="t"
        )
    assert registry.list_webhooks(hooks) == []

    caplog.set_level(logging.DEBUG)
    done = _register(hooks, settings, receiver, "/secret", ALL_EVENTS)
    assert done.secret.startswith("whsec_") and SpecVerifier(done.secret)._whsecret == secret_bytes(
        settings, done.webhook.webhook_id
    )
    (user,) = _users(graph, 1, skip=60)
    receiver.fail = 1
    record_changes(hooks, [_change(user, "tag", "s", "added")])
    with dispatching(hooks, settings):
        _until(lambda: receiver.accepted("/secret"), "a delivery after a retry")
    key_text = done.secret.removeprefix("whsec_")
    stored = rows(graph, "MATCH (n) WHERE n:Webhook OR n:WebhookDelivery RETURN properties(n) AS p")
    assert stored and not any(key_text in json.dumps(r["p"], default=str) for r in stored)
    listed = repr(registry.list_webhooks(hooks)) + repr(registry.deliveries(hooks))
    assert key_text not in listed and key_text not in caplog.text
    assert "retrying" in caplog.text or "failed" in caplog.text  # the logs were captured


def test_the_cli_registers_lists_and_removes(
    graph: AnalysedGraph,
    hooks: GraphStore,
    receiver: Receiver,
    neo4j_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    audit = tmp_path / "audit.log"
    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(audit))
    monkeypatch.setenv("PERSONA_SECRET_KEY", TEST_SECRET.get_secret_value())
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        refused = runner.invoke(app, ["webhooks", "add", "--url", "ftp://x", "--events", "tag.added"])
        assert refused.exit_code != 0
        added = runner.invoke(
            app,
            [
                "webhooks",
                "add",
                "--url",
                receiver.url("/cli"),
                "--events",
                "tag.added,audience.entered",
                "--audience",
                "vip",
                "--actor",
                "ops",
            ],
        )
        assert added.exit_code == 0, added.output
        webhook_id, secret = added.stdout.split()
        assert webhook_id.startswith("wh_") and secret.startswith("whsec_")
        listed = runner.invoke(app, ["webhooks", "list", "--json"])
        assert listed.exit_code == 0, listed.output
        (shown,) = [json.loads(line) for line in listed.stdout.splitlines()]
        assert shown["id"] == webhook_id and shown["audienceIds"] == ["vip"]
        assert shown["events"] == ["tag.added", "audience.entered"]
        assert secret.removeprefix("whsec_") not in listed.output
        dead = runner.invoke(app, ["webhooks", "deliveries", "--dead", "--json"])
        assert dead.exit_code == 0 and dead.stdout == ""
        removed = runner.invoke(app, ["webhooks", "remove", webhook_id, "--actor", "ops"])
        assert removed.exit_code == 0, removed.output
        assert registry.list_webhooks(hooks) == []
    finally:
        get_settings.cache_clear()
    text = audit.read_text(encoding="utf-8")
    assert secret.removeprefix("whsec_") not in text and "ftp://" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [(e["actor"], e["what"]) for e in entries] == [
        ("ops", "persona webhooks add"),
        ("ops", "persona webhooks remove"),
    ]


# --- with Neo4j: the API ----------------------------------------------------------------------------------


API_SETTINGS = {"webhooks_in_api": False}  # the module's app (keys, client): tests run their own dispatchers
REGISTER = """mutation($url: String!, $events: [WebhookEventType!]!, $audienceIds: [ID!]) {
  registerWebhook(url: $url, events: $events, audienceIds: $audienceIds) {
    secret webhook { id url events audienceIds tagIds cursor createdBy }
  }
}"""
LIST = "{ webhooks { id url events cursor retrying { id } } }"
DELIVERIES = (
    "query($w: ID) { webhookDeliveries(webhookId: $w) { id status attempts lastStatus type userId cursor } }"
)
ADMIN_ONLY = {
    "register": (REGISTER, {"url": "http://127.0.0.1:9/role", "events": ["TAG_ADDED"]}),
    "register under an alias": (
        'mutation { hook: registerWebhook(url: "http://127.0.0.1:9/alias", events: [TAG_ADDED]) { secret } }',
        {},
    ),
    "list": (LIST, {}),
    "list in a fragment": ("query { ...F } fragment F on Query { webhooks { id url } }", {}),
    "list inline": ("query { ... on Query { webhooks { id } } }", {}),
    "deliveries": (DELIVERIES, {}),
    "remove": ('mutation { removeWebhook(id: "wh_0") }', {}),
    "retry": ('mutation { retryWebhookDelivery(id: "msg_wh_0_1") { id } }', {}),
}


@pytest.mark.parametrize("role", ["service", "marketer", "analyst"])
@pytest.mark.parametrize("operation", list(ADMIN_ONLY))
def test_only_admins_touch_webhooks(
    client: Any, keys: Any, hooks: GraphStore, role: str, operation: str
) -> None:
    """The request that would break it: a non-admin key registering (under an alias too), listing (through
    fragments too), reading deliveries, removing, re-sending. Each is refused whole and writes nothing."""
    from tests.api_support import as_role

    query, variables = ADMIN_ONLY[operation]
    error = as_role(client, keys, role).error(query, variables)
    assert error["extensions"]["code"] == "FORBIDDEN", error
    assert "whsec_" not in json.dumps(error)
    assert registry.list_webhooks(hooks) == []


def test_admins_register_list_and_remove_through_graphql(
    client: Any, keys: Any, hooks: GraphStore, receiver: Receiver
) -> None:
    from tests.api_support import as_role

    admin = as_role(client, keys, "admin")
    variables = {
        "url": receiver.url("/gql"),
        "events": ["TAG_ADDED", "AUDIENCE_ENTERED"],
        "audienceIds": ["vip"],
    }
    done = admin.data(REGISTER, variables)["registerWebhook"]
    secret, hook = done["secret"], done["webhook"]
    assert secret.startswith("whsec_") and hook["createdBy"] == "test-admin"
    assert hook["events"] == ["TAG_ADDED", "AUDIENCE_ENTERED"] and hook["audienceIds"] == ["vip"]
    assert SpecVerifier(secret)._whsecret == secret_bytes(keys.settings, hook["id"])
    listed = admin.data(LIST)["webhooks"]
    assert [w["id"] for w in listed] == [hook["id"]] and "whsec_" not in json.dumps(listed)
    assert admin.code(REGISTER, {**variables, "url": "gopher://127.0.0.1/x"}) == "BAD_USER_INPUT"
    assert admin.code(REGISTER, {**variables, "url": "https://u:p@example.com/"}) == "BAD_USER_INPUT"
    assert admin.data(DELIVERIES, {"w": hook["id"]})["webhookDeliveries"] == []
    assert admin.code('mutation { retryWebhookDelivery(id: "msg_none_1") { id } }') == "BAD_USER_INPUT"
    assert admin.data(f'mutation {{ removeWebhook(id: "{hook["id"]}") }}') == {"removeWebhook": True}
    assert admin.data(LIST)["webhooks"] == []
    audit = keys.settings.audit_log_path.read_text(encoding="utf-8")
    assert secret.removeprefix("whsec_") not in audit
    mutations = [e for e in keys.audit_entries() if e["action"] == "mutation"]
    assert {"registerWebhook", "removeWebhook"} <= {e["what"] for e in mutations}


AT = "2026-11-21T21:00:00Z"
RECORD_EVENT = "mutation($e: EventInput!) { recordEvent(input: $e) { new eventKey } }"


def test_end_to_end_from_record_event_to_a_verified_delivery(
    graph: AnalysedGraph, hooks: GraphStore, receiver: Receiver, neo4j_connection: Any, tmp_path: Path
) -> None:
    """recordEvent (service key) → the event log → the folding worker → the change log → the app's own
    dispatcher → a signed POST: the user entering a saved audience of the product's viewers."""
    from personagraph.graph.audiences.service import save_audience
    from tests.api_support import GraphQL, secured

    pair = rows(
        graph,
        "MATCH (u:User), (p:Product) WHERE NOT (u)-[:VIEWED]->(p) "
        "RETURN u.userId AS user, p.sku AS sku ORDER BY user DESC, sku LIMIT 1",
    )[0]
    user, sku = str(pair["user"]), str(pair["sku"])
    save_audience(
        hooks,
        audience_id="wh-viewers",
        name="Viewers",
        definition={"behavior": {"action": "viewed", "sku": sku}},
        owner="tests",
        purpose="analysis",
    )
    app = secured(
        tmp_path / "e2e", api_rate_limit=0, webhooks_retry_s=(0.05, 0.05, 0.05), webhooks_poll_s=0.02
    )
    with app.client(neo4j_connection) as http:
        admin, service = GraphQL(http, app.headers("admin")), GraphQL(http, app.headers("service"))
        done = admin.data(
            REGISTER,
            {"url": receiver.url("/e2e"), "events": ["AUDIENCE_ENTERED"], "audienceIds": ["wh-viewers"]},
        )["registerWebhook"]
        receiver.secrets["/e2e"] = done["secret"]
        recorded = service.data(
            RECORD_EVENT, {"e": {"userId": user, "kind": "VIEW", "at": AT, "target": sku}}
        )
        assert recorded["recordEvent"]["new"] is True
        got = _until(lambda: receiver.accepted("/e2e"), "the delivery")
        deliveries = _until(
            lambda: admin.data(DELIVERIES, {"w": done["webhook"]["id"]})["webhookDeliveries"], "its record"
        )
    assert got[0].error is None and got[0].payload is not None
    assert got[0].payload["type"] == "audience.entered"
    data = got[0].payload["data"]
    assert (data["userId"], data["audienceId"], data["change"], data["cause"]) == (
        user,
        "wh-viewers",
        "entered",
        "event",
    )
    assert [(d["id"], d["status"], d["userId"]) for d in deliveries] == [(got[0].id, "DELIVERED", user)]
