"""A private Dovecot IMAP server for the mail tests, started on a free port of 127.0.0.1.

Its configuration, mail and logs live in a temporary folder; the server is Debian's
``dovecot-imapd`` (``.ci/run`` installs it).  Without ``dovecot`` the tests that need it fail
in CI and are skipped elsewhere.  Mail is put into the mailbox with IMAP ``APPEND``, as a
real delivery agent would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

from tests.conftest import unavailable
from tests.mail.conftest import free_port

USERNAME = "support@helpdesk.example"
PASSWORD = "secret"

CONFIG = """\
base_dir = {tmp}/run
state_dir = {tmp}/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {tmp}/dovecot.log
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={tmp}/mail/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
"""

# With an introspection URL the server also accepts XOAUTH2 and OAUTHBEARER logins: Dovecot's
# ``oauth2`` passdb asks the URL (RFC 7662, POST token=…) whether the access token is active
# and whose it is, as it would ask Microsoft's or Google's provider.
OAUTH2_CONFIG = """\
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {tmp}/dovecot-oauth2.conf.ext
}}
"""

OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


@dataclass
class Dovecot:
    """A running Dovecot with one mailbox, ``support@helpdesk.example`` (password ``secret``)."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    username: str = USERNAME
    password: str = PASSWORD

    def client(self) -> IMAPClient:
        """A logged-in IMAP connection to the mailbox (the caller closes it)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.username, self.password)
        return client

    def deliver(self, mail: EmailMessage | bytes, folder: str = "INBOX") -> None:
        """Put ``mail`` into ``folder`` unread, as a delivery agent would."""
        data = mail.as_bytes() if isinstance(mail, EmailMessage) else mail
        with self.client() as client:
            client.append(folder, data)

    def flags(self, folder: str = "INBOX") -> dict[str, set[bytes]]:
        """The flags of every mail in ``folder``, by Message-ID."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            found = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        result: dict[str, set[bytes]] = {}
        for data in found.values():
            header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode("ascii", "replace")
            message_id = header.partition(":")[2].strip()
            result[message_id] = set(data[b"FLAGS"])
        return result

    def empty(self, folder: str = "INBOX") -> None:
        """Delete every mail in ``folder``."""
        with self.client() as client:
            client.select_folder(folder)
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def start_dovecot(oauth2_introspection_url: str | None = None) -> Iterator[Dovecot]:
    """Start a private Dovecot; yields it running and stops it afterwards.

    ``oauth2_introspection_url`` adds XOAUTH2 logins checked against that URL (see
    ``tests/mail/oauth2_provider.py``).
    """
    binary = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )
    if binary is None:
        unavailable("Dovecot (dovecot-imapd, installed by .ci/run)", "the dovecot program is not installed")
    assert binary is not None
    tmp = Path(tempfile.mkdtemp(prefix="ticketflow-dovecot-"))
    port = free_port()
    (tmp / "mail").mkdir()
    (tmp / "users").write_text(f"{USERNAME}:{{PLAIN}}{PASSWORD}\n")
    (tmp / "users").chmod(0o644)
    config = tmp / "dovecot.conf"
    text = CONFIG.format(tmp=tmp, port=port)
    if oauth2_introspection_url:
        text = text.replace("auth_mechanisms = plain login\n", "") + OAUTH2_CONFIG.format(tmp=tmp)
        (tmp / "dovecot-oauth2.conf.ext").write_text(OAUTH2_ARGS.format(url=oauth2_introspection_url))
        (tmp / "dovecot-oauth2.conf.ext").chmod(0o644)
    config.write_text(text)
    tmp.chmod(0o755)
    try:
        shutil.chown(tmp / "mail", "dovecot", "dovecot")
    except (LookupError, PermissionError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        unavailable("Dovecot (needs root and the dovecot user)", exc)
    process = subprocess.Popen(
        [binary, "-c", str(config), "-F"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    server = Dovecot(port=port, folder=tmp, process=process)
    try:
        if not _wait_for_port(port, process):
            process.kill()
            errors = process.communicate(timeout=10)[1].decode(errors="replace")
            raise RuntimeError(f"Dovecot did not start on port {port}:\n{errors}\n{server.log()}")
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)
