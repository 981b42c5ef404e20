"""Listings for people at 12,000 offerings: the table and the report, piped and on a
terminal, against the scripts' formats.

Prints the median of 5 whole-process runs of:
  - `offering list --csv` and `offering list --limit 0` piped (tab-separated rows), and
    their ratio (budget: the human listing within 1.5x the CSV);
  - `offering list` (the default 50 rows and a note), piped and on a 160-column
    pseudo-terminal;
  - `tracker report --json`, and the matrix piped and on an 80-column terminal.
Asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import cms, median, run

RUNS = 5


def on_terminal(args: list[str], env: dict[str, str], columns: int) -> float:
    """Wall time of ``cms ARGS`` on a pseudo-terminal, its output read to the end."""
    import pexpect

    start = time.perf_counter()
    child = pexpect.spawn(
        cms(),
        args,
        env={**os.environ, **env, "PAGER": "cat"},
        dimensions=(50, columns),
        timeout=300,
    )
    child.expect(pexpect.EOF)
    child.close()
    elapsed = time.perf_counter() - start
    if child.exitstatus != 0:
        sys.exit(f"cms {' '.join(args)} failed on a terminal ({child.exitstatus})")
    return elapsed


def timed(label: str, args: list[str], env: dict[str, str], budget: str = "") -> float:
    times = [run(args, env)[0] for _ in range(RUNS)]
    best = median(times)
    print(f"{label:<52} {best:6.2f} s{budget}")
    return best


def main() -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    import offerings as seed

    work = Path(tempfile.mkdtemp(prefix="cms-bench-listings-"))
    try:
        db = work / "big.db"
        token = seed.seed_catalog(f"sqlite:///{db}")
        csv_file = work / "offerings.csv"
        seed.write_csv(csv_file)
        env = {
            "CMS_DATABASE_URL": f"sqlite:///{db}",
            "CMS_TOKEN": token,
            "CMS_HOME": str(work),
            "CMS_NOW": "2026-02-01T12:00:00+00:00",
        }
        run(["offering", "import", str(csv_file)], env)
        n = seed.ROWS
        print(f"SQLite, {n} offerings, median of {RUNS} whole-process runs")
        as_csv = timed("offering list --csv", ["offering", "list", "--csv"], env)
        plain = timed(
            "offering list --limit 0, piped (tab-separated)",
            ["offering", "list", "--limit", "0"],
            env,
        )
        print(f"{'  human listing / CSV':<52} {plain / as_csv:6.2f} x  (budget <= 1.5 x)")
        timed("offering list, piped (50 rows and a note)", ["offering", "list"], env)
        terminal = median([on_terminal(["offering", "list"], env, 160) for _ in range(RUNS)])
        print(f"{'offering list on a 160-column terminal (50 rows)':<52} {terminal:6.2f} s")
        timed("tracker report --json", ["tracker", "report", "--json"], env)
        timed("tracker report, piped (the matrix)", ["tracker", "report"], env)
        matrix = median(
            [on_terminal(["tracker", "report", "--no-pager"], env, 80) for _ in range(RUNS)]
        )
        print(f"{'tracker report on an 80-column terminal':<52} {matrix:6.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
