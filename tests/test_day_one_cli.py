"""Issue 15, item 13: the CLI for people and for scripts, against the test Neo4j.

The commands run as a user runs them, in a subprocess of ``python -m cli.main`` (stdout and stderr pipes,
or a pseudo-terminal where the terminal matters), or through typer's CliRunner when the exit code and the
text are all that count.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from neo4j import Driver

from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _env(neo4j_env: dict[str, str], data_dir: Path, **extra: str) -> dict[str, str]:
    """The user's environment without a terminal's size or forced colours, pointed at the test Neo4j."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM")
    }
    return {**env, **neo4j_env, "PERSONA_DATA_DIR": str(data_dir), **extra}


def _persona(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`persona ARGS` with stdout and stderr going to pipes (as in a script or `> file`)."""
    return subprocess.run(
        [sys.executable, "-m", "personagraph.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _persona_tty(*args: str, env: dict[str, str], columns: int = 160, timeout: float = 300) -> str:
    """`persona ARGS` on a pseudo-terminal ``columns`` wide; everything it wrote, escapes included."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "personagraph.cli.main", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=30)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return b"".join(chunks).decode("utf-8", "replace")


REJECTED = 3  # the load table's cells after the file: read, loaded, unchanged, rejected, ...


def _table_rows(text: str, first_column: str) -> dict[str, list[str]]:
    """Rows of a rich table in ``text``, by their first cell (one matching ``first_column``)."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and re.fullmatch(first_column, cells[0]):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated shop with some bad rows in every file (rejects), big enough that a load takes seconds."""
    folder = tmp_path_factory.mktemp("shop")
    generate(folder, users=400, seed=11, bad_row_share=0.01)
    return folder


def _test_env(connection: ConnectionInfo) -> dict[str, str]:
    """What the ``neo4j_env`` fixture sets, for module-scoped fixtures."""
    return {
        "NEO4J_URI": connection.uri,
        "PERSONA_NEO4J_USER": connection.user,
        "PERSONA_NEO4J_PASSWORD": connection.password,
        "PERSONA_NEO4J_DATABASE": connection.database,
    }


@pytest.fixture(scope="module")
def piped_load(
    driver: Driver,
    neo4j_connection: ConnectionInfo,
    shop_files: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`persona load SHOP` into an empty graph, stdout and stderr piped; once for the tests that read it."""
    GraphStore(driver, neo4j_connection.database).run_autocommit("server/write/wipe_data")
    data_dir = tmp_path_factory.mktemp("piped")
    done = _persona("load", str(shop_files), env=_env(_test_env(neo4j_connection), data_dir))
    assert done.returncode == 3, done.stderr  # the generated bad rows are rejected
    return done, data_dir


# === output


def test_tables_are_not_clipped_when_piped(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Piped (stdout a pipe, no terminal anywhere), a table wider than 80 columns is printed whole."""
    name = "Customers who buy premium espresso machines and grinders in the first week of each month"
    env = _env(neo4j_env, tmp_path)
    added = _persona(
        "tags",
        "add",
        "espresso-early-month",
        "--tier",
        "preference",
        "--name",
        name,
        "--synonym",
        "coffee people who plan their month ahead",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    listed = _persona("tags", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout and "coffee people who plan their month ahead" in listed.stdout
    assert "…" not in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) > 120  # its natural width, not 80


def test_tags_list_and_rules_print_to_stdout(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Data goes to stdout (a script can read it), messages to stderr."""
    env = _env(neo4j_env, tmp_path)
    assert _persona("tags", "add", "vip", "--tier", "basic", "--name", "VIP", env=env).returncode == 0
    listed = _persona("tags", "list", env=env)
    assert listed.returncode == 0 and "vip" in listed.stdout and "vip" not in listed.stderr
    rules = _persona("tags", "rules", env=env)
    assert rules.returncode == 0, rules.stderr
    assert "high-value" in rules.stdout and "high-value" not in rules.stderr


def test_logs_and_progress_are_plain_lines_when_piped(
    piped_load: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """In a file, log lines are not padded to a width and a load's progress is no redrawn bar."""
    done, _ = piped_load
    for line in done.stderr.splitlines():
        assert len(line) < 200, f"padded line: {line!r}"
        assert "\x1b" not in line and "\r" not in line
    assert re.search(r"^users\.csv: [\d,]+ rows read in [\d.]+ s", done.stderr, re.M), done.stderr


# === progress


def _progress_counts(text: str) -> dict[str, int]:
    """The rows each file's progress line shows last (a live line or the one line of a piped load)."""
    counts: dict[str, int] = {}
    for line in re.split(r"[\r\n]", ANSI.sub("", text)):
        found = re.match(r"\s*([\w.]+\.csv):?\s+([\d,]+)(?: of [\d,]+)? rows", line)
        if found:
            counts[found[1]] = int(found[2].replace(",", ""))
    return counts


def _live_lines(text: str) -> dict[str, re.Match[str]]:
    """Each file's last live line on a terminal: rows read (of the total), rows/s, rejected, time, ETA."""
    lines: dict[str, re.Match[str]] = {}
    for line in re.split(r"[\r\n]", ANSI.sub("", text)):
        found = re.match(
            r"\s*(?P<file>[\w.]+\.csv)\s+(?P<read>[\d,]+)(?: of (?P<total>[\d,]+))? rows\s+\S+ rows/s"
            r"\s+(?P<rejected>[\d,]+) rejected\s+(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d) ETA",
            line,
        )
        if found:
            lines[found["file"]] = found
    return lines


def test_progress_and_report_agree_on_rows_read(
    piped_load: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """One definition of rows read: rejected rows count in the progress line as in the table."""
    done, _ = piped_load
    table = _table_rows(done.stderr, r"[\w.]+\.csv")
    assert any(int(cells[REJECTED].replace(",", "")) for cells in table.values())  # rows were rejected
    read = {name: int(cells[0].replace(",", "")) for name, cells in table.items()}
    assert _progress_counts(done.stderr) == read


def test_reject_files_are_listed_once(piped_load: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, data_dir = piped_load
    rejects = sorted((data_dir / "rejects").glob("*.jsonl"))
    assert rejects
    for path in rejects:
        assert done.stderr.count(str(path)) == 1, (path, done.stderr)


@pytest.fixture(scope="module")
def tty_load(
    driver: Driver,
    neo4j_connection: ConnectionInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, list[str]]]:
    """`persona load SHOP` on a terminal into an empty graph: what it wrote, and the load table's rows.

    The shop is bigger than ``shop_files``: on a fast machine a 400-user load takes about two seconds,
    too short for a file's clock to differ from the whole load's by more than the test's tolerance."""
    shop = tmp_path_factory.mktemp("tty-shop")
    generate(shop, users=1500, seed=11, bad_row_share=0.01)
    GraphStore(driver, neo4j_connection.database).run_autocommit("server/write/wipe_data")
    env = _env(_test_env(neo4j_connection), tmp_path_factory.mktemp("tty"))
    out = _persona_tty("load", str(shop), env=env)
    return out, _table_rows(ANSI.sub("", out), r"[\w.]+\.csv")


def test_live_progress_and_report_agree_on_rows_read(tty_load: tuple[str, dict[str, list[str]]]) -> None:
    out, table = tty_load
    assert any(int(cells[REJECTED].replace(",", "")) for cells in table.values())  # rows were rejected
    read = {name: int(cells[0].replace(",", "")) for name, cells in table.items()}
    assert _progress_counts(out) == read
    live = _live_lines(out)
    rejected = {name: int(cells[REJECTED].replace(",", "")) for name, cells in table.items()}
    assert {name: int(m["rejected"].replace(",", "")) for name, m in live.items()} == rejected
    totals = {name: int(m["total"].replace(",", "")) for name, m in live.items() if m["total"]}
    assert totals == read, "each plain CSV file's line shows its total rows (for the ETA)"


def test_each_files_time_stops_when_it_is_done(tty_load: tuple[str, dict[str, list[str]]]) -> None:
    """On a terminal, the live line of a file shows that file's time (the table's seconds), not the
    time of the whole load."""
    out, table = tty_load
    seconds = {name: float(cells[-1]) for name, cells in table.items()}
    assert sum(seconds.values()) >= 3, seconds  # long enough for a counting clock to show
    shown = {
        name: int(m["h"]) * 3600 + int(m["m"]) * 60 + int(m["s"]) for name, m in _live_lines(out).items()
    }
    assert shown.keys() == seconds.keys(), out
    for name, elapsed in shown.items():
        assert abs(elapsed - seconds[name]) <= 1.5, (name, elapsed, seconds)


# === nonexistent


def test_load_of_a_missing_path_says_it_does_not_exist(neo4j_env: dict[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.main import app

    missing = tmp_path / "nonexistent"
    done = CliRunner().invoke(app, ["load", str(missing)])
    assert done.exit_code == 2, done.output
    assert f"{missing} does not exist" in done.output
    assert "unknown kind" not in done.output


# === version


def test_version() -> None:
    from importlib.metadata import version

    from typer.testing import CliRunner

    from personagraph.cli.main import app

    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"persona {version('personagraph')}"


# === examples


@pytest.mark.parametrize(
    "command", ["", "load", "analyze", "tags", "audience", "serve", "keys", "consent", "forget"]
)
def test_help_has_examples(command: str) -> None:
    """The main help and the main sub-commands end with an Examples section of runnable lines."""
    from typer.testing import CliRunner

    from personagraph.cli.main import app

    done = CliRunner().invoke(app, [*command.split(), "--help"])
    assert done.exit_code == 0, done.output
    assert "Examples:" in done.stdout
    shown = done.stdout.split("Examples:", 1)[1]
    lines = [line.strip(" │") for line in shown.splitlines()]
    assert sum(line.startswith(f"persona {command}".strip()) for line in lines) >= 2, shown


# === consent


@pytest.fixture
def demo_store(store: GraphStore, tmp_path: Path) -> GraphStore:
    """The six demo users (u001..u006) with their orders, in an empty graph."""
    from personagraph.loaders.pipeline import LoadOptions, load_dataset
    from tests.conftest import DEMO_DATA

    load_dataset(store, DEMO_DATA, options=LoadOptions(rejects_dir=tmp_path / "rejects"))
    return store


def test_consent_names_the_purpose_as_audiences_do(
    demo_store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`consent` says "personalised" as `audience --purpose` does; the old spelling is still accepted."""
    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.kinds import CONSENT_PURPOSES, PURPOSES, SURVEY_PURPOSE
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    # every consent purpose names an audience's purpose but surveys, the use of answers (docs/surveys.md)
    assert set(CONSENT_PURPOSES) - {SURVEY_PURPOSE} <= set(PURPOSES)
    runner = CliRunner()
    done = runner.invoke(app, ["consent", "set", "--help"])
    assert "personalised" in done.stdout
    done = runner.invoke(
        app, ["consent", "set", "u001", "--purpose", "personalised", "--revoked", "--source", "app"]
    )
    assert done.exit_code == 0, done.output
    assert "u001: personalised revoked" in done.output
    done = runner.invoke(
        app, ["consent", "set", "u002", "--purpose", "personalisation", "--revoked", "--source", "app"]
    )
    assert done.exit_code == 0, done.output  # the old name, for scripts written against it
    assert "u002: personalised revoked" in done.output
    for user in ("u001", "u002"):
        history = runner.invoke(app, ["consent", "history", user])
        assert history.exit_code == 0 and "personalised" in history.stdout
        assert "personalisation" not in history.output
    get_settings.cache_clear()


def test_api_consent_purpose_is_personalised(
    demo_store: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    """The API's ConsentPurpose says PERSONALISED, as its audience Purpose does; PERSONALISATION is a
    deprecated alias of it."""
    from tests.api_support import GraphQL, secured

    keys = secured(tmp_path / "keys")
    history = "query($u: ID!) { user(id: $u) { personalizationOptOut consentHistory { purpose granted } } }"
    with keys.client(neo4j_connection) as client:
        gql = GraphQL(client)
        for user, purpose in (("u001", "PERSONALISED"), ("u002", "PERSONALISATION")):
            done = gql.data(
                f"mutation($u: ID!) {{ setConsent(userId: $u, purpose: {purpose}, granted: false,"
                ' source: "app") { purpose granted } }',
                {"u": user},
            )
            assert done["setConsent"] == {"purpose": "PERSONALISED", "granted": False}
            user_data = gql.data(history, {"u": user})["user"]
            assert user_data["personalizationOptOut"] is True
            assert {"purpose": "PERSONALISED", "granted": False} in user_data["consentHistory"]
        enum = gql.data('{ __type(name: "ConsentPurpose") { enumValues { name } } }')["__type"]
        names = [v["name"] for v in enum["enumValues"]]
        assert names == ["MARKETING", "PERSONALISED", "ADVERTISING", "SURVEYS"]


# === serve


def test_serve_with_a_wrong_password_is_one_line(neo4j_env: dict[str, str], tmp_path: Path) -> None:
    from personagraph.graph.server.local import free_port

    env = _env(neo4j_env, tmp_path, PERSONA_NEO4J_PASSWORD="not-the-password")
    done = _persona("serve", "--port", str(free_port()), env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) <= 2, done.stderr  # the "GraphQL at ..." line and the error
    assert "wrong or missing password" in errors[-1]


def test_serve_without_neo4j_is_one_line(tmp_path: Path) -> None:
    from personagraph.graph.server.local import free_port

    nobody = {
        "NEO4J_URI": f"bolt://127.0.0.1:{free_port()}",
        "PERSONA_NEO4J_PASSWORD": "some-password",
        "PERSONA_NEO4J_CONNECT_TIMEOUT_S": "1",
    }
    done = _persona("serve", "--port", str(free_port()), env=_env(nobody, tmp_path), timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) <= 2, done.stderr
    assert "does not answer" in errors[-1]


# === wipe


def _count(store: GraphStore, cypher: str) -> int:
    records, _, _ = store.driver.execute_query(cypher, database_=store.database)
    return int(records[0][0])


def test_wipe_asks_then_empties_the_database_but_keeps_schema_and_forgotten(
    demo_store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    forgotten = runner.invoke(app, ["forget", "u006", "--yes"])
    assert forgotten.exit_code == 0, forgotten.output
    constraints = _count(demo_store, "SHOW CONSTRAINTS YIELD name RETURN count(*)")
    ledger = _count(demo_store, "MATCH (m:SchemaMigration) RETURN count(m)")
    kept = _count(demo_store, "MATCH (n) WHERE n:Suppressed OR n:PrivacyKeyCheck RETURN count(n)")
    data = _count(demo_store, "MATCH (n) WHERE NOT n:SchemaMigration RETURN count(n)") - kept
    assert kept == 2 and data > 20

    declined = runner.invoke(app, ["wipe"], input="n\n")
    assert declined.exit_code == 1, declined.output
    assert f"Delete all {data:,} nodes of database 'neo4j'" in declined.output
    assert _count(demo_store, "MATCH (u:User) RETURN count(u)") == 5  # nothing deleted

    done = runner.invoke(app, ["wipe"], input="y\n")
    assert done.exit_code == 0, done.output
    assert _count(demo_store, "MATCH (n) WHERE NOT n:SchemaMigration RETURN count(n)") == kept
    assert _count(demo_store, "MATCH (m:SchemaMigration) RETURN count(m)") == ledger
    assert _count(demo_store, "SHOW CONSTRAINTS YIELD name RETURN count(*)") == constraints

    again = runner.invoke(app, ["wipe", "--yes"])
    assert again.exit_code == 0 and "holds no data" in again.output
    everything = runner.invoke(app, ["wipe", "--yes", "--suppression-list"])
    assert everything.exit_code == 0, everything.output
    assert _count(demo_store, "MATCH (n) WHERE NOT n:SchemaMigration RETURN count(n)") == 0
    assert _count(demo_store, "MATCH (m:SchemaMigration) RETURN count(m)") == ledger
    get_settings.cache_clear()


def test_wipe_without_yes_in_a_script_deletes_nothing(
    demo_store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    before = _count(demo_store, "MATCH (n) RETURN count(n)")
    done = _persona("wipe", env=_env(neo4j_env, tmp_path))  # stdin is empty: no answer
    assert done.returncode == 1, done.stderr
    assert "Delete all" in done.stdout and "Aborted" in done.stdout + done.stderr
    assert _count(demo_store, "MATCH (n) RETURN count(n)") == before


# === warnings

TYPO = {"or": [{"tag": {"tagId": "vip"}}, {"tag": {"tagId": "vipp"}}]}
WARNING = "tagId 'vipp': no tag has this id, so its condition matches no one"


@pytest.fixture
def vip_store(demo_store: GraphStore) -> GraphStore:
    from personagraph.graph.tags import tag_user, upsert_tag

    upsert_tag(demo_store, tag_id="vip", name="VIP", tier="basic")
    tag_user(demo_store, user_id="u001", tag_id="vip")
    return demo_store


def test_an_unknown_tag_id_is_a_warning_in_the_cli(
    vip_store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    definition = tmp_path / "typo.json"
    definition.write_text(json.dumps(TYPO), encoding="utf-8")
    runner = CliRunner()
    for args in (["count"], ["list"], ["breakdown", "--by", "city"]):
        done = runner.invoke(app, ["audience", args[0], str(definition), *args[1:]])
        assert done.exit_code == 0, done.output
        assert f"warning: {WARNING}" in done.stderr, args
        assert "'vip'" not in done.stderr  # the tag that exists is no warning
    done = runner.invoke(app, ["audience", "count", str(definition)])
    assert done.stdout.startswith("1 users")  # the answer stands: u001 holds vip
    get_settings.cache_clear()


def test_an_unknown_tag_id_is_a_warning_in_the_api(
    vip_store: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    from tests.api_support import GraphQL, secured

    query = "query($d: AudienceInput!) { audience(definition: $d) { count { value } warnings } }"
    with secured(tmp_path / "keys").client(neo4j_connection) as client:
        gql = GraphQL(client)
        found = gql.data(query, {"d": TYPO})["audience"]
        assert found == {"count": {"value": 1}, "warnings": [WARNING]}
        fine = gql.data(query, {"d": {"tag": {"tagId": "vip"}}})["audience"]
        assert fine["warnings"] == []


# === crosssell


@pytest.fixture
def one_line_shop(store: GraphStore, tmp_path: Path) -> GraphStore:
    """Six one-line orders: every product sold, none with another."""
    from personagraph.loaders.pipeline import LoadOptions, load_dataset

    folder = tmp_path / "one-line"
    folder.mkdir()
    (folder / "users.csv").write_text("user_id,city\nu1,Shanghai\nu2,Beijing\nu3,Hangzhou\n")
    (folder / "products.csv").write_text("sku,name,price\nP1,kettle,20\nP2,teapot,30\nP3,cups,10\n")
    lines = [f"o{i},u{i % 3 + 1},P{i % 3 + 1},2025-05-0{i}T10:00:00Z,1," for i in range(1, 7)]
    (folder / "orders.csv").write_text(
        "order_id,user_id,sku,ordered_at,quantity,unit_price\n" + "\n".join(lines)
    )
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=tmp_path / "rejects"))
    assert all(r.rejected == 0 for r in reports)
    return store


def test_copurchase_says_why_there_are_no_pairs(
    one_line_shop: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    done = CliRunner().invoke(app, ["analyze", "copurchase"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "multi_line_orders=0" in said and "pairs_written=0" in said
    assert "no order holds two or more different products" in said
    get_settings.cache_clear()


def test_an_empty_cross_sell_says_why(
    one_line_shop: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    from personagraph.graph.analytics.copurchase import run_copurchase
    from tests.api_support import GraphQL, secured

    query = (
        '{ p: crossSell(sku: "P1") { items { sku } reason }'
        ' u: crossSell(userId: "u2") { items { sku } reason } }'
    )
    with secured(tmp_path / "keys").client(neo4j_connection) as client:
        gql = GraphQL(client)
        before = gql.data(query)
        for answer in before.values():  # u2 bought P2: their list is personalised, seeded by P2
            assert answer["items"] == [] and "co-purchase analysis has not run" in answer["reason"]
        run_copurchase(one_line_shop)
        after = gql.data(query)
        for answer in after.values():
            assert answer["items"] == []
            assert "no order holds two or more different products" in answer["reason"]


# === convergence


@pytest.fixture
def ties_only(store: GraphStore, tmp_path: Path) -> GraphStore:
    """A social network without orders, behaviour or tags (as a public friendship dataset): every user
    has the same persona features, so there are fewer distinct points than clusters to find."""
    from personagraph.loaders.pipeline import LoadOptions, load_dataset

    folder = tmp_path / "ties-only"
    folder.mkdir()
    users = [f"s{i:02d}" for i in range(40)]
    (folder / "users.csv").write_text("user_id\n" + "\n".join(users) + "\n")
    ties = [f"{users[i]},{users[(i * 7 + 3) % 40]},friend," for i in range(40)]
    (folder / "ties.csv").write_text("src_user_id,dst_user_id,kind,since\n" + "\n".join(ties) + "\n")
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=tmp_path / "rejects"))
    assert all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]
    return store


def test_analyze_all_without_convergence_warnings(
    ties_only: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    done = _persona("analyze", "all", env=_env(neo4j_env, tmp_path, PYTHONWARNINGS="default"))
    assert done.returncode == 0, done.stderr
    assert "ConvergenceWarning" not in done.stderr, done.stderr
    assert "personas" in done.stderr


# === demo


def test_demo_output_reads_well_in_a_file(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """`make demo > demo.log 2>&1`: no escapes or redrawn bars, nothing clipped, the load table whole and
    where the load happened, the key and the URL on their own lines."""
    env = _env(neo4j_env, tmp_path)
    done = _persona("demo", "--no-serve", "--workdir", str(tmp_path / "demo"), env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    text = done.stdout + done.stderr
    assert "\x1b" not in text and "\r" not in text and "…" not in text
    lines = text.splitlines()
    assert all(len(line) < 300 for line in lines), max(lines, key=len)
    table = _table_rows(done.stderr, r"[\w.]+\.csv")
    assert set(table) >= {"users.csv", "orders.csv", "events.csv", "ties.csv"}
    for cells in table.values():
        assert all(re.fullmatch(r"[\d,.]+", cell) for cell in cells), cells  # every number whole
    first_row = next(i for i, line in enumerate(lines) if "users.csv" in line)
    assert first_row < next(i for i, line in enumerate(lines) if line.startswith("demo: analysing"))
    assert "ConvergenceWarning" not in text and "Traceback" not in text
    assert any(re.fullmatch(r"\s*pg_\S+", line) for line in lines)  # the key, whole, on its line
    assert "demo graph ready: 1,000 users" in text
