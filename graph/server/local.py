"""A real Neo4j Community without Docker: jars from Maven Central, run in-process by a Java launcher.

Layout outside the repository:
- ``<cache_dir>/<version>/``: ``jars/`` (Neo4j + plugins, versions mediated by one Maven run),
  ``plugins/`` (the plugin jars only, Neo4j's plugin directory), ``classes/`` (the compiled
  launcher) and ``manifest.json`` (what was resolved); ``admin/`` (Neo4j + Neo4j's own neo4j-admin, for
  the offline importer) once first asked for.
- ``<data_dir>/``: ``home/`` (Neo4j's data and logs), ``neo4j.conf``, ``server.json`` (pid, port),
  ``launcher.log`` and ``password`` (generated once when no password is configured).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from personagraph.graph.errors import LocalNeo4jError

log = logging.getLogger(__name__)

LAUNCHER_DIR = Path(__file__).resolve().parents[2] / "tools" / "neo4j-local"
LAUNCHER_CLASS = "Neo4jLauncher"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"  # neo4j-admin's main class, on admin_classpath()
JVM_FLAGS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
)
PLUGIN_PROCEDURES = {"apoc": "apoc.*", "gds": "gds.*"}


@dataclass(frozen=True)
class Installation:
    """Resolved jars for one Neo4j version."""

    root: Path
    neo4j_version: str
    plugins: dict[str, str]  # name -> version actually resolved
    missing_plugins: dict[str, str]  # name -> why it could not be had

    @property
    def classpath(self) -> str:
        return f"{self.root / 'jars'}/*{os.pathsep}{self.root / 'classes'}"


@dataclass(frozen=True)
class ServerState:
    """What `start` remembers in server.json about the process it launched."""

    pid: int
    port: int
    version: str


@dataclass(frozen=True)
class LocalStatus:
    running: bool
    pid: int | None
    port: int | None
    version: str | None
    data_dir: Path


class LocalNeo4j:
    """Install, start, stop and inspect one local Neo4j living in ``data_dir``."""

    def __init__(
        self,
        *,
        version: str,
        cache_dir: Path,
        data_dir: Path,
        port: int,
        password: str | None = None,
        plugins: tuple[str, ...] = ("apoc", "gds"),
        heap: str = "1g",
        pagecache: str = "512m",
        tx_memory_max: str = "512m",
        java_home: Path | None = None,
    ) -> None:
        self.version = version
        self.cache_dir = cache_dir
        self.data_dir = data_dir
        self.port = port
        self.plugins = plugins
        self.heap = heap
        self.pagecache = pagecache
        self.tx_memory_max = tx_memory_max
        self.java_home = java_home
        self._password = password

    # -- credentials ------------------------------------------------------------------------

    @property
    def password(self) -> str:
        """The configured password, else one generated once and kept (0600) in the data dir."""
        if self._password:
            return self._password
        path = self.data_dir / "password"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(18), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    @property
    def import_dir(self) -> Path:
        """Where LOAD CSV reads file:/// URLs from (the ingest benchmark copies files here)."""
        return self.data_dir / "import"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    # -- install ----------------------------------------------------------------------------

    def install(self) -> Installation:
        """Resolve Neo4j (and the plugins Maven Central serves) into the cache; fast when cached."""
        root = self.cache_dir / self.version
        manifest = root / "manifest.json"
        if manifest.exists():
            return self._installation(root, json.loads(manifest.read_text(encoding="utf-8")))
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalNeo4jError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
        if not (LAUNCHER_DIR / "pom.xml").exists():
            raise LocalNeo4jError(f"launcher sources not found at {LAUNCHER_DIR}; use a source checkout")
        staging = self.cache_dir / f".{self.version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log.info("Resolving Neo4j Community %s from Maven Central (first start only)", self.version)
        self._resolve(mvn, (), staging / "core")
        wanted = tuple(p for p in self.plugins if p in PLUGIN_PROCEDURES)
        missing: dict[str, str] = {p: "unknown plugin" for p in self.plugins if p not in PLUGIN_PROCEDURES}
        usable = list(wanted)
        if wanted and not self._try_resolve(mvn, wanted, staging / "jars"):
            shutil.rmtree(staging / "jars", ignore_errors=True)
            usable = []
            for plugin in wanted:
                if self._try_resolve(mvn, (plugin,), staging / f"only-{plugin}"):
                    usable.append(plugin)
                else:
                    missing[plugin] = "Maven Central did not serve it for this Neo4j version"
            if usable:
                self._resolve(mvn, tuple(usable), staging / "jars")
        if not usable:
            shutil.rmtree(staging / "jars", ignore_errors=True)
            shutil.copytree(staging / "core", staging / "jars")
        core = {p.name for p in (staging / "core").iterdir()}
        (staging / "plugins").mkdir()
        for jar in (staging / "jars").iterdir():
            if jar.name not in core:
                shutil.copy2(jar, staging / "plugins" / jar.name)
        self._compile_launcher(staging)
        resolved = {p: _jar_version(staging / "plugins", p) for p in usable}
        info = {"neo4j": self.version, "plugins": resolved, "missing": missing}
        (staging / "manifest.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        for leftover in ("core", *(f"only-{p}" for p in wanted)):
            shutil.rmtree(staging / leftover, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        for plugin, why in missing.items():
            log.warning("Plugin %s not installed: %s", plugin, why)
        return self._installation(root, info)

    def _installation(self, root: Path, info: Mapping[str, object]) -> Installation:
        plugins = info.get("plugins", {})
        missing = info.get("missing", {})
        assert isinstance(plugins, dict) and isinstance(missing, dict)
        return Installation(root, str(info["neo4j"]), dict(plugins), dict(missing))

    def _mvn_command(self, mvn: str, profiles: tuple[str, ...], out: Path) -> list[str]:
        command = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(LAUNCHER_DIR / "pom.xml"),
            f"-Dneo4j.version={self.version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={out}",
            "-DincludeScope=runtime",
        ]
        if profiles:
            command.insert(2, "-P" + ",".join(profiles))
        return command

    def _try_resolve(self, mvn: str, profiles: tuple[str, ...], out: Path) -> bool:
        log.info("Resolving plugins %s", ", ".join(profiles))
        done = subprocess.run(self._mvn_command(mvn, profiles, out), capture_output=True, text=True)
        if done.returncode != 0:
            log.debug("mvn failed for %s: %s", profiles, done.stdout[-2000:])
        return done.returncode == 0

    def _resolve(self, mvn: str, profiles: tuple[str, ...], out: Path) -> None:
        done = subprocess.run(self._mvn_command(mvn, profiles, out), capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            raise LocalNeo4jError(f"Maven could not resolve Neo4j {self.version}:\n{tail}")

    def _compile_launcher(self, root: Path) -> None:
        javac = self._java_tool("javac")
        (root / "classes").mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                javac,
                "-d",
                str(root / "classes"),
                "-cp",
                f"{root / 'jars'}/*",
                str(LAUNCHER_DIR / f"{LAUNCHER_CLASS}.java"),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise LocalNeo4jError(f"javac could not compile the launcher:\n{done.stderr[-2000:]}")

    def _java_tool(self, tool: str) -> str:
        home = self.java_home or (Path(os.environ["JAVA_HOME"]) if "JAVA_HOME" in os.environ else None)
        path = str(home / "bin" / tool) if home else shutil.which(tool)
        if not path or not Path(path).exists():
            raise LocalNeo4jError(f"{tool} not found; install a JDK 17 or 21 or set PERSONA_JAVA_HOME")
        return path

    # -- neo4j-admin --------------------------------------------------------------------------

    def admin_classpath(self) -> str:
        """Classpath of Neo4j's own ``neo4j-admin`` (main class ``ADMIN_CLASS``): Neo4j plus the ``admin``
        profile of the launcher's pom, resolved into ``<cache_dir>/<version>/admin/`` on first use only."""
        root = self.install().root
        admin = root / "admin"
        if not admin.is_dir():
            mvn = shutil.which("mvn")
            if mvn is None:
                raise LocalNeo4jError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
            staging = root / ".admin.partial"
            shutil.rmtree(staging, ignore_errors=True)
            log.info("Resolving neo4j-admin %s from Maven Central (first offline import only)", self.version)
            self._resolve(mvn, ("admin",), staging)
            if admin.is_dir():  # another process resolved it meanwhile
                shutil.rmtree(staging, ignore_errors=True)
            else:
                staging.rename(admin)
        return f"{admin}/*"

    def admin_env(self) -> dict[str, str]:
        """NEO4J_HOME and NEO4J_CONF for ``neo4j-admin`` to act on this data dir's databases: the home the
        launcher runs in and the folder of its ``neo4j.conf`` (written here, as ``start`` writes it, when no
        start did yet), so both agree on where the stores are."""
        installation = self.install()
        conf = self.data_dir / "neo4j.conf"
        if not conf.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            conf.write_text(self._config(installation), encoding="utf-8")
        return {"NEO4J_HOME": str(self.data_dir / "home"), "NEO4J_CONF": str(self.data_dir)}

    def store_dirs(self, database: str) -> tuple[Path, Path]:
        """The store and the transaction-log folders of one database (Neo4j's layout under ``home/``)."""
        data = self.data_dir / "home" / "data"
        return data / "databases" / database, data / "transactions" / database

    # -- run --------------------------------------------------------------------------------

    def status(self) -> LocalStatus:
        state = self._read_state()
        if state is None or not _is_launcher(state.pid):
            return LocalStatus(running=False, pid=None, port=None, version=None, data_dir=self.data_dir)
        return LocalStatus(True, state.pid, state.port, state.version, self.data_dir)

    def start(self) -> Installation:
        """Start Neo4j in the background (or reuse a running one) and wait until Bolt answers."""
        installation = self.install()
        current = self.status()
        if current.running:
            if current.port != self.port:
                log.info("Neo4j already running from %s on port %s", self.data_dir, current.port)
                self.port = current.port or self.port
            return installation
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.data_dir / "neo4j.conf"
        conf.write_text(self._config(installation), encoding="utf-8")
        log_path = self.data_dir / "launcher.log"
        command = [
            self._java_tool("java"),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            "-cp",
            installation.classpath,
            LAUNCHER_CLASS,
            str(self.data_dir / "home"),
            str(conf),
        ]
        env = {**os.environ, "PERSONA_NEO4J_PASSWORD": self.password}
        log.info("Starting Neo4j %s on %s (data in %s)", self.version, self.bolt_uri, self.data_dir)
        with log_path.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._write_state(ServerState(process.pid, self.port, self.version))
        self._wait_ready(process, log_path)
        return installation

    def _config(self, installation: Installation) -> str:
        procedures = ",".join(PLUGIN_PROCEDURES[p] for p in installation.plugins)
        lines = [
            "server.bolt.enabled=true",
            f"server.bolt.listen_address=127.0.0.1:{self.port}",
            f"server.bolt.advertised_address=127.0.0.1:{self.port}",
            "server.http.enabled=false",
            "server.https.enabled=false",
            "dbms.security.auth_enabled=true",
            f"server.directories.plugins={installation.root / 'plugins'}",
            f"server.directories.import={self.import_dir}",
            f"server.memory.pagecache.size={self.pagecache}",
            f"dbms.memory.transaction.total.max={self.tx_memory_max}",
            "dbms.usage_report.enabled=false",
            # Bolt's shutdown waits 5 s for connections and 5 s more for its event loops to go quiet, after
            # the databases have stopped (checkpointed): nothing is left to wait for, and every stop (an
            # offline import, each test server) would take 10 s longer.
            "internal.server.bolt.connection_shutdown_wait_time=0s",
            "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
        ]
        if procedures:
            lines.append(f"dbms.security.procedures.unrestricted={procedures}")
        return "\n".join(lines) + "\n"

    def _wait_ready(self, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log_path.read_text(encoding="utf-8", errors="replace")
            if "READY" in text.splitlines():
                log.info("Neo4j is ready on %s", self.bolt_uri)
                return
            if process.poll() is not None:
                self._clear_state()
                tail = "\n".join(text.strip().splitlines()[-15:])
                raise LocalNeo4jError(f"Neo4j exited during start (code {process.returncode}):\n{tail}")
            time.sleep(0.25)
        self.stop()
        raise LocalNeo4jError(f"Neo4j did not become ready within {timeout:.0f}s; see {log_path}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the running Neo4j; returns False when none was running."""
        current = self.status()
        if not current.running or current.pid is None:
            self._clear_state()
            return False
        os.kill(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _is_launcher(current.pid):
            time.sleep(0.2)
        if _is_launcher(current.pid):
            log.warning("Neo4j did not stop within %.0fs; killing it", timeout)
            os.kill(current.pid, signal.SIGKILL)
        self._clear_state()
        return True

    # -- state file ---------------------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.data_dir / "server.json"

    def _read_state(self) -> ServerState | None:
        try:
            return ServerState(**json.loads(self._state_path().read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _write_state(self, state: ServerState) -> None:
        self._state_path().write_text(json.dumps(asdict(state)), encoding="utf-8")

    def _clear_state(self) -> None:
        self._state_path().unlink(missing_ok=True)


def free_port() -> int:
    """A loopback port nobody listens on now (tests and benchmarks run their own Neo4j there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_launcher(pid: int) -> bool:
    """True when ``pid`` is alive and is our launcher (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid
    return LAUNCHER_CLASS.encode() in cmdline


def _jar_version(folder: Path, plugin: str) -> str:
    marker = {"apoc": "apoc-core-", "gds": "proc-"}[plugin]
    for jar in sorted(folder.glob(f"{marker}*.jar")):
        version = jar.name.removeprefix(marker).removesuffix(".jar")
        if version[:1].isdigit():
            return version
    return "unknown"
