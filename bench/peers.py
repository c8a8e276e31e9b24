"""The peer: the same mail workload against Request Tracker 5 from Debian, through ``rt-mailgate``.

``make bench-peers`` (root, a Debian 12 machine; never part of ``make test``) runs
``bench/peers_rt.sh`` once, which installs ``request-tracker5`` with its SQLite backend and
the command-line clients from Debian's archive (191 packages, 48 MB, mostly Perl; about
2.5 minutes on the 2-core machine of docs/performance.md), preseeds
debconf (SQLite database, rtname ``bench.example``, web base URL ``http://127.0.0.1:8099``)
and writes a site configuration that lets mail from any address create tickets.  This
module then starts RT's own web server (``rt-server``, Plack standalone) on 127.0.0.1:8099
and pipes the mails of :func:`bench.mail.build_mail` (the same generator, charsets and sizes
as Ticketflow's pipe scenarios) through ``rt-mailgate --queue General --action correspond``,
one process per mail as an MTA delivers, with 1 and 2 feeders, new mails and follow-ups (the
subject carrying RT's ``[bench.example #id]`` tag).  ``rt-mailgate`` returns when RT has
stored the ticket or the correspondence, so a mail's latency is its process's run time, and
the throughput is mails over the wall-clock time of the batch.

It writes var/bench/peers.json / peers.md; docs/performance.md sets them beside
``bench.mail``'s pipe and SMTP figures.  ``--no-install`` skips the installer (RT already set
up), ``--mails N`` changes the batch (default 100).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import latency_ms, write_report
from bench.mail import build_mail
from bench.stack import answers, wait_for

PORT = 8099
INSTALLER = Path(__file__).with_name("peers_rt.sh")
RT_SERVER_CANDIDATES = [
    "/usr/share/request-tracker5/libexec/rt-server",
    "/usr/sbin/rt-server",
    "/usr/bin/rt-server",
]
TICKET = re.compile(r"Ticket: (\d+)")


def _rt_server() -> str:
    for candidate in RT_SERVER_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise RuntimeError("rt-server not found: is request-tracker5 installed? (run without --no-install)")


def _mailgate(data: bytes, action: str = "correspond") -> tuple[float, bool]:
    start = time.perf_counter()
    result = subprocess.run(
        ["rt-mailgate", "--queue", "General", "--action", action, "--url", f"http://127.0.0.1:{PORT}/"],
        input=data,
        capture_output=True,
        check=False,
        timeout=300,
    )
    return time.perf_counter() - start, result.returncode == 0


def _batch(mails: list[bytes], feeders: int) -> dict[str, Any]:
    samples: list[float] = []
    failures = 0
    lock = threading.Lock()

    def feed(data: bytes) -> None:
        nonlocal failures
        seconds, ok = _mailgate(data)
        with lock:
            samples.append(seconds)
            failures += 0 if ok else 1

    started = time.perf_counter()
    with ThreadPoolExecutor(feeders) as pool:
        list(pool.map(feed, mails))
    wall = time.perf_counter() - started
    return {
        "mails": len(mails),
        "feeders": feeders,
        "failed": failures,
        "mails_per_second": round(len(mails) / wall, 2),
        "latency": latency_ms(samples),
    }


def _latest_ticket_ids(count: int) -> list[int]:
    """The ids of the newest ``count`` tickets, from RT's SQLite database."""
    database = next(Path("/var/lib/dbconfig-common/sqlite3/request-tracker5").glob("*"), None)
    if database is None or shutil.which("sqlite3") is None:
        raise RuntimeError("cannot read RT's SQLite database to find the tickets to follow up on")
    output = subprocess.run(
        ["sqlite3", str(database), f"SELECT id FROM Tickets ORDER BY id DESC LIMIT {int(count)}"],  # noqa: S608 (an int)
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(int(line) for line in output.split())


def main() -> None:
    """Install (unless told not to), measure RT, write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--mails", type=int, default=100)
    args = parser.parse_args()
    load_before = os.getloadavg()
    if not args.no_install:
        subprocess.run(["sh", str(INSTALLER)], check=True)
    server = subprocess.Popen(
        [_rt_server(), "--port", str(PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    figures: dict[str, Any] = {}
    try:
        wait_for(lambda: answers(PORT), 120, f"RT's web server on port {PORT}")
        for feeders in (1, 2):
            label = f"rt_pipe_new_{feeders}feeder{'s' if feeders > 1 else ''}"
            mails = [
                build_mail(n, f"Peer new {feeders} {n:05d}", f"peer.{feeders}.{n}@peer.example")[0]
                for n in range(args.mails)
            ]
            figures[label] = _batch(mails, feeders)
            print(label, figures[label])
            ids = _latest_ticket_ids(args.mails)
            followups = [
                build_mail(
                    n, f"Re: [bench.example #{ticket}] Peer new {feeders}", f"peer.{feeders}.{n}@peer.example"
                )[0]
                for n, ticket in enumerate(ids)
            ]
            label = f"rt_pipe_followup_{feeders}feeder{'s' if feeders > 1 else ''}"
            figures[label] = _batch(followups, feeders)
            print(label, figures[label])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "request-tracker5"], capture_output=True, text=True, check=False
    ).stdout
    write_report(
        "peers",
        dataset={
            "peer": "Request Tracker 5 (Debian)",
            "version": version,
            "backend": "SQLite",
            "mails": args.mails,
        },
        figures=figures,
        database_url=None,
        load_before=load_before,
        header=["case", "mails", "failed", "mails/s", "p50 ms", "p95 ms"],
        rows=[
            [
                k,
                v["mails"],
                v["failed"],
                v["mails_per_second"],
                v["latency"]["p50_ms"],
                v["latency"]["p95_ms"],
            ]
            for k, v in figures.items()
        ],
    )


if __name__ == "__main__":
    main()
