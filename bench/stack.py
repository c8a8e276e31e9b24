"""Ticketflow as real processes for the benchmarks: a private Redis, the receiver, workers, gunicorn.

The same shape as a deployment (see docs/operations.md): every process is a ``ticketflow``
command of the venv, in its own process group, logging to ``var/bench/logs/``.  The Redis is a
``redis-server`` of the benchmark's own on a free port, so a run never touches the machine's
shared Redis (tests use it) and starts with empty queues.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPORTS

BIN = Path(sys.executable).parent
TICKETFLOW = str(BIN / "ticketflow")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll until ``condition()``; raise naming ``what`` when it never holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


@dataclass
class Stack:
    """The processes of one benchmark run; ``stop()`` ends them all (SIGTERM, then SIGKILL)."""

    database_url: str
    redis_url: str = ""
    var_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ticketflow-bench-")))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """A ``ticketflow`` environment: none of the caller's TICKETFLOW_* settings leak in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
        env.update(
            {
                "TICKETFLOW_DATABASE_URL": self.database_url,
                "TICKETFLOW_VAR_DIR": str(self.var_dir),
                "TICKETFLOW_SECRET_KEY": "benchmark-only",
                "TICKETFLOW_ENV": "production",
            }
        )
        if self.redis_url:
            env["TICKETFLOW_REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        return env

    def start(self, name: str, args: list[str], *, port: int | None = None) -> subprocess.Popen[bytes]:
        """Start ``ticketflow ARGS`` (or a raw command when ``args[0]`` is absolute)."""
        logs = REPORTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        command = args if args[0].startswith("/") else [TICKETFLOW, *args]
        with (logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        if port is not None:
            wait_for(lambda: answers(port) or process.poll() is not None, 90, f"{name} on port {port}")
            if process.poll() is not None:
                raise RuntimeError(f"{name} ended at start; see {logs / (name + '.log')}")
        return process

    def start_redis(self) -> None:
        """A private ``redis-server`` without persistence; sets ``redis_url``."""
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        port = free_port()
        self.start(
            "redis",
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            port=port,
        )
        self.redis_url = f"redis://127.0.0.1:{port}/0"

    def start_workers(self, count: int) -> None:
        """``count`` ``ticketflow worker`` processes (each runs dramatiq's threads and a scheduler)."""
        for n in range(1, count + 1):
            self.start(f"worker-{n}", ["worker"])
        # A worker is ready when its consumers are; there is no port to ask, so give it a moment.
        time.sleep(3)

    def start_receiver(self) -> int:
        """``ticketflow mail receive`` on a free port; returns the port."""
        port = free_port()
        self.start("receiver", ["mail", "receive", "--host", "127.0.0.1", "--port", str(port)], port=port)
        return port

    def start_web(self, name: str, workers: int = 2, threads: int = 1) -> int:
        """``ticketflow web`` (gunicorn); returns its port."""
        port = free_port()
        self.start(
            name, ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)], port=port
        )
        return port

    def pids(self, name: str) -> list[int]:
        """The process ``name`` and its children."""
        from bench.common import tree_pids

        process = self.processes.get(name)
        return tree_pids(process.pid) if process is not None and process.poll() is None else []

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all of them (Redis last)."""
        names = [name] if name else sorted(self.processes, key=lambda n: n == "redis")
        for current in names:
            process = self.processes.pop(current)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@contextmanager
def running(database_url: str, **extra_env: str) -> Iterator[Stack]:
    """A stack with a private Redis that is stopped whatever happens."""
    stack = Stack(database_url, extra_env=dict(extra_env))
    try:
        stack.start_redis()
        yield stack
    finally:
        stack.stop()
