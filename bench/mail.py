"""Mail ingestion: SMTP and pipe, new tickets and follow-ups, 1 and 2 workers, send → inbox task.

Each scenario gets a fresh copy of a database with the demo data, the automatic answers and
the default processes, a private Redis, ``ticketflow mail receive`` and 1 or 2
``ticketflow worker`` processes.  Mails (mixed charsets: UTF-8, ISO-8859-1, KOI8-R,
ISO-2022-JP, GB2312) go in through SMTP from S concurrent senders, or through the pipe
(``ticketflow mail ingest``, one process per mail as an MTA delivers, F feeders at once; the
``pipe_via_receiver_*`` cases point the pipe at the running receiver, which takes the mail
from it, the ``pipe_*`` ones at a port nobody listens on, so it stores the mail itself).  The
latency of a new mail runs from just before the send to the ``created_at`` of its ticket's
Triage task (the inbox); of a follow-up, to its article.  The throughput is mails divided by
the time from the first send to the last task.

``burst`` is the acceptance case of issue 16: 4 senders each send the same 500 mails at once
(runs of ten from each of 50 *new* addresses) with 2 workers, so identical bytes race in the
receiver and first mails of one new customer race in the workers: it reports the tickets made
(must be 500) and the raw mails that failed (must be 0).

``python -m bench.mail [--size small|full] [--only NAME…]`` writes var/bench/mail.json.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bench.common import DB_PREFIX, REPORTS, SERVER, fresh_database, latency_ms, rss_bytes, write_report
from bench.stack import TICKETFLOW, Stack, free_port, running

TEMPLATE = f"{DB_PREFIX}mail_template"
TO = "support@helpdesk.example"
CHARSETS = [
    ("utf-8", "Der Drucker druckt nicht. Árvíztűrő tükörfúrógép. Принтер не печатает. 打印机坏了。"),
    ("iso-8859-1", "Der Drucker im dritten Stock druckt nur leere Seiten. Grüße aus Köln, Jürgen."),
    ("koi8-r", "Принтер на третьем этаже печатает только пустые страницы. Спасибо."),
    ("iso-2022-jp", "三階のプリンターが白紙しか印刷しません。至急ご確認ください。"),
    ("gb2312", "三楼的打印机只打印空白页，请尽快处理。谢谢！"),
]


@dataclass(frozen=True)
class Scenario:
    """One measured case."""

    name: str
    path: str  # "smtp" or "pipe"
    kind: str  # "new" or "followup"
    workers: int
    senders: int
    mails: int
    addresses: int = 0  # 0: one new address per mail; else runs of mails from this many new addresses
    every_sender: bool = False  # each sender sends every mail (the same bytes)
    via_receiver: bool = False  # pipe: the running receiver is the pipe's (else nobody listens there)


def scenarios(size: str) -> list[Scenario]:
    """The cases of a size (``full`` sends more mail per case, the shape is the same)."""
    n = 300 if size == "small" else 2000
    pipe = 60 if size == "small" else 400
    return [
        Scenario("smtp_new_1worker_1sender", "smtp", "new", 1, 1, n),
        Scenario("smtp_new_1worker_4senders", "smtp", "new", 1, 4, n),
        Scenario("smtp_new_2workers_4senders", "smtp", "new", 2, 4, n),
        Scenario("smtp_followup_2workers_4senders", "smtp", "followup", 2, 4, n),
        Scenario("pipe_new_2workers_1feeder", "pipe", "new", 2, 1, pipe),
        Scenario("pipe_new_2workers_2feeders", "pipe", "new", 2, 2, pipe),
        Scenario("pipe_via_receiver_new_2workers_1feeder", "pipe", "new", 2, 1, pipe, via_receiver=True),
        Scenario("pipe_via_receiver_new_2workers_2feeders", "pipe", "new", 2, 2, pipe, via_receiver=True),
        Scenario(
            "burst_4x500_50addresses_2workers", "smtp", "new", 2, 4, 500, addresses=50, every_sender=True
        ),
    ]


def seeded_template() -> str:
    """The seeded database every scenario copies (built once per run)."""
    from core import jobs
    from core.db import make_engine, make_sessionmaker, session_scope
    from core.migrate import upgrade
    from desk.demo import seed_demo
    from engine.demo import seed_processes
    from mail.demo import seed_auto_responses
    from ticketflow.bootstrap import bootstrap

    bootstrap()

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """The demo's acknowledgements are of no interest here."""

    jobs.set_backend(Discard())
    url = fresh_database(TEMPLATE)
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        seed_demo(session)
        seed_auto_responses(session)
        seed_processes(session)
    engine.dispose()
    jobs.set_backend(None)
    return url


def copy_of_template(name: str) -> str:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        # A copy needs the template to itself; a pooled connection of this process may linger.
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :t AND pid <> pg_backend_pid()"
            ),
            {"t": TEMPLATE},
        )
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    admin.dispose()
    return f"{SERVER}/{name}"


def build_mail(n: int, subject: str, sender: str, *, in_reply_to: str | None = None) -> tuple[bytes, str]:
    """One mail of the generator (the same for the peers); returns the bytes and its Message-ID."""
    charset, body = CHARSETS[n % len(CHARSETS)]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = TO
    mail["Subject"] = subject
    message_id = make_msgid(domain="bench.example")
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    mail.set_content(f"{body}\n\nMail {n}.\n" + body * 10, charset=charset)
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n")), message_id


def _sender_address(scenario: Scenario, n: int) -> str:
    # Runs of consecutive mails from one new address, so their first mails race in the workers.
    runs = scenario.mails // scenario.addresses if scenario.addresses else 1
    index = n // runs
    return f"bench.sender.{index}@{scenario.name.replace('_', '-')}.example"


def send_smtp(
    port: int,
    mails: list[tuple[str, bytes]],
    senders: int,
    sent_at: dict[str, float],
    *,
    every_sender: bool = False,
) -> int:
    """``senders`` SMTP clients at once, one connection each; returns the temporary refusals.

    The mails are shared round-robin, or with ``every_sender`` each client sends all of them
    (the same bytes, as when several relays deliver one mail).  A 4xx answer is retried after
    a pause, as an MTA would.
    """
    refusals = 0
    lock = threading.Lock()

    def sender(first: int) -> None:
        nonlocal refusals
        share = mails if every_sender else mails[first::senders]
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            for key, data in share:
                subject, envelope_from = key.split("|", 1)
                sent_at.setdefault(subject, time.time())
                for _attempt in range(10):
                    try:
                        client.sendmail(envelope_from, [TO], data)
                        break
                    except smtplib.SMTPResponseException as error:
                        if not 400 <= error.smtp_code < 500:
                            raise
                        with lock:
                            refusals += 1
                        time.sleep(0.5)

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(sender, range(senders)))
    return refusals


def send_pipe(
    stack: Stack,
    mails: list[tuple[str, bytes]],
    feeders: int,
    sent_at: dict[str, float],
    *,
    receiver_port: int,
    ingest_seconds: list[float],
) -> int:
    """``ticketflow mail ingest`` per mail, ``feeders`` at once; returns how many exited non-zero.

    The pipe hands its mail to the receiver on ``receiver_port`` (mail.inbound.pipe_client);
    pass a port nobody listens on to measure the pipe storing the mail itself.  The wall time
    of each process goes to ``ingest_seconds``.
    """
    env = {**stack.env(), "TICKETFLOW_SMTP_RECEIVER_PORT": str(receiver_port)}
    failures = 0
    lock = threading.Lock()

    def feed(item: tuple[str, bytes]) -> None:
        nonlocal failures
        key, data = item
        subject, envelope_from = key.split("|", 1)
        sent_at[subject] = time.time()
        began = time.monotonic()
        result = subprocess.run(
            [TICKETFLOW, "mail", "ingest", "--sender", envelope_from, "--recipient", TO],
            input=data,
            env=env,
            capture_output=True,
            check=False,
        )
        with lock:
            ingest_seconds.append(time.monotonic() - began)
            if result.returncode != 0:
                failures += 1

    with ThreadPoolExecutor(feeders) as pool:
        list(pool.map(feed, mails))
    return failures


def _done_times(engine: Engine, prefix: str, kind: str) -> dict[str, float]:
    """Subject → epoch seconds when it reached the inbox (new) or its ticket (follow-up)."""
    if kind == "new":
        query = text(
            "SELECT t.title, extract(epoch FROM min(h.created_at)) FROM ticket t "
            "JOIN human_task h ON h.ticket_id = t.id WHERE t.title LIKE :p GROUP BY t.title"
        )
    else:
        query = text(
            "SELECT a.subject, extract(epoch FROM min(a.created_at)) FROM article a "
            "WHERE a.subject LIKE :p GROUP BY a.subject"
        )
    with engine.connect() as conn:
        return {str(s): float(t) for s, t in conn.execute(query, {"p": f"{prefix}%"})}


def _raw_statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            str(s): int(c)
            for s, c in conn.execute(text("SELECT status, count(*) FROM raw_mail GROUP BY status"))
        }


def _wait_done(engine: Engine, prefix: str, kind: str, count: int, timeout: float) -> dict[str, float]:
    """Poll until every mail arrived or failed, or nothing moved for a minute, or ``timeout``."""
    deadline = time.monotonic() + timeout
    done: dict[str, float] = {}
    progress, moved = -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - moved < 60:
        done = _done_times(engine, prefix, kind)
        failed = _raw_statuses(engine).get("failed", 0)
        if len(done) + failed >= count:
            break
        if len(done) != progress:
            progress, moved = len(done), time.monotonic()
        time.sleep(0.2)
    return done


def _sample_memory(stack: Stack, names: list[str], stop: threading.Event, peak: dict[str, int]) -> None:
    while not stop.wait(0.5):
        for name in names:
            total = sum(rss_bytes(pid) for pid in stack.pids(name))
            peak[name] = max(peak.get(name, 0), total)


def summarize_profile(raw: Path, top: int = 30) -> str:
    """py-spy's collapsed stacks as two short tables: where the time is spent, inclusive and own."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    lines = [f"{total} samples", "", "inclusive:"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * count / max(total, 1):5.1f} %  {frame}")
    lines += ["", "own:"]
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{100 * count / max(total, 1):5.1f} %  {frame}")
    return "\n".join(lines) + "\n"


def _profile_worker(stack: Stack, scenario: Scenario, seconds: int) -> subprocess.Popen[bytes] | None:
    """py-spy on worker-1 (its threads) while the scenario runs; None when py-spy is missing."""
    spy = Path(TICKETFLOW).with_name("py-spy")
    pids = stack.pids("worker-1")
    if not spy.exists() or not pids:
        return None
    out = REPORTS / f"profile-{scenario.name}-worker.raw"
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--pid",
            str(pids[0]),
            "--duration",
            str(seconds),
            "--rate",
            "50",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _originals(engine: Engine, port: int, scenario: Scenario, prefix: str) -> dict[int, str]:
    """The tickets to follow up on, made first and not measured; their Message-IDs."""
    originals: dict[int, str] = {}
    first = []
    for n in range(scenario.mails):
        data, message_id = build_mail(n, f"Original {prefix} {n:05d}", _sender_address(scenario, n))
        originals[n] = message_id
        first.append((f"Original {prefix} {n:05d}|{_sender_address(scenario, n)}", data))
    send_smtp(port, first, scenario.senders, {})
    _wait_done(engine, f"Original {prefix}", "new", scenario.mails, 600)
    return originals


def run_scenario(scenario: Scenario, profile: bool = False) -> dict[str, Any]:
    """Measure one scenario on a fresh copy of the template."""
    url = copy_of_template(f"{DB_PREFIX}mail")
    engine = create_engine(url)
    prefix = scenario.name.replace("_", " ").capitalize()
    result: dict[str, Any] = {"path": scenario.path, "kind": scenario.kind, "workers": scenario.workers}
    result["senders" if scenario.path == "smtp" else "feeders"] = scenario.senders
    with running(url) as stack:
        port = stack.start_receiver()
        stack.start_workers(scenario.workers)
        names = ["receiver", *[f"worker-{n}" for n in range(1, scenario.workers + 1)]]
        originals = _originals(engine, port, scenario, prefix) if scenario.kind == "followup" else {}
        mails = []
        for n in range(scenario.mails):
            subject = (
                f"{prefix} {n:05d}" if scenario.kind == "new" else f"Re: Original {prefix} {n:05d} {prefix}"
            )
            data, _ = build_mail(n, subject, _sender_address(scenario, n), in_reply_to=originals.get(n))
            mails.append((f"{subject}|{_sender_address(scenario, n)}", data))
        sent_at: dict[str, float] = {}
        peak: dict[str, int] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_memory, args=(stack, names, stop, peak), daemon=True)
        sampler.start()
        spy = _profile_worker(stack, scenario, 20) if profile else None
        result["load_1min_at_start"] = round(os.getloadavg()[0], 1)
        ingest_seconds: list[float] = []
        start = time.time()
        if scenario.path == "smtp":
            result["smtp_temporary_refusals"] = send_smtp(
                port, mails, scenario.senders, sent_at, every_sender=scenario.every_sender
            )
        else:
            result["pipe_exit_failures"] = send_pipe(
                stack,
                mails,
                scenario.senders,
                sent_at,
                receiver_port=port if scenario.via_receiver else free_port(),
                ingest_seconds=ingest_seconds,
            )
            result["via_receiver"] = scenario.via_receiver
            # One process per mail, from start to exit: what the MTA waits for (issue 16: p50 ≤ 60 ms).
            result["ingest_process"] = latency_ms(ingest_seconds)
        send_seconds = time.time() - start
        result["load_1min_after_send"] = round(os.getloadavg()[0], 1)
        done_prefix = prefix if scenario.kind == "new" else "Re: Original " + prefix
        done = _wait_done(engine, done_prefix, scenario.kind, scenario.mails, 900)
        stop.set()
        sampler.join()
        if spy is not None:
            spy.wait(timeout=120)
            raw = REPORTS / f"profile-{scenario.name}-worker.raw"
            if raw.exists():
                (REPORTS / f"profile-{scenario.name}-worker.txt").write_text(summarize_profile(raw))
    statuses = _raw_statuses(engine)
    with engine.connect() as conn:
        tickets = int(
            conn.scalar(text("SELECT count(*) FROM ticket WHERE title LIKE :p"), {"p": f"{prefix}%"}) or 0
        )
    engine.dispose()
    latencies = [done[s] - sent_at[s] for s in done if s in sent_at]
    last = max(done.values()) if done else time.time()
    result.update(
        {
            "mails": scenario.mails,
            "addresses": scenario.addresses or scenario.mails,
            "reached": len(done),
            "new_tickets": tickets,
            "raw_mail_statuses": statuses,
            "failed": statuses.get("failed", 0),
            "send_seconds": round(send_seconds, 2),
            "mails_per_second": round(len(done) / max(last - start, 1e-6), 2),
            "latency": latency_ms(latencies),
            "peak_rss_mib": {name: round(value / 2**20, 1) for name, value in peak.items()},
        }
    )
    print(scenario.name, result)
    return result


def main() -> None:
    """Run the scenarios and write var/bench/mail.json and mail.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=["small", "medium", "full"], default="small")
    parser.add_argument("--only", nargs="*", default=None, help="scenario names to run")
    parser.add_argument("--profile", action="store_true", help="py-spy on the first worker of each scenario")
    args = parser.parse_args()
    load_before = os.getloadavg()
    seeded_template()
    chosen = [s for s in scenarios(args.size) if not args.only or s.name in args.only]
    figures = {s.name: run_scenario(s, args.profile) for s in chosen}
    rows: list[list[object]] = []
    for name, fig in figures.items():
        rows.append(
            [
                name,
                fig["mails"],
                fig["reached"],
                fig["failed"],
                fig["mails_per_second"],
                fig["latency"]["p50_ms"],
                fig["latency"]["p95_ms"],
                ", ".join(f"{k} {v}" for k, v in fig["peak_rss_mib"].items()),
                fig["ingest_process"]["p50_ms"] if "ingest_process" in fig else "",
            ]
        )
    write_report(
        "mail" if not args.only else "mail-" + "-".join(args.only)[:80],
        dataset={"database": "demo data + default processes, fresh per scenario", "size": args.size},
        figures=figures,
        database_url=f"{SERVER}/{TEMPLATE}",
        load_before=load_before,
        header=[
            "scenario",
            "mails",
            "in inbox",
            "failed",
            "mails/s",
            "p50 ms",
            "p95 ms",
            "peak RSS MiB",
            "ingest process p50 ms",
        ],
        rows=rows,
    )


if __name__ == "__main__":
    main()
