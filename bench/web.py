"""Web latency on the dataset: inbox, ``GET /api/v1/tasks``, ticket view, search; 1 and 20 clients.

The bench starts ``ticketflow web`` (gunicorn, ``--web-workers`` processes, default 4) on the
dataset's database (``python -m bench.dataset --size …`` first; ``make bench`` does) and a
private Redis, signs in as ``alice`` (1st level: a third of the open tasks are hers) through
the real login form, issues her an API token, and measures each endpoint with 1 client and
with 20 concurrent clients (each its own connection and session).  A request counts only
when it answered 200 with the page it should have (the inbox lists tasks, the ticket page
its number, the search its hits).  Afterwards it reports gunicorn's resident memory.

``python -m bench.web [--size small] [--requests N]`` writes var/bench/web.json.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import SERVER, database_exists, latency_ms, rss_bytes, write_report
from bench.dataset import build, database_name
from bench.stack import running

PASSWORD = "demo-pass-2026"  # noqa: S105 (the demo data's published password)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _LocalSecure(http.cookiejar.DefaultCookiePolicy):
    """Send the production app's *Secure* cookies back over plain HTTP to 127.0.0.1 (as a TLS proxy would)."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return True


class Client:
    """One browser-like client: its own cookies, signed in as an agent."""

    def __init__(self, base: str, login: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(_LocalSecure()))
        )
        page = self.get("/login")[1]
        token = CSRF.search(page)
        assert token, "no CSRF token on the login page"
        form = urllib.parse.urlencode({"csrf_token": token[1], "login": login, "password": PASSWORD}).encode()
        status, body = self._open(urllib.request.Request(f"{base}/login", data=form, method="POST"))  # noqa: S310 (our server)
        # Signed in: the redirect led away from the login form.
        assert status == 200, f"sign-in as {login} failed: {status}"
        assert 'name="password"' not in body, f"sign-in as {login} was refused"

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=120) as response:
                return int(response.status), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode("utf-8", "replace")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        """GET a path; the status and the decoded body."""
        return self._open(urllib.request.Request(f"{self.base}{path}", headers=headers or {}))  # noqa: S310


Check = Callable[[int, str], bool]


def _measure(
    clients: list[Client],
    path_for: Callable[[int], str],
    check: Check,
    per_client: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Every client sends ``per_client`` requests one after the other, all clients at once."""
    samples: list[float] = []
    bad = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def work(index: int) -> None:
        nonlocal bad
        client = clients[index]
        barrier.wait()
        for k in range(per_client):
            start = time.perf_counter()
            status, body = client.get(path_for(index * per_client + k), headers)
            elapsed = time.perf_counter() - start
            with lock:
                samples.append(elapsed)
                if not check(status, body):
                    bad += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(work, range(len(clients))))
    wall = time.perf_counter() - started
    return {**latency_ms(samples), "bad_answers": bad, "requests_per_second": round(len(samples) / wall, 1)}


def main() -> None:
    """Measure and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small")
    parser.add_argument("--requests", type=int, default=100, help="per endpoint and concurrency")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--rebuild", action="store_true", help="build the dataset even if it exists")
    args = parser.parse_args()
    load_before = os.getloadavg()
    name = database_name(args.size)
    if args.rebuild or not database_exists(name):
        build(args.size)
    url = f"{SERVER}/{name}"
    engine = create_engine(url)
    with engine.connect() as conn:
        dataset = {
            "size": args.size,
            "tickets": conn.scalar(text("SELECT count(*) FROM ticket")),
            "articles": conn.scalar(text("SELECT count(*) FROM article")),
            "open_tasks": conn.scalar(text("SELECT count(*) FROM human_task WHERE state = 'open'")),
        }
        # The ticket with the most articles, in alice's queue.
        ticket_id, article_count, number = conn.execute(
            text(
                "SELECT t.id, count(a.id), t.number FROM ticket t JOIN article a ON a.ticket_id = t.id "
                "JOIN queue q ON q.id = t.queue_id WHERE q.name = '1st level' "
                "GROUP BY t.id ORDER BY count(a.id) DESC LIMIT 1"
            )
        ).one()
    engine.dispose()
    dataset["ticket_view_articles"] = int(article_count)

    from core import jobs
    from core.db import make_engine, make_sessionmaker, session_scope
    from desk.actor import SYSTEM
    from desk.agent import service as agents
    from desk.agent.models import Agent
    from ticketflow.bootstrap import bootstrap

    bootstrap()

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """No jobs come from issuing a token."""

    jobs.set_backend(Discard())
    own = make_engine(url)
    with session_scope(make_sessionmaker(own)) as session:
        alice = session.query(Agent).filter_by(login="alice").one()
        token = agents.create_token(session, actor=SYSTEM, agent=alice, name="bench")
    own.dispose()
    api = {"Authorization": f"Bearer {token}"}

    figures: dict[str, Any] = {}
    with running(url) as stack:
        port = stack.start_web("web", workers=args.web_workers)
        base = f"http://127.0.0.1:{port}"
        clients = [Client(base, "alice") for _ in range(20)]

        def ok(status: int, body: str) -> bool:
            return status == 200

        cases: dict[str, tuple[Callable[[int], str], Check, dict[str, str] | None]] = {
            "inbox": (lambda i: "/inbox", lambda s, b: s == 200 and ("Triage" in b or "Work" in b), None),
            "api_tasks": (
                lambda i: "/api/v1/tasks?limit=50",
                lambda s, b: s == 200 and len(json.loads(b)) > 0,
                api,
            ),
            "ticket_view": (lambda i: f"/tickets/{ticket_id}", lambda s, b: s == 200 and number in b, None),
            "search_ui": (
                lambda i: f"/search?words=zebra{i % 1000}",
                lambda s, b: s == 200 and "Bench ticket" in b,
                None,
            ),
            "search_api_title": (lambda i: f"/api/v1/tickets?title=ticket%20{i}", ok, api),
            # The search page's full text through the API (the same service, the same words).
            "search_api_words": (
                lambda i: f"/api/v1/tickets?words=zebra{i % 1000}",
                lambda s, b: s == 200 and len(json.loads(b)) > 0,
                api,
            ),
        }
        for label, (path_for, check, headers) in cases.items():
            one = _measure(clients[:1], path_for, check, args.requests, headers)
            twenty = _measure(clients, path_for, check, max(1, args.requests // 20) * 2, headers)
            figures[label] = {"1_client": one, "20_clients": twenty}
            print(label, figures[label])
        figures["gunicorn_rss_mib"] = round(sum(rss_bytes(p) for p in stack.pids("web")) / 2**20, 1)
        figures["gunicorn_processes"] = len(stack.pids("web"))
    rows = [
        [
            label,
            f["1_client"]["p50_ms"],
            f["1_client"]["p95_ms"],
            f["20_clients"]["p50_ms"],
            f["20_clients"]["p95_ms"],
            f["1_client"]["bad_answers"] + f["20_clients"]["bad_answers"],
        ]
        for label, f in figures.items()
        if isinstance(f, dict)
    ]
    write_report(
        "web",
        dataset=dataset,
        figures=figures,
        database_url=url,
        load_before=load_before,
        header=[
            "endpoint",
            "1 client p50 ms",
            "1 client p95 ms",
            "20 clients p50 ms",
            "20 clients p95 ms",
            "bad",
        ],
        rows=rows,
        notes=f"gunicorn: {args.web_workers} sync workers, {figures['gunicorn_rss_mib']} MiB resident.",
    )


if __name__ == "__main__":
    main()
