"""``make bench``: every scenario of one size, each in a fresh process, then ``var/bench/summary.md``.

``python -m bench.all --size small`` (the default; minutes on a 2-core machine) or
``--size full`` (100k tickets / 1M articles, 10k timers; about an hour to load and measure).
A scenario that fails is reported in the summary and the others still run; the exit status
is 1 then.  ``--only web mail`` runs a subset.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime

from bench.common import REPORTS, machine

ARGS: dict[str, dict[str, list[str]]] = {
    "small": {
        "dataset": ["--size", "small"],
        "web": ["--size", "small", "--requests", "100"],
        "mail": ["--size", "small"],
        "lifecycle": ["--lifecycles", "200", "--raw", "2000", "--loops", "10"],
        "timers": ["--timers", "500"],
        "run": ["--tickets", "500", "--report", str(REPORTS / "desk_core.json")],
        "stats": ["--size", "small"],
    },
    "medium": {
        "dataset": ["--size", "medium"],
        "web": ["--size", "medium", "--requests", "100"],
        "mail": ["--size", "small"],
        "lifecycle": ["--lifecycles", "500", "--raw", "5000", "--loops", "10"],
        "timers": ["--timers", "2000"],
        "run": ["--tickets", "2000", "--report", str(REPORTS / "desk_core.json")],
        "stats": ["--size", "medium"],
    },
    "full": {
        "dataset": ["--size", "full"],
        "web": ["--size", "full", "--requests", "200"],
        "mail": ["--size", "full"],
        "lifecycle": ["--lifecycles", "1000", "--raw", "10000", "--loops", "10"],
        "timers": ["--timers", "10000"],
        "run": ["--tickets", "2000", "--report", str(REPORTS / "desk_core.json")],
        "stats": ["--size", "full"],
    },
}
ORDER = ["dataset", "web", "mail", "lifecycle", "timers", "run", "stats"]


def main() -> None:
    """Run the scenarios one after the other and gather their Markdown."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(ARGS), default="small")
    parser.add_argument("--only", nargs="*", choices=ORDER, default=None)
    args = parser.parse_args()
    REPORTS.mkdir(parents=True, exist_ok=True)
    outcome: dict[str, str] = {}
    for name in ORDER:
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{name}", *ARGS[args.size][name]], check=False)
        seconds = time.monotonic() - started
        outcome[name] = (
            f"{'ok' if result.returncode == 0 else f'FAILED ({result.returncode})'}, {seconds:.0f} s"
        )
    info = machine()
    lines = [
        f"# Benchmark summary ({args.size}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"{info['cpu_model']}, {info['cores']} cores, {info['ram_bytes'] / 2**30:.1f} GiB RAM, "
        f"load average at the end {info['load_average']}",
        "",
        *[f"- {name}: {state}" for name, state in outcome.items()],
        "",
    ]
    for name in ("web", "mail", "lifecycle", "timers", "stats"):
        part = REPORTS / f"{name}.md"
        if part.exists() and (not args.only or name in args.only):
            lines += [part.read_text(), ""]
    (REPORTS / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines))
    sys.exit(0 if all(state.startswith("ok") for state in outcome.values()) else 1)


if __name__ == "__main__":
    main()
