"""A private Postfix (Debian's ``postfix``) that delivers the help desk's domain to our pipe.

Everything lives in a temporary folder: ``etc/`` (``main.cf``, ``master.cf``, the transport
map), ``spool/`` (the queue), ``data/``, the log ``maillog`` and the pipe's wrapper and
environment file, as ``docs/mail-setup.md`` describes them.  It listens on a free port of
127.0.0.1; ``mydestination`` is the queue domain and the transport map sends it to the
``ticketflow`` pipe(8) service, which runs ``ticketflow mail ingest --sender=${sender} --
${recipient}`` as an unprivileged user.  Starting it needs root (CI runs as root); without
Postfix or root the tests fail in CI and are skipped elsewhere.

The pipe's user cannot enter ``/root``, where pyenv keeps the interpreter of this
checkout's venv; then the wrapper runs Debian's ``python3`` (the same 3.11 ABI) with the
venv's packages and the checkout on its path.  Where the venv's interpreter is reachable by
that user it is used directly, as in the documented wrapper.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import unavailable
from tests.mail.conftest import free_port

DOMAIN = "helpdesk.example"
PIPE_USER = "nobody"
PROJECT = Path(__file__).resolve().parent.parent.parent

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {tmp}/spool
data_directory = {tmp}/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = ticketflow-test-postfix
maillog_file = {tmp}/maillog
maillog_file_prefixes = {tmp}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.{domain}
mydomain = {domain}
myorigin = {domain}
mydestination = {domain}
mynetworks = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
biff = no
transport_maps = texthash:{tmp}/etc/transport
# Nothing leaves the machine: bounces to the test's made-up domains are dropped.
default_transport = discard:no mail leaves a test
message_size_limit = 52428800
# Only "postqueue -f" may try a deferred mail again during a test.
minimal_backoff_time = 3600s
maximal_backoff_time = 4000s
queue_run_delay = 3600s
"""

# Debian's default services, none chrooted (the private queue has no chroot files).
MASTER_CF = """\
{port} inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
ticketflow unix  -       n       n       -       10      pipe
  user={user} null_sender=
  argv={tmp}/ticketflow-ingest --sender=${{sender}} -- ${{recipient}}
"""


@dataclass
class Postfix:
    """A running private Postfix."""

    folder: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def config(self) -> Path:
        return self.folder / "etc"

    def set_environment(self, values: dict[str, str]) -> None:
        """Write the pipe's environment file (read by the wrapper at each delivery)."""
        path = self.folder / "ticketflow.env"
        path.write_text("".join(f"{key}={_shell_quote(value)}\n" for key, value in values.items()))
        shutil.chown(path, PIPE_USER)
        path.chmod(0o600)

    def queue(self) -> list[dict[str, object]]:
        """The mails in Postfix's queue (``postqueue -j``)."""
        done = _run(["postqueue", "-c", str(self.config), "-j"])
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def flush(self) -> None:
        """``postqueue -f``: try every deferred mail again now."""
        _run(["postqueue", "-c", str(self.config), "-f"])

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def _interpreter_command() -> str:
    """The shell words that start ``ticketflow`` as the pipe's user."""
    venv_bin = Path(sys.executable).parent
    interpreter = os.path.realpath(sys.executable)
    reachable = subprocess.run(["runuser", "-u", PIPE_USER, "--", "test", "-x", interpreter], check=False)
    if reachable.returncode == 0:
        return f'exec {venv_bin / "ticketflow"} mail ingest "$@"'
    site_packages = next((venv_bin.parent / "lib").glob("python3*/site-packages"))
    paths = f"{PROJECT}:{site_packages}"
    code = "import sys; sys.argv[0] = 'ticketflow'; from ticketflow.cli import main; main()"
    return f'PYTHONPATH={paths} PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 -c "{code}" mail ingest "$@"'


def start_postfix() -> Iterator[Postfix]:
    """Start a private Postfix; yields it running and stops it afterwards."""
    binary = shutil.which("postfix") or ("/usr/sbin/postfix" if os.path.exists("/usr/sbin/postfix") else None)
    if binary is None:
        unavailable("Postfix (postfix, installed by .ci/run)", "the postfix program is not installed")
    if os.geteuid() != 0:
        unavailable("Postfix (a private instance needs root)", f"running as uid {os.geteuid()}")
    tmp = Path(tempfile.mkdtemp(prefix="ticketflow-postfix-"))
    tmp.chmod(0o755)
    port = free_port()
    for name in ("etc", "spool", "data"):
        (tmp / name).mkdir()
    shutil.chown(tmp / "data", "postfix")
    (tmp / "etc" / "main.cf").write_text(MAIN_CF.format(tmp=tmp, domain=DOMAIN))
    (tmp / "etc" / "master.cf").write_text(
        MASTER_CF.format(tmp=tmp, port=f"127.0.0.1:{port}", user=PIPE_USER)
    )
    (tmp / "etc" / "transport").write_text(f"{DOMAIN}    ticketflow:\n")
    wrapper = tmp / "ticketflow-ingest"
    wrapper.write_text(
        "#!/bin/sh\n"
        "# As in docs/mail-setup.md: the settings come from a file only the pipe's user reads.\n"
        "set -a\n"
        f". {tmp}/ticketflow.env\n"
        "set +a\n"
        f"{_interpreter_command()}\n"
    )
    wrapper.chmod(0o755)
    var_dir = tmp / "var"
    var_dir.mkdir()
    shutil.chown(var_dir, PIPE_USER)
    server = Postfix(folder=tmp, port=port)
    started = subprocess.run(
        [binary, "-c", str(server.config), "start"], capture_output=True, text=True, timeout=60, check=False
    )
    try:
        if started.returncode != 0 or not _listening(port):
            message = f"postfix start: {started.returncode} {started.stderr}\n{server.log()}"
            unavailable("Postfix (a private instance)", message)
        yield server
    finally:
        subprocess.run(
            [binary, "-c", str(server.config), "abort"], capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(tmp, ignore_errors=True)


def var_dir_of(server: Postfix) -> Path:
    """The ``TICKETFLOW_VAR_DIR`` the pipe's user may write to."""
    return server.folder / "var"


def _listening(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"220"):
                    return True
        except OSError:
            time.sleep(0.2)
    return False
