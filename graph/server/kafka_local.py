"""A real Apache Kafka without Docker: jars from Maven Central, one KRaft node (broker and controller).

As for the local Neo4j (graph/server/local.py), Maven resolves the jars once (tools/kafka-local/pom.xml)
and ``java -cp <jars> kafka.Kafka server.properties`` runs the node, after ``kafka.tools.StorageTool
format`` prepared its log dir. Layout outside the repository:

- ``<cache_dir>/<version>/``: ``jars/`` (Kafka and what it needs) and ``manifest.json``;
- ``<data_dir>/``: ``server.properties``, ``log4j2.properties``, ``logs/`` (the topics' data and the
  cluster metadata), ``server.json`` (pid, ports) and ``launcher.log``.

It listens on 127.0.0.1 only, without authentication: for development and the tests, not production.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from personagraph.graph.errors import KafkaError
from personagraph.graph.server.local import free_port

log = logging.getLogger(__name__)

POM = Path(__file__).resolve().parents[2] / "tools" / "kafka-local" / "pom.xml"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
READY_LINE = "Kafka Server started"  # KafkaRaftServer's, once the broker takes requests
# Kafka's own logging: warnings, plus the one line that says the server is up.
LOG4J = """\
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
"""


@dataclass(frozen=True)
class KafkaState:
    """What ``start`` remembers in server.json about the process it launched."""

    pid: int
    port: int
    controller_port: int
    version: str


class LocalKafka:
    """Install, start and stop one single-node Kafka (KRaft, combined mode) living in ``data_dir``."""

    def __init__(
        self,
        *,
        version: str,
        cache_dir: Path,
        data_dir: Path,
        port: int,
        partitions: int = 6,
        heap: str = "512m",
        java_home: Path | None = None,
    ) -> None:
        self.version = version
        self.cache_dir = cache_dir
        self.data_dir = data_dir
        self.port = port
        self.partitions = partitions  # of topics created on first use
        self.heap = heap
        self.java_home = java_home

    @property
    def bootstrap(self) -> str:
        """What clients are given as ``bootstrap.servers``."""
        return f"127.0.0.1:{self.port}"

    # -- install ----------------------------------------------------------------------------

    def install(self) -> Path:
        """Resolve Kafka's jars into the cache (first start only; fast when cached); their folder."""
        root = self.cache_dir / self.version
        if (root / "manifest.json").exists():
            return root / "jars"
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
        if not POM.exists():
            raise KafkaError(f"the launcher's pom was not found at {POM}; use a source checkout")
        staging = self.cache_dir / f".{self.version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log.info("Resolving Apache Kafka %s from Maven Central (first start only)", self.version)
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(POM),
                f"-Dkafka.version={self.version}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging / 'jars'}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
            raise KafkaError(f"Maven could not resolve Apache Kafka {self.version}:\n{tail}")
        (staging / "manifest.json").write_text(json.dumps({"kafka": self.version}), encoding="utf-8")
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
        return root / "jars"

    def _java(self) -> str:
        home = self.java_home or (Path(os.environ["JAVA_HOME"]) if "JAVA_HOME" in os.environ else None)
        path = str(home / "bin" / "java") if home else shutil.which("java")
        if not path or not Path(path).exists():
            raise KafkaError("java not found; install a JDK 17 or 21 or set PERSONA_JAVA_HOME")
        return path

    # -- run --------------------------------------------------------------------------------

    def running(self) -> KafkaState | None:
        """The state of the node this data dir's server.json names, when it is alive."""
        state = self._read_state()
        if state is None or not _is_kafka(state.pid, self.data_dir):
            return None
        return state

    def start(self, timeout: float = 120.0) -> None:
        """Start the node in the background (or reuse the running one) and wait until it takes requests."""
        jars = self.install()
        current = self.running()
        if current is not None:
            self.port = current.port
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        controller_port = free_port()
        config = self.data_dir / "server.properties"
        config.write_text(self._config(controller_port), encoding="utf-8")
        (self.data_dir / "log4j2.properties").write_text(LOG4J, encoding="utf-8")
        classpath = f"{jars}/*"
        java = [
            self._java(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-Dlog4j2.disable.jmx=true",
            "-cp",
            classpath,
        ]
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            formatted = subprocess.run(
                # "=": a cluster id may start with "-"
                [*java, STORAGE_TOOL, "format", f"--cluster-id={cluster}", "-c", str(config), "--standalone"],
                capture_output=True,
                text=True,
            )
            if formatted.returncode != 0:
                tail = (formatted.stdout + formatted.stderr).strip()[-2000:]
                raise KafkaError(f"could not format Kafka's log dir:\n{tail}")
        log_path = self.data_dir / "launcher.log"
        log.info("Starting Apache Kafka %s on %s (data in %s)", self.version, self.bootstrap, self.data_dir)
        with log_path.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [*java, MAIN_CLASS, str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._write_state(KafkaState(process.pid, self.port, controller_port, self.version))
        self._wait_ready(process, log_path, timeout)

    def _config(self, controller_port: int) -> str:
        logs = self.data_dir / "logs"
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={logs}",
                f"num.partitions={self.partitions}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                # one node: a group need not wait for more members before its first assignment
                "group.initial.rebalance.delay.ms=0",
                "",
            ]
        )

    def _wait_ready(self, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log_path.read_text(encoding="utf-8", errors="replace")
            if READY_LINE in text and _answers(self.port):
                log.info("Kafka is ready on %s", self.bootstrap)
                return
            if process.poll() is not None:
                self._clear_state()
                tail = "\n".join(text.strip().splitlines()[-15:])
                raise KafkaError(f"Kafka exited during start (code {process.returncode}):\n{tail}")
            time.sleep(0.2)
        self.stop()
        raise KafkaError(f"Kafka did not become ready within {timeout:.0f}s; see {log_path}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the running node (SIGTERM, then SIGKILL after ``timeout``); False when none was running."""
        current = self.running()
        if current is None:
            self._clear_state()
            return False
        os.kill(current.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _is_kafka(current.pid, self.data_dir):
            time.sleep(0.1)
        if _is_kafka(current.pid, self.data_dir):
            log.warning("Kafka did not stop within %.0fs; killing it", timeout)
            os.kill(current.pid, signal.SIGKILL)
        self._clear_state()
        return True

    # -- state file ---------------------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.data_dir / "server.json"

    def _read_state(self) -> KafkaState | None:
        try:
            return KafkaState(**json.loads(self._state_path().read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _write_state(self, state: KafkaState) -> None:
        self._state_path().write_text(json.dumps(asdict(state)), encoding="utf-8")

    def _clear_state(self) -> None:
        self._state_path().unlink(missing_ok=True)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _is_kafka(pid: int, data_dir: Path) -> bool:
    """True when ``pid`` is alive and is a Kafka of ``data_dir`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the pid
    # A SIGTERM'd JVM that has exited but not been reaped is a zombie with an empty command line.
    return MAIN_CLASS.encode() in cmdline and str(data_dir).encode() in cmdline
