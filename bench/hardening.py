"""Hardening figures: imports that stream, and logins that answer in the same time.

(a) Peak RSS of `cms offering import --dry-run` of a 1,000,000-row valid file (1 M
    distinct offerings of a 100 x 100 x 34 x 3 catalog) and of a 1,000,000-row junk
    file (every row names an unknown module), on SQLite, with the stack floor's RSS for
    reference; the junk run's problem lines. Budget: peak RSS <= 300 MB.
(c) A worker's answers while it takes the largest upload: `cms serve` (1 worker, SQLite)
    receives a ~64 MB, ROWS-row `imports/offerings?dry_run=true` from a manager while
    another client asks /health every 20 ms: the import's time and the longest any
    /health waited (no request may wait seconds: uvicorn's worker health check kills a
    worker that stays silent 5 s, with every request on it). Budget: max < 1 s.
(b) `cms auth login` for an unknown e-mail vs a wrong password of a real account, at
    the default bcrypt cost (12): whole processes (medians, alternating) and the service
    alone in-process. Budget: ratio within 1.1.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import cms, seed_base

MODULES, CLASSES, COHORTS, MODES = 100, 100, 34, ("online", "in-person", "hybrid")
ROWS = 1_000_000


def write_rows(path: Path, junk: bool) -> None:
    start = date(2026, 1, 12)
    end = start + timedelta(weeks=12)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["module", "class", "cohort", "mode", "start_date", "end_date"])
        n = 0
        for m in range(MODULES):
            for c in range(CLASSES):
                for h in range(COHORTS):
                    for mode in MODES:
                        if n == ROWS:
                            return
                        module = f"X{n:07d}" if junk else f"M{m:03d}"
                        writer.writerow([module, f"C{c:03d}", f"Cohort {h}", mode, start, end])
                        n += 1


def peak_rss(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, stderr) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss / 1024, time.perf_counter() - started, err


def imports(tmp: Path) -> None:
    db = tmp / "cms.db"
    url = f"sqlite:///{db}"
    token = seed_base(url, MODULES, CLASSES, COHORTS, 0)
    env = {"CMS_DATABASE_URL": url, "CMS_TOKEN": token, "CMS_HOME": str(tmp)}
    floor, _, _ = peak_rss(
        [sys.executable, "-c", "import sqlmodel, sqlalchemy.orm, typer, rich"], env
    )
    print(f"stack floor (import sqlmodel, sqlalchemy.orm, typer, rich): peak RSS {floor:.0f} MB")
    for junk in (False, True):
        file = tmp / ("junk.csv" if junk else "valid.csv")
        write_rows(file, junk)
        size = file.stat().st_size / 1e6
        rss, seconds, err = peak_rss([cms(), "offering", "import", str(file), "--dry-run"], env)
        what = "junk (every module unknown)" if junk else "valid"
        print(
            f"import --dry-run, {ROWS:,} {what} rows ({size:.0f} MB): peak RSS {rss:.0f} MB, "
            f"{seconds:.1f} s, {ROWS / seconds:,.0f} rows/s, {len(err.splitlines())} stderr line(s)"
        )
        if junk:
            print("   last lines: " + " | ".join(err.splitlines()[-2:]))
        file.unlink()


def logins(tmp: Path) -> None:
    db = tmp / "login.db"
    url = f"sqlite:///{db}"
    env = {"CMS_DATABASE_URL": url, "CMS_HOME": str(tmp / "home")}
    env_no_rounds = {k: v for k, v in os.environ.items() if k != "CMS_BCRYPT_ROUNDS"}
    runs = 9

    def cli(*args: str, stdin: str = "", expect: int = 0) -> float:
        started = time.perf_counter()
        proc = subprocess.run(
            [cms(), *args], input=stdin, capture_output=True, text=True,
            env={**env_no_rounds, **env},
        )  # fmt: skip
        if proc.returncode != expect:
            sys.exit(f"cms {' '.join(args)}: exit {proc.returncode}: {proc.stderr}")
        return time.perf_counter() - started

    cli("db", "upgrade")
    cli("auth", "bootstrap", "--email", "dean@uni.edu", "--name", "Dean", "--password-stdin",
        stdin="correct-horse-9\n")  # fmt: skip
    cli("auth", "login", "--email", "dean@uni.edu", "--password-stdin", stdin="correct-horse-9\n")
    for i in range(runs):
        cli("user", "add", "--email", f"real{i}@uni.edu", "--name", f"Real {i}", "--role",
            "student", "--password-stdin", stdin="correct-horse-9\n")  # fmt: skip
    unknown: list[float] = []
    wrong: list[float] = []
    for i in range(runs):  # alternating; a fresh address each time (no lockout in play)
        unknown.append(cli("auth", "login", "--email", f"nobody{i}@uni.edu", "--password-stdin",
                           stdin="wrong-password-1\n", expect=4))  # fmt: skip
        wrong.append(cli("auth", "login", "--email", f"real{i}@uni.edu", "--password-stdin",
                         stdin="wrong-password-1\n", expect=4))  # fmt: skip
    u, w = statistics.median(unknown), statistics.median(wrong)
    print(
        f"cms auth login, whole process, cost 12: unknown e-mail {u * 1000:.0f} ms, "
        f"wrong password {w * 1000:.0f} ms: ratio {max(u, w) / min(u, w):.3f}"
    )
    # The service alone: the part that differs, without process start-up around it.
    os.environ.update(env)
    os.environ.pop("CMS_BCRYPT_ROUNDS", None)
    from sqlmodel import Session

    from cms_cli.auth import service
    from cms_cli.core.db import engine_for
    from cms_cli.core.errors import NotAuthenticated

    engine = engine_for(url)
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    for i in range(runs * 2):
        for kind, email in (("unknown", f"ghost{i}@uni.edu"), ("wrong", f"real{i % runs}@uni.edu")):
            with Session(engine) as session:
                started = time.perf_counter()
                with contextlib.suppress(NotAuthenticated):
                    service.check_password_of(session, email, "wrong-password-1", rounds=12)
                timings[kind].append(time.perf_counter() - started)
                session.rollback()  # no failure kept: no lock builds up
    u, w = statistics.median(timings["unknown"]), statistics.median(timings["wrong"])
    print(
        f"check_password_of, in-process, cost 12: unknown {u * 1000:.1f} ms, wrong {w * 1000:.1f} ms"
        f": ratio {max(u, w) / min(u, w):.3f}"
    )


def upload(tmp: Path) -> None:
    import socket
    import threading
    import urllib.error
    import urllib.request

    db = tmp / "cms.db"
    url = f"sqlite:///{db}"
    token = seed_base(url, MODULES, CLASSES, COHORTS, 0)
    file = tmp / "valid.csv"
    write_rows(file, False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CMS_DATABASE_URL": url, "CMS_HOME": str(tmp), "CMS_RATE_LIMIT": "0"}
    server = subprocess.Popen(
        [cms(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            time.sleep(0.1)
        outcome: dict[str, object] = {}

        def send() -> None:
            started = time.perf_counter()
            with file.open("rb") as body:
                wire = urllib.request.Request(
                    base + "/api/v1/imports/offerings?dry_run=true",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "text/csv",
                        "Content-Length": str(file.stat().st_size),
                    },
                )
                try:
                    with urllib.request.urlopen(wire, timeout=600) as answer:
                        outcome["status"] = answer.status
                except urllib.error.HTTPError as error:
                    outcome["status"] = error.code
            outcome["seconds"] = time.perf_counter() - started

        sender = threading.Thread(target=send)
        sender.start()
        waits: list[float] = []
        while sender.is_alive():
            started = time.perf_counter()
            urllib.request.urlopen(base + "/health", timeout=30).read()
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
        sender.join()
        size = file.stat().st_size / 1e6
        waits.sort()
        print(
            f"upload of {size:.0f} MB ({ROWS:,} rows, dry run) through cms serve: "
            f"HTTP {outcome['status']} in {outcome['seconds']:.1f} s; /health meanwhile: "
            f"{len(waits)} asked, median {statistics.median(waits) * 1000:.0f} ms, "
            f"p99 {waits[int(len(waits) * 0.99)] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    """Every part, or the ones named: `python bench/hardening.py logins upload`."""
    chosen = sys.argv[1:] or ["imports", "logins", "upload"]
    for part in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            {"imports": imports, "logins": logins, "upload": upload}[part](Path(tmp))


if __name__ == "__main__":
    main()
