"""Profile the inbox and the ticket view in-process: where a request's time goes (issue 16).

``python -m bench.profile_web --size small [--requests 30]`` builds the Flask app on the web
bench's database (``bench.dataset``; ``TICKETFLOW_BENCH_DB_PREFIX`` names it), signs in as
``alice`` through the real login form of the test client, picks the ticket ``bench.web``
measures (the one with the most articles in the 1st level queue), warms up, and then for each
of ``/inbox`` and that ticket's page:

1. times ``--requests`` requests with SQLAlchemy's ``before/after_cursor_execute`` events:
   the wall time, the statements and their time per request (SQL = the cursor's execute,
   i.e. the server and the round trip; Python = the rest) and the SQL time per *query site*
   (the innermost frame of our own code that issued the statement);
2. runs ``--requests`` more under pyinstrument and writes its text and HTML output to
   ``var/bench/profile/`` and a summary to ``docs/bench/small/profile-web.json``: rendering
   per template (inclusive, and the SQL waited for inside it: lazy loads), SQL wait per query
   site, Python CPU, and the top functions of our code by inclusive and by self time.

The two passes are separate so the event hooks' stack walk does not show in the profile.
Nothing is written to the database but what a page view writes (the ticket's "seen" mark);
jobs go nowhere and the login limiter is in memory, so no Redis is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import create_engine, event, text

from bench.common import REPORTS, ROOT, SERVER, database_exists, latency_ms, machine, versions
from bench.dataset import database_name

PASSWORD = "demo-pass-2026"  # noqa: S105 (the demo data's published password)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VENV = str(ROOT / ".venv")
# The production app's cookies are Secure: the test client sends them back over https only.
BASE_URL = "https://127.0.0.1"
SQL_FUNCTIONS = {
    "do_execute",
    "do_execute_no_params",
    "do_executemany",
    "do_commit",
    "do_rollback",
    "do_ping",
}


def _ours(path: str) -> bool:
    """Whether ``path`` is project code (not the virtualenv, the standard library or this bench)."""
    return path.startswith(str(ROOT)) and not path.startswith(VENV) and "/bench/" not in path


def _short(path: str) -> str:
    return path[len(str(ROOT)) + 1 :] if path.startswith(str(ROOT)) else path


def _site_of_caller() -> str:
    """The innermost frame of our code on the current stack: ``file:line function``."""
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if _ours(code.co_filename):
            line = frame.f_lineno
            template = frame.f_globals.get("__jinja_template__")
            if template is not None:  # the template's line, not the compiled module's
                line = template.get_corresponding_lineno(line)
            return f"{_short(code.co_filename)}:{line} {code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "(outside our code)"


class SqlTimer:
    """Times every cursor execute of an engine, per request and per query site."""

    def __init__(self, engine: Any) -> None:
        self.statements: list[tuple[str, float]] = []
        self.examples: dict[str, str] = {}
        self.enabled = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.enabled:
            site = _site_of_caller()
            self.examples.setdefault(site, " ".join(statement.split())[:160])
            conn.info.setdefault("tf_profile", []).append((time.perf_counter(), site))

    def _after(self, conn: Any, *_: Any) -> None:
        pending = conn.info.get("tf_profile")
        if self.enabled and pending:
            started, site = pending.pop()
            self.statements.append((site, time.perf_counter() - started))


def _sign_in(client: Any) -> None:
    page = client.get("/login", base_url=BASE_URL).get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/login",
        data={"csrf_token": token[1], "login": "alice", "password": PASSWORD},
        base_url=BASE_URL,
        # Over https Flask-WTF wants a same-origin Referer, as a browser sends.
        headers={"Referer": f"{BASE_URL}/login"},
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200, f"sign-in as alice answered {response.status_code}"
    assert 'name="password"' not in body, "sign-in as alice was refused"


def _timed_pass(client: Any, timer: SqlTimer, path: str, marker: str, n: int) -> dict[str, Any]:
    """``n`` requests with the SQL events on: wall, SQL and Python per request; SQL per site."""
    walls, sqls, counts = [], [], []
    sites: dict[str, list[float]] = defaultdict(list)
    for _ in range(n):
        timer.statements = []
        timer.enabled = True
        start = time.perf_counter()
        response = client.get(path, base_url=BASE_URL)
        wall = time.perf_counter() - start
        timer.enabled = False
        assert response.status_code == 200, f"{path}: {response.status_code}"
        assert marker in response.get_data(as_text=True), f"{path} lacks {marker!r}"
        walls.append(wall)
        sqls.append(sum(d for _, d in timer.statements))
        counts.append(len(timer.statements))
        for site, duration in timer.statements:
            sites[site].append(duration)
    total_sql = sum(sqls)
    wall_total = sum(walls)
    return {
        "requests": n,
        "wall": latency_ms(walls),
        "sql_ms_per_request": {
            "median": round(statistics.median(sqls) * 1000, 2),
            "mean": round(statistics.fmean(sqls) * 1000, 2),
        },
        "python_ms_per_request": {
            "median": round(statistics.median([w - s for w, s in zip(walls, sqls, strict=True)]) * 1000, 2),
            "mean": round(statistics.fmean([w - s for w, s in zip(walls, sqls, strict=True)]) * 1000, 2),
        },
        "sql_share_of_wall": round(total_sql / wall_total, 3),
        "statements_per_request": sorted(set(counts)),
        "sql_by_site": [
            {
                "site": site,
                "statements_per_request": round(len(d) / n, 2),
                "ms_per_request": round(sum(d) / n * 1000, 2),
                "share_of_wall": round(sum(d) / wall_total, 3),
                "statement": timer.examples.get(site, ""),
            }
            for site, d in sorted(sites.items(), key=lambda kv: -sum(kv[1]))
        ],
    }


def _summarise(session: Any, top: int = 15) -> dict[str, Any]:
    """Templates, SQL wait per site, CPU and top functions from a pyinstrument session."""
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    # Per template: inclusive (with the templates it extends or includes), the samples whose
    # innermost template it is ("own": its code and the Python it calls), the SQL inside it.
    templates: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    sql_sites: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = defaultdict(float)
    own: dict[str, float] = defaultdict(float)
    # What each template calls (the first frame past Jinja's own: a filter, a global, _()).
    callees: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    sql_total = 0.0

    def walk(
        frame: Any,
        site: str,
        open_templates: tuple[str, ...],
        open_functions: frozenset[str],
        calling: str | None = None,
    ) -> None:
        nonlocal sql_total
        path = frame.file_path or ""
        name = f"{_short(path)}:{frame.function}" if path else str(frame.function)
        if (
            calling is not None
            and not path.endswith(".html")
            and "/jinja2/" not in path
            and not frame.is_synthetic
        ):
            callees[calling][name] += frame.time
            calling = None
        if path.endswith(".html"):
            calling = _short(path)
            if _short(path) not in open_templates:
                templates[_short(path)][0] += frame.time
            open_templates = (*tuple(t for t in open_templates if t != _short(path)), _short(path))
        if _ours(path):
            site = name
            if name not in open_functions:  # recursion counts once
                inclusive[name] += frame.time
                open_functions = open_functions | {name}
        if frame.function in SQL_FUNCTIONS and "sqlalchemy" in path:
            sql_total += frame.time
            sql_sites[site] += frame.time
            if open_templates:
                templates[open_templates[-1]][1] += frame.time
                for template in set(open_templates):
                    templates[template][2] += frame.time
            return
        if not frame.is_synthetic:  # "[self]" leaves repeat their parent's self time
            own[name] += frame.total_self_time
            if open_templates:
                templates[open_templates[-1]][1] += frame.total_self_time
        for child in frame.children:
            walk(child, site, open_templates, open_functions, calling)

    if root is not None:
        walk(root, "(outside our code)", (), frozenset())

    def share(seconds: float) -> float:
        return round(seconds / total, 3) if total else 0.0

    return {
        "sampled_seconds": round(total, 3),
        "cpu_seconds": round(session.cpu_time, 3),
        "cpu_share": share(session.cpu_time),
        "sql_wait_share": share(sql_total),
        "python_share": share(total - sql_total),
        "rendering_by_template": [
            {
                "template": t,
                "inclusive_share": share(v[0]),
                "own_share": share(v[1]),
                "sql_inside_share": share(v[2]),
                "calls": [
                    {"function": f, "share": share(c)}
                    for f, c in sorted(callees[t].items(), key=lambda kv: -kv[1])[:8]
                    if share(c) >= 0.005
                ],
            }
            for t, v in sorted(templates.items(), key=lambda kv: -kv[1][0])[:top]
        ],
        "sql_wait_by_site": [
            {"site": s, "share": share(v)} for s, v in sorted(sql_sites.items(), key=lambda kv: -kv[1])[:top]
        ],
        "top_our_functions_inclusive": [
            {"function": f, "share": share(v)}
            for f, v in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
        ],
        "top_functions_self": [
            {"function": f, "share": share(v)} for f, v in sorted(own.items(), key=lambda kv: -kv[1])[:top]
        ],
    }


def _bench_ticket(url: str) -> tuple[int, int, str]:
    """The ticket bench.web measures: the most articles in alice's queue (id, articles, number)."""
    probe = create_engine(url)
    with probe.connect() as conn:
        row = conn.execute(
            text(
                "SELECT t.id, count(a.id), t.number FROM ticket t JOIN article a ON a.ticket_id = t.id "
                "JOIN queue q ON q.id = t.queue_id WHERE q.name = '1st level' "
                "GROUP BY t.id ORDER BY count(a.id) DESC LIMIT 1"
            )
        ).one()
    probe.dispose()
    return int(row[0]), int(row[1]), str(row[2])


def main() -> None:
    """Sign in, warm up, time, profile, and write the profiles and the summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small", help="the bench.dataset size whose database to use")
    parser.add_argument("--requests", type=int, default=30, help="per page and pass")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per page first")
    args = parser.parse_args()
    name = database_name(args.size)
    if not database_exists(name):
        sys.exit(f"no database {name}: run python -m bench.dataset --size {args.size} first")
    url = f"{SERVER}/{name}"
    load_before = os.getloadavg()

    ticket_id, article_count, number = _bench_ticket(url)

    from pyinstrument import Profiler

    from core import jobs
    from core.config import Settings
    from core.db import make_engine, make_sessionmaker
    from ticketflow.bootstrap import bootstrap
    from web import create_app
    from web.auth.limiter import InMemoryLoginLimiter

    bootstrap()

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """A page view sends no job that matters here."""

    jobs.set_backend(Discard())
    settings = Settings.from_env(
        {
            "TICKETFLOW_ENV": "production",
            "TICKETFLOW_DATABASE_URL": url,
            "TICKETFLOW_SECRET_KEY": "benchmark-only",
            "TICKETFLOW_VAR_DIR": tempfile.mkdtemp(prefix="ticketflow-profile-"),
        }
    )
    engine = make_engine(url)
    timer = SqlTimer(engine)
    app = create_app(
        settings, session_factory=make_sessionmaker(engine), login_limiter=InMemoryLoginLimiter()
    )
    client = app.test_client()
    _sign_in(client)

    pages = {"inbox": ("/inbox", "Triage"), "ticket_view": (f"/tickets/{ticket_id}", str(number))}
    out_dir = REPORTS / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for label, (path, marker) in pages.items():
        for _ in range(args.warmup):
            assert client.get(path, base_url=BASE_URL).status_code == 200
        timed = _timed_pass(client, timer, path, marker, args.requests)
        profiler = Profiler(interval=0.001)
        profiler.start()
        for _ in range(args.requests):
            client.get(path, base_url=BASE_URL)
        session = profiler.stop()
        (out_dir / f"web-{label}.txt").write_text(profiler.output_text(unicode=True, color=False))
        (out_dir / f"web-{label}.html").write_text(profiler.output_html())
        results[label] = {"path": path, "timed": timed, "profile": _summarise(session)}
        print(label, json.dumps(timed["wall"]), "SQL share", timed["sql_share_of_wall"])
    engine.dispose()

    report = {
        "scenario": "profile-web",
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine(), "load_average_before": [round(x, 2) for x in load_before]},
        "versions": versions(url),
        "dataset": {"database": name, "ticket_view_articles": int(article_count)},
        "notes": (
            "In-process (Flask test client, one thread), no gunicorn and no HTTP: the wall is the "
            "service time of one request. Shares are of the sampled time of the profiled pass."
        ),
        "pages": results,
    }
    target = ROOT / "docs" / "bench" / args.size / "profile-web.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {target} and {out_dir}/web-*.txt|html")


if __name__ == "__main__":
    main()
