"""What every benchmark scenario shares: the machine, fresh databases, percentiles, the report files.

A report is ``var/bench/<scenario>.json`` (machine: CPU model, cores, RAM, load average before
and after; the dataset; the versions; the figures) plus ``var/bench/<scenario>.md``, a short
Markdown table of the same figures for docs/performance.md.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

SERVER = os.environ.get("TICKETFLOW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
REPORTS = Path(os.environ.get("TICKETFLOW_BENCH_REPORTS", "var/bench"))
# Every database a benchmark makes is named with this prefix: two people benchmarking on one
# server at the same time give each their own (``TICKETFLOW_BENCH_DB_PREFIX=tf_bench_e_``).
DB_PREFIX = os.environ.get("TICKETFLOW_BENCH_DB_PREFIX", "tf_bench_")
ROOT = Path(__file__).resolve().parent.parent


def fresh_database(name: str) -> str:
    """Drop and create ``name`` on the local server; return its URL."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{SERVER}/{name}"


def database_exists(name: str) -> bool:
    """Whether the local server has a database ``name``."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    admin.dispose()
    return found is not None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> dict[str, Any]:
    """The machine as it is right now (the load average says how busy it was)."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": _ram_bytes(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(database_url: str | None = None) -> dict[str, str]:
    """Versions of what was measured: our commit, the libraries, the PostgreSQL server."""
    found: dict[str, str] = {}
    for package in ("SpiffWorkflow", "SQLAlchemy", "psycopg", "dramatiq", "gunicorn", "Flask", "aiosmtpd"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "missing"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        found["ticketflow"] = commit + ("+changes" if dirty else "")
    except OSError:
        found["ticketflow"] = "unknown"
    if database_url is not None:
        engine = create_engine(database_url)
        with engine.connect() as conn:
            found["postgresql"] = str(conn.scalar(text("SHOW server_version")))
        engine.dispose()
    return found


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 is the median); 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else 0.0,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else 0.0,
    }


def timed(func: Callable[[], object], repeat: int) -> list[float]:
    """Run ``func`` ``repeat`` times; the durations in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return samples


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (Linux ``/proc``); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's workers), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def write_report(
    scenario: str,
    *,
    dataset: Mapping[str, Any],
    figures: Mapping[str, Any],
    database_url: str | None,
    load_before: Sequence[float],
    rows: Iterable[Sequence[object]] = (),
    header: Sequence[str] = (),
    notes: str = "",
) -> Path:
    """Write ``<scenario>.json`` and ``<scenario>.md`` under var/bench/; return the JSON path."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = {
        "scenario": scenario,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_before": [round(x, 2) for x in load_before]},
        "versions": versions(database_url),
        "dataset": dict(dataset),
        "figures": dict(figures),
    }
    path = REPORTS / f"{scenario}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    info = report["machine"]
    assert isinstance(info, dict)
    lines = [
        f"### {scenario}",
        "",
        f"{info['cpu_model']}, {info['cores']} cores, "
        f"load {info['load_average_before']} → {info['load_average']}; "
        f"dataset {json.dumps(dict(dataset), ensure_ascii=False)}",
        "",
    ]
    if header:
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    if notes:
        lines += ["", notes]
    (REPORTS / f"{scenario}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return path
