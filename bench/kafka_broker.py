"""A real single-node Apache Kafka broker (KRaft) run from the Maven jars in ``.ci/kafka/lib``.

Used by the tests (fixture ``kafka_broker``) and by ``huiyin bench pipeline --bus kafka``. Needs
only Java 17+, the jars (``.ci/kafka/fetch.sh``) and kafka-python; no Docker. One node acts as
broker and controller on 127.0.0.1 with free ports; internal topics use replication factor 1,
otherwise consumer groups never find a coordinator on one node.

>>> with KafkaBroker() as broker:          # doctest: +SKIP
...     print(broker.bootstrap)
127.0.0.1:40123
"""

from __future__ import annotations

import atexit
import base64
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_CI_DIR = REPO_ROOT / ".ci" / "kafka"
DEFAULT_LIB_DIR = KAFKA_CI_DIR / "lib"
FETCH_SCRIPT = KAFKA_CI_DIR / "fetch.sh"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs={data_dir}
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
"""

# Everything to stdout, which start() sends to broker.log; the request logger is noisy.
LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.state.change.logger=WARN
"""

# The flags Kafka's own kafka-server-start.sh / kafka-run-class.sh pass to the JVM.
JVM_FLAGS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)


_RUNNING: set[KafkaBroker] = set()  # killed at interpreter exit, so no JVM outlives its owner


def _kill_running() -> None:
    for broker in list(_RUNNING):
        broker.kill()


atexit.register(_kill_running)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the parent dies (Linux), even by SIGKILL."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


try:  # resolved here, not in the child: the child between fork and exec must not load libraries
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):
    _PRCTL = None


class BrokerError(RuntimeError):
    """The broker could not be fetched, formatted or started; the message holds the log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_jars(lib_dir: Path = DEFAULT_LIB_DIR, timeout_s: float = 900) -> Path:
    """Run ``.ci/kafka/fetch.sh`` when ``lib_dir`` holds no broker jar; returns ``lib_dir``."""
    if not any(lib_dir.glob("kafka_2.13-*.jar")):
        if lib_dir != DEFAULT_LIB_DIR:
            raise BrokerError(f"no Kafka jars in {lib_dir}")
        done = subprocess.run(
            ["bash", str(FETCH_SCRIPT)], capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0 or not any(lib_dir.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"{FETCH_SCRIPT} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return lib_dir


class KafkaBroker:
    """One KRaft node (broker + controller) in a work directory, startable again after stop/kill.

    The ports are chosen at the first start and kept, so clients reconnect to the same
    ``bootstrap`` after a restart; the data directory is kept too (only ``close`` removes it).
    The JVM dies with the thread that started it (Linux), so start it from a long-lived thread.
    """

    def __init__(
        self,
        work_dir: Path | None = None,
        *,
        lib_dir: Path = DEFAULT_LIB_DIR,
        java: str = "java",
        heap_min: str = "512m",
        heap_max: str = "1g",
        start_timeout_s: float = 90.0,
        fetch: bool = True,
    ) -> None:
        self._owns_dir = work_dir is None
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="huiyin-kafka-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.lib_dir = lib_dir
        self.java = java
        self.heap = (heap_min, heap_max)
        self.start_timeout_s = start_timeout_s
        self.fetch = fetch
        self.data_dir = self.work_dir / "data"
        self.log_path = self.work_dir / "broker.log"
        self.port = 0
        self.controller_port = 0
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        self.start_seconds: float | None = None  # how long the last start() took
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # where the current run's output starts in broker.log

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> KafkaBroker:
        """Start (or restart) the broker and wait until an admin client can list topics."""
        if self.running:
            return self
        if self.fetch:
            ensure_jars(self.lib_dir)
        elif not any(self.lib_dir.glob("kafka_2.13-*.jar")):
            raise BrokerError(f"no Kafka jars in {self.lib_dir}; run {FETCH_SCRIPT}")
        began = time.monotonic()
        first = self.port == 0
        attempts = 3 if first else 1  # fresh ports may be taken in between: pick again
        for attempt in range(attempts):
            if first:
                self.port, self.controller_port = free_port(), free_port()
                self._write_config()
                self._format()
            try:
                self._launch()
                self._wait_ready(began)
                break
            except BrokerError as exc:
                self.kill()
                if attempt + 1 < attempts and "failed to bind" in str(exc).lower():
                    shutil.rmtree(self.data_dir, ignore_errors=True)
                    continue
                raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, timeout_s: float = 60.0) -> None:
        """Controlled shutdown (SIGTERM), then wait; SIGKILL if it does not end in time."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        _RUNNING.discard(self)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no controlled shutdown, logs recovered on next start."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        _RUNNING.discard(self)

    def close(self) -> None:
        """Stop the broker and remove the work directory if this object created it."""
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the broker's log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -------------------------------------------------------------------------

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "server.properties").write_text(
            SERVER_PROPERTIES.format(port=self.port, controller_port=self.controller_port, data_dir=self.data_dir),
            encoding="utf-8",
        )
        (self.work_dir / "log4j.properties").write_text(LOG4J_PROPERTIES, encoding="utf-8")

    def _java(self, main: str, *args: str, heap: bool = False) -> list[str]:
        cmd = [self.java]
        if heap:
            cmd += [f"-Xms{self.heap[0]}", f"-Xmx{self.heap[1]}", *JVM_FLAGS]
        cmd += [
            f"-Dlog4j.configuration=file:{self.work_dir / 'log4j.properties'}",
            "-cp",
            f"{self.lib_dir}/*",
            main,
            *args,
        ]
        return cmd

    def _format(self) -> None:
        cmd = self._java(
            "kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(self.work_dir / "server.properties")
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise BrokerError(f"formatting Kafka storage failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _launch(self) -> None:
        cmd = self._java("kafka.Kafka", str(self.work_dir / "server.properties"), heap=True)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"\n===== start {time.strftime('%H:%M:%S')}: {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.work_dir,
                preexec_fn=_die_with_parent,
            )
        _RUNNING.add(self)

    def _wait_ready(self, began: float) -> None:
        from kafka import KafkaAdminClient  # kept local: importing this module must stay cheap

        deadline = began + self.start_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise BrokerError(f"Kafka broker exited with code {code}:\n{self.log_tail()}")
            if "Kafka Server started" not in self._log_since_launch():
                time.sleep(0.2)
                continue
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, request_timeout_ms=5000, bootstrap_timeout_ms=5000
                )
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except Exception as exc:  # noqa: BLE001 - any client error means "not ready yet"
                last_error = exc
                time.sleep(0.3)
        raise BrokerError(
            f"Kafka broker not ready after {self.start_timeout_s:.0f} s (last client error: {last_error!r}):\n"
            f"{self.log_tail()}"
        )

    def _log_since_launch(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


if __name__ == "__main__":  # python bench/kafka_broker.py: start one, print its address, stop on Ctrl-C
    broker = KafkaBroker().start()
    print(f"Kafka {broker.bootstrap} ready in {broker.start_seconds:.1f} s; log {broker.log_path}", flush=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        broker.close()
