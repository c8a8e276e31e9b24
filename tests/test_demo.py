"""`make demo` on the embedded defaults serves the login page at the URL it prints."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_make_demo_prints_the_url_and_logins_and_serves_the_login_page(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_VAR_DIR": str(tmp_path / "var"),
            "TICKETFLOW_PORT": str(_free_port()),
            "TICKETFLOW_SMTP_RECEIVER_PORT": str(_free_port()),
        }
    )
    process = subprocess.Popen(
        ["make", "--no-print-directory", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 240
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            match = re.search(r"running at (http://\S+)", line)
            url = match.group(1) if match else None
        assert url, "make demo printed no URL:\n" + "".join(lines)
        for _ in range(12):  # the logins are printed right after the URL
            lines.append(process.stdout.readline())
        output = "".join(lines)
        assert "demo-pass-2026" in output
        assert "accountant" in output
        with urllib.request.urlopen(url + "login", timeout=30) as response:  # noqa: S310 (our own server)
            page = response.read().decode()
        assert response.status == 200
        assert 'name="csrf_token"' in page
        assert 'name="password"' in page
        # The embedded default is a SQLite file in the var folder.
        assert (tmp_path / "var" / "ticketflow.sqlite3").exists()
        # Mail to the built-in receiver becomes a ticket whose acknowledgement is written to
        # var/outbox by the in-process jobs.
        smtp = re.search(r"Mail to ([\d.]+):(\d+)", output)
        assert smtp, output
        with smtplib.SMTP(smtp.group(1), int(smtp.group(2)), timeout=30) as client:
            client.sendmail(
                "visitor@example.org",
                ["support@helpdesk.example"],
                b"From: visitor@example.org\r\nTo: support@helpdesk.example\r\n"
                b"Subject: Demo question\r\nMessage-ID: <demo-1@example.org>\r\n\r\nHello!\r\n",
            )
        outbox = tmp_path / "var" / "outbox"

        def acks() -> list[bytes]:
            mails = [p.read_bytes() for p in outbox.glob("*.eml")]
            return [m for m in mails if b"To: visitor@example.org" in m]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not acks():
            time.sleep(0.5)
        [ack] = acks()
        assert b"[Ticket#" in ack
        assert b"Auto-Submitted: auto-replied" in ack
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
