"""Helpers for tests that run Ticketflow as real processes: ports, environments, a private Redis.

The machine's shared Redis (6379) serves every other test, so a test that stops Redis or
runs workers on their own queues starts a ``redis-server`` of its own on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import redis

from tests.conftest import unavailable

BIN = Path(sys.executable).parent
TICKETFLOW = str(BIN / "ticketflow")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ticketflow_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``ticketflow`` subprocess: none of the caller's TICKETFLOW_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_DATABASE_URL": database_url,
            "TICKETFLOW_VAR_DIR": str(var_dir),
            "TICKETFLOW_SECRET_KEY": "subprocess-test",
            "TICKETFLOW_ENV": "test",
        }
    )
    env.update({f"TICKETFLOW_{k}": v for k, v in extra.items()})
    return env


def start_ticketflow(args: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start ``ticketflow ARGS`` in its own process group, output to ``log``."""
    return subprocess.Popen(
        [TICKETFLOW, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    """Send ``sig`` to the process group and wait; a process that ignores it is killed."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        raise


def wait_for(condition: object, timeout: float, what: str, interval: float = 0.25) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or start again) the server on the same port and wait until it answers."""
        server = shutil.which("redis-server")
        if server is None:
            unavailable("redis-server", "not installed")
            return
        self._workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self._workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        try:
            wait_for(lambda: self._pings(client), 30, f"redis-server on port {self.port}")
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """Stop the server at once (as a crash would); its data is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=30)
        self._process = None
