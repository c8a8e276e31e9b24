"""The benchmark dataset: tickets, articles, attachments, customers and live processes, loaded by COPY.

``python -m bench.dataset --size small`` builds ``tf_bench_small`` (drop and create): the demo
data and the default processes, then

=========  =======  =========  =========  ==========
size       tickets  articles   customers  open (60 %)
=========  =======  =========  =========  ==========
small        2,000     20,000        200       1,200
medium      20,000    200,000      2,000      12,000
full       100,000  1,000,000     10,000      60,000
=========  =======  =========  =========  ==========

Articles are 2–15 KB of text in mixed scripts (English, German, Hungarian, Russian, Greek,
Chinese, Japanese) with a searchable marker word (``zebra<n>``, n < 1000); every tenth has an
attachment (a pool of content-addressed blobs, names in several scripts).  Every open ticket
has a running ``ticket_handling`` instance with its open task (half waiting at Triage, half at
Work): two real instances are made through the use cases, then their rows are copied, so the
workflow JSON, the projections and the inbox are what the engine itself would have written.
Everything else goes in with PostgreSQL ``COPY`` (minutes for ``full``) and ends with ANALYZE.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text

SIZES: dict[str, tuple[int, int, int]] = {
    # tickets, articles per ticket (mean), customers
    "small": (2_000, 10, 200),
    "medium": (20_000, 10, 2_000),
    "full": (100_000, 10, 10_000),
}
OPEN_SHARE = 0.6
ATTACHMENT_EVERY = 10
MARKERS = 1000

SENTENCES = [
    "The printer on the third floor prints only empty pages since this morning.",
    "Please reset my password, the self-service page says my account is locked.",
    "Der Drucker im dritten Stock druckt seit heute Morgen nur leere Seiten aus, bitte prüfen.",
    "Könnten Sie mir bitte die Zugangsdaten für das neue Buchhaltungssystem schicken? Grüße",
    "A nyomtató a harmadik emeleten ma reggel óta csak üres lapokat nyomtat, kérem nézzék meg.",
    "Árvíztűrő tükörfúrógép: az ékezetes betűk rosszul jelennek meg a levelekben.",
    "Принтер на третьем этаже с утра печатает только пустые страницы, помогите пожалуйста.",
    "Не могу войти в почту: пишет, что пароль устарел. Спасибо заранее.",
    "Ο εκτυπωτής στον τρίτο όροφο τυπώνει μόνο κενές σελίδες από το πρωί.",
    "三楼的打印机从今天早上开始只打印空白页，请尽快处理。谢谢！",
    "三階のプリンターが今朝から白紙しか印刷しません。至急ご確認ください。",
    "We attach the log file of the backup job; it fails every night at 02:00 with error 0x80070005.",
]
FILE_NAMES = ["report.pdf", "Übersicht März.xlsx", "számla_2026.pdf", "отчёт.docx", "截图.png", "ログ.txt"]
CONTENT_TYPES = ["application/pdf", "application/vnd.ms-excel", "application/pdf", "application/msword"]


@dataclass(frozen=True)
class Counts:
    """What a size means."""

    tickets: int
    articles_per_ticket: int
    customers: int

    @classmethod
    def of(cls, size: str, tickets: int | None = None) -> Counts:
        base, per, customers = SIZES[size]
        n = tickets or base
        return cls(n, per, max(10, customers * n // base))


def database_name(size: str, *, short_bodies: bool = False) -> str:
    """The database a size lives in (``tf_bench_<size>_short`` with one-line bodies)."""
    from bench.common import DB_PREFIX

    return f"{DB_PREFIX}{size}_short" if short_bodies else f"{DB_PREFIX}{size}"


def _body(rng: random.Random, n: int, *, short: bool = False) -> str:
    target = rng.randint(2_000, 15_000)
    parts = [f"Benchmark article {n}: zebra{n % MARKERS} ticket text."]
    if short:
        # The statistics run reads no body: one line keeps ``full`` at minutes, not hours.
        return f"{parts[0]}\n{rng.choice(SENTENCES)}"
    length = len(parts[0])
    while length < target:
        sentence = rng.choice(SENTENCES)
        parts.append(sentence)
        length += len(sentence.encode()) + 1
    return "\n".join(parts)


def _copy(engine: Engine, table: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> int:
    """``COPY table (columns) FROM STDIN`` through psycopg; returns the rows written."""
    raw = engine.raw_connection()
    written = 0
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        raw.commit()
    finally:
        raw.close()
    return written


def _set_sequences(engine: Engine, tables: Sequence[str]) -> None:
    with engine.begin() as conn:
        for table in tables:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )


class _Discard:
    """A job backend that drops every job: the template tickets' acknowledgements go nowhere."""

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        """Drop the job."""


def _templates(url: str) -> list[dict[str, dict[str, str | None]]]:
    """Two real ticket_handling instances (one at Triage, one at Work) as text rows to copy."""
    from core.db import make_engine, make_sessionmaker, session_scope
    from desk.actor import SYSTEM
    from desk.agent.models import Agent
    from desk.queue.models import Queue
    from engine.models import HumanTask
    from flows import open_ticket, tasks
    from flows.drafts import ArticleDraft

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    instance_ids = []
    for decision in (None, "work"):
        with session_scope(factory) as session:
            raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
            draft = ArticleDraft(channel="phone", body_text="template", subject="template")
            opened = open_ticket.open_ticket(session, actor=SYSTEM, queue=raw, title="template", first=draft)
            assert opened.instance is not None
            instance_ids.append(opened.instance.id)
            if decision:
                secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
                triage = session.scalars(
                    select(HumanTask).where(
                        HumanTask.instance_id == opened.instance.id, HumanTask.state == "open"
                    )
                ).one()
                tasks.complete(session, actor=secretary, task_id=triage.id, data={"decision": decision})
    templates = []
    with engine.connect() as conn:
        for instance_id in instance_ids:
            templates.append(
                {
                    "instance": _text_row(conn, "process_instance", "id = :id", instance_id),
                    "task": _text_row(
                        conn, "human_task", "instance_id = :id AND state = 'open'", instance_id
                    ),
                }
            )
    engine.dispose()
    return templates


def _text_row(conn: Any, table: str, where: str, value: int) -> dict[str, str | None]:
    columns = [
        r[0]
        for r in conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        )
    ]
    select_list = ", ".join(f'"{c}"::text' for c in columns)
    row = conn.execute(text(f"SELECT {select_list} FROM {table} WHERE {where}"), {"id": value}).one()  # noqa: S608
    return dict(zip(columns, row, strict=True))


def build(  # noqa: PLR0915 (one COPY script)
    size: str, tickets: int | None = None, seed: int = 16, *, short_bodies: bool = False
) -> dict[str, Any]:
    """Create the dataset's database from scratch; returns what it holds.

    ``short_bodies`` writes a one-line body instead of 2–15 KB (for the statistics run only,
    which reads no body: the search and the mail scenarios need the long ones).
    """
    from bench.common import fresh_database
    from core import jobs
    from core.db import make_engine, make_sessionmaker, session_scope
    from core.migrate import upgrade
    from desk.demo import seed_demo
    from engine.demo import seed_processes
    from mail.demo import seed_auto_responses
    from ticketflow.bootstrap import bootstrap

    bootstrap()
    # The demo's and the templates' jobs (acknowledgements) would go to the default database.
    jobs.set_backend(_Discard())
    counts = Counts.of(size, tickets)
    rng = random.Random(seed)  # noqa: S311 (test data, reproducible on purpose)
    started = time.monotonic()
    url = fresh_database(database_name(size, short_bodies=short_bodies))
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        seed_demo(session)
        seed_auto_responses(session)
        seed_processes(session)
    templates = _templates(url)

    with engine.connect() as conn:
        queues = [
            int(r[0])
            for r in conn.execute(
                text("SELECT id FROM queue WHERE name IN ('Raw', '1st level', '2nd level')")
            )
        ]
        state = {r[0]: int(r[1]) for r in conn.execute(text("SELECT name, id FROM ticket_state"))}
        agents = [int(r[0]) for r in conn.execute(text("SELECT id FROM agent"))]
        base = {
            t: int(conn.scalar(text(f"SELECT coalesce(max(id), 0) FROM {t}")) or 0)  # noqa: S608
            for t in (
                "ticket",
                "article",
                "attachment",
                "customer_user",
                "customer_company",
                "process_instance",
                "human_task",
            )
        }
    now = datetime.now(UTC)

    companies = max(1, counts.customers // 10)
    _copy(
        engine,
        "customer_company",
        ["id", "customer_id", "name", "street", "city", "country", "comment", "valid"],
        (
            (
                base["customer_company"] + i + 1,
                f"BENCH{i}",
                f"Bench Company {i}",
                "",
                "Berlin",
                "DE",
                "",
                True,
            )
            for i in range(companies)
        ),
    )
    _copy(
        engine,
        "customer_user",
        [
            "id",
            "login",
            "email",
            "first_name",
            "last_name",
            "company_id",
            "sees_company_tickets",
            "language",
            "valid",
            "created_at",
        ],
        (
            (
                base["customer_user"] + i + 1,
                f"bench.customer.{i}@bench.example",
                f"bench.customer.{i}@bench.example",
                rng.choice(["Anna", "Jürgen", "Ákos", "Мария", "陈", "Ελένη"]),
                f"Customer {i}",
                base["customer_company"] + (i % companies) + 1,
                True,
                "en",
                True,
                now,
            )
            for i in range(counts.customers)
        ),
    )

    is_open = [rng.random() < OPEN_SHARE for _ in range(counts.tickets)]
    day = now.strftime("%Y%m%d")

    def ticket_rows() -> Iterator[Sequence[Any]]:
        for i in range(counts.tickets):
            created = now - timedelta(minutes=counts.tickets - i)
            customer = base["customer_user"] + rng.randrange(counts.customers) + 1
            company = base["customer_company"] + ((customer - base["customer_user"] - 1) % companies) + 1
            yield (
                base["ticket"] + i + 1,
                f"{day}77{i:08d}",
                f"Bench ticket {i}: {rng.choice(SENTENCES)[:80]}",
                queues[i % len(queues)],
                state["open" if is_open[i] else "closed successful"],
                rng.randint(1, 5),
                customer,
                company,
                rng.choice(agents) if i % 3 else None,
                created,
                created,
                1,
            )

    _copy(
        engine,
        "ticket",
        [
            "id",
            "number",
            "title",
            "queue_id",
            "state_id",
            "priority",
            "customer_user_id",
            "customer_company_id",
            "owner_id",
            "created_at",
            "changed_at",
            "version",
        ],
        ticket_rows(),
    )

    # A pool of distinct blobs; attachments share them, as content addressing does.
    blobs = []
    for _ in range(64):
        data = rng.randbytes(rng.randint(1_000, 200_000))
        blobs.append((hashlib.sha256(data).hexdigest(), len(data), data))
    _copy(engine, "blob", ["sha256", "size", "data", "created_at"], ((s, n, d, now) for s, n, d in blobs))

    article_count = 0
    attachments: list[tuple[int, int]] = []

    def article_rows() -> Iterator[Sequence[Any]]:
        nonlocal article_count
        for i in range(counts.tickets):
            ticket_id = base["ticket"] + i + 1
            created = now - timedelta(minutes=counts.tickets - i)
            for k in range(rng.randint(1, 2 * counts.articles_per_ticket - 1)):
                article_count += 1
                article_id = base["article"] + article_count
                customer = k % 2 == 0
                if article_count % ATTACHMENT_EVERY == 0:
                    attachments.append((article_id, rng.randrange(len(blobs))))
                yield (
                    article_id,
                    ticket_id,
                    "email",
                    "customer" if customer else "agent",
                    True,
                    f"bench.customer.{i % counts.customers}@bench.example"
                    if customer
                    else "support@helpdesk.example",
                    "support@helpdesk.example"
                    if customer
                    else f"bench.customer.{i % counts.customers}@bench.example",
                    "",
                    f"Bench ticket {i} ({k})",
                    _body(rng, article_count, short=short_bodies),
                    f"<bench.{article_id}@bench.example>",
                    None if customer else rng.choice(agents),
                    created + timedelta(seconds=k),
                )

    _copy(
        engine,
        "article",
        [
            "id",
            "ticket_id",
            "channel",
            "sender_type",
            "is_visible_for_customer",
            "from_addr",
            "to_addr",
            "cc_addr",
            "subject",
            "body_text",
            "message_id",
            "created_by_agent_id",
            "created_at",
        ],
        article_rows(),
    )
    _copy(
        engine,
        "attachment",
        ["id", "article_id", "blob_sha256", "filename", "content_type", "size", "is_inline"],
        (
            (
                base["attachment"] + n + 1,
                article_id,
                blobs[b][0],
                FILE_NAMES[n % len(FILE_NAMES)],
                CONTENT_TYPES[n % len(CONTENT_TYPES)],
                blobs[b][1],
                False,
            )
            for n, (article_id, b) in enumerate(attachments)
        ),
    )

    open_tickets = [base["ticket"] + i + 1 for i in range(counts.tickets) if is_open[i]]
    instance_columns = list(templates[0]["instance"])
    task_columns = list(templates[0]["task"])

    def instance_rows() -> Iterator[Sequence[Any]]:
        for n, ticket_id in enumerate(open_tickets):
            row = dict(templates[n % 2]["instance"])
            row.update(id=str(base["process_instance"] + n + 1), ticket_id=str(ticket_id))
            yield [row[c] for c in instance_columns]

    def task_rows() -> Iterator[Sequence[Any]]:
        for n, ticket_id in enumerate(open_tickets):
            row = dict(templates[n % 2]["task"])
            row.update(
                id=str(base["human_task"] + n + 1),
                instance_id=str(base["process_instance"] + n + 1),
                ticket_id=str(ticket_id),
                created_at=(now - timedelta(seconds=len(open_tickets) - n)).isoformat(),
            )
            queue = str(queues[(ticket_id - base["ticket"] - 1) % len(queues)])
            if row.get("candidate_queue_id") is not None:
                row["candidate_queue_id"] = queue
            if "ticket_queue_id" in row:  # the inbox projection carries the ticket's queue
                row["ticket_queue_id"] = queue
            yield [row[c] for c in task_columns]

    _copy(engine, "process_instance", [f'"{c}"' for c in instance_columns], instance_rows())
    _copy(engine, "human_task", [f'"{c}"' for c in task_columns], task_rows())
    _set_sequences(
        engine,
        [
            "ticket",
            "article",
            "attachment",
            "customer_user",
            "customer_company",
            "process_instance",
            "human_task",
        ],
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        summary = {
            "size": size,
            "database": database_name(size, short_bodies=short_bodies),
            "tickets": int(conn.scalar(text("SELECT count(*) FROM ticket")) or 0),
            "open_tickets": len(open_tickets),
            "articles": int(conn.scalar(text("SELECT count(*) FROM article")) or 0),
            "attachments": int(conn.scalar(text("SELECT count(*) FROM attachment")) or 0),
            "customers": int(conn.scalar(text("SELECT count(*) FROM customer_user")) or 0),
            "open_tasks": int(conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'open'")) or 0),
            "running_instances": int(
                conn.scalar(text("SELECT count(*) FROM process_instance WHERE status = 'running'")) or 0
            ),
            "database_bytes": int(conn.scalar(text("SELECT pg_database_size(current_database())")) or 0),
            "load_seconds": round(time.monotonic() - started, 1),
            "short_bodies": short_bodies,
        }
    engine.dispose()
    return summary


def main() -> None:
    """Build a dataset and print what it holds."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--tickets", type=int, default=None, help="override the size's ticket count")
    parser.add_argument(
        "--short-bodies",
        action="store_true",
        help="one-line article bodies (statistics only: the figures read no body)",
    )
    args = parser.parse_args()
    print(build(args.size, args.tickets, short_bodies=args.short_bodies))


if __name__ == "__main__":
    main()
