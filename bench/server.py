"""cms serve and its client, on MariaDB (a private server, or CMS_BENCH_MYSQL_URL).

A term of 1,000 offerings (the first 50 with 20 students each), `cms serve --workers 2`.
Prints, per kind of request (create an offering, GET one, a list page of 100, log a
week with attendance, log in):
  (a) SQL statements per request: the server's ``Questions`` counter over 200
      sequential requests, COMMITs and every other round trip included (budgets:
      create <= 7, GET <= 3, log <= 8, login <= 5);
  (b) the server's CPU per 1,000 requests, sequential, and for the weekly log under
      16 connections too (budget: <= 1.2x the sequential figure);
  (c) authenticated GET /api/v1/offerings/{id}, 2 workers, 16 connections, requests/s
      (budget >= 500/s);
  (d) the client's start-up: `cms offering show ID --json` against the server, whole
      process, median of 7, beside `python -c "import typer"` (budget: within 2.0x).
Logins use bcrypt cost 4 (CMS_BCRYPT_ROUNDS): the hash's cost is not what is measured.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import cms, median, mysql_root

RUNS = 7
SEQUENTIAL = 200
CONCURRENT = 1_000
CONNECTIONS = 16
OFFERINGS, TAUGHT, STUDENTS = 1_000, 50, 20
NOW = "2026-02-01T12:00:00+00:00"
PASSWORD = "bench-password-1"  # noqa: S105 (a bench account's)


def seed(url: str, work: Path) -> str:
    """The catalog, 1,000 offerings (by the import's service), 20 students in each of the
    first 50, a password for the manager; returns the manager's token."""
    import offerings as sheet
    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import Role, User
    from cms_cli.auth.service import hash_password
    from cms_cli.core.csvfile import CsvFile
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.importer import import_offerings
    from cms_cli.offerings.models import Enrolment
    from cms_cli.offerings.public import IMPORT_OPTIONAL, IMPORT_REQUIRED

    token = sheet.seed_catalog(url)
    csv_file = work / "term.csv"
    sheet.write_csv(csv_file, OFFERINGS)
    engine = engine_for(url)
    with Session(engine) as session:
        dean = session.execute(sa.select(User).where(User.email == "dean@uni.edu")).scalar_one()
        dean.password_hash = hash_password(PASSWORD, 4)
        with CsvFile(csv_file, IMPORT_REQUIRED, IMPORT_OPTIONAL) as rows:
            import_offerings(session, dean, rows, max_load=1_000)
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        session.execute(
            sa.insert(User),
            [
                {
                    "email": f"s{i:03d}@students.uni.edu",
                    "name": f"Student {i}",
                    "role": Role.student,
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(STUDENTS)
            ],
        )
        students = (
            session.execute(sa.select(User.id).where(User.role == Role.student)).scalars().all()
        )
        session.execute(
            sa.insert(Enrolment),
            [
                {"offering_id": o, "student_id": s, "created_at": now}
                for o in range(1, TAUGHT + 1)
                for s in students
            ],
        )
        session.commit()
    engine.dispose()
    return token


class Server:
    """`cms serve --workers 2` over ``url``; its processes' CPU time."""

    def __init__(self, url: str, work: Path, **extra: str) -> None:
        from servers import free_port

        self.port = free_port()
        env = {
            **os.environ,
            "CMS_DATABASE_URL": url,
            "CMS_HOME": str(work),
            "CMS_NOW": NOW,
            "CMS_BCRYPT_ROUNDS": "4",
            **extra,
        }
        self.proc = subprocess.Popen(
            [cms(), "serve", "--port", str(self.port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        sys.exit("cms serve did not start")

    def cpu(self) -> float:
        """Seconds of CPU of the server and its workers so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        pids = [self.proc.pid]
        seen: set[int] = set()
        while pids:
            pid = pids.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
                for task in Path(f"/proc/{pid}/task").iterdir():
                    kids = (task / "children").read_text().split()
                    pids.extend(int(k) for k in kids)
            except OSError:
                continue
        return total

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes]:
    own = connection is None
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers=headers)
    answer = conn.getresponse()
    payload = answer.read()
    if own:
        conn.close()
    return answer.status, payload


def questions(root: str) -> int:
    import pymysql
    import sqlalchemy as sa

    url = sa.make_url(root)
    conn = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    with conn.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
        value = int(cursor.fetchone()[1])
    conn.close()
    return value


def measure(
    server: Server,
    root: str,
    label: str,
    make: Callable[[int], tuple[str, str, Any]],
    token: str | None,
) -> float:
    """Statements per request and CPU per 1,000, over SEQUENTIAL requests on one
    connection; returns the CPU per 1,000."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    request(server.port, *make(-1), token=token, connection=conn)  # warm
    before_q, before_cpu = questions(root), server.cpu()
    for i in range(SEQUENTIAL):
        method, path, body = make(i)
        status, payload = request(server.port, method, path, body, token, conn)
        if status >= 300:
            sys.exit(f"{label}: {method} {path} answered {status}: {payload[:300]!r}")
    cpu = server.cpu() - before_cpu
    statements = (questions(root) - before_q - 1) / SEQUENTIAL  # less the SHOW itself
    conn.close()
    per = cpu * 1000 / SEQUENTIAL
    print(f"  {label:<28} {statements:5.1f} statements/request   CPU {per:6.2f} s per 1,000")
    return per


def concurrently(server: Server, make: Callable[[int], tuple[str, str, Any]], token: str) -> float:
    """CPU per 1,000 of CONCURRENT requests from CONNECTIONS connections."""
    counter = iter(range(CONCURRENT))
    lock = threading.Lock()
    failed: list[str] = []

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            status, payload = request(server.port, *make(i), token=token, connection=conn)
            if status >= 300:
                failed.append(f"{status} {payload[:200]!r}")
        conn.close()

    before = server.cpu()
    threads = [threading.Thread(target=work) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        print(f"  ({len(failed)} failed under load, e.g. {failed[0]})")
    return (server.cpu() - before) * 1000 / CONCURRENT


def requests_per_second(server: Server, token: str, seconds: float = 5.0) -> float:
    done = [0] * CONNECTIONS
    stop = time.monotonic() + seconds

    def hammer(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.monotonic() < stop:
            status, _ = request(
                server.port, "GET", f"/api/v1/offerings/{slot * 50 + 1}", None, token, conn
            )
            if status == 200:
                done[slot] += 1
        conn.close()

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def client_start(port: int, token: str, work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CMS_DATABASE_URL", "CMS_NOW")} | {
        "CMS_SERVER_URL": f"http://127.0.0.1:{port}",
        "CMS_TOKEN": token,
        "CMS_HOME": str(work / "client"),
    }
    starts, floors, bare = [], [], []
    for _ in range(RUNS):
        begun = time.perf_counter()
        subprocess.run([cms(), "config", "path"], env=env, capture_output=True, check=True)
        bare.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        subprocess.run(
            [cms(), "offering", "show", "1", "--json"], env=env, capture_output=True, check=True
        )
        starts.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import typer"], check=True)
        floors.append(time.perf_counter() - begun)
    start, floor, nothing = median(starts), median(floors), median(bare)
    print(
        f"(d) client: offering show --json {start * 1000:5.0f} ms; import typer "
        f"{floor * 1000:4.0f} ms: {start / floor:4.2f}x (budget 2.0x); a command that does "
        f"nothing but read the settings (cms config path) {nothing * 1000:4.0f} ms: "
        f"{nothing / floor:4.2f}x"
    )


def main() -> None:
    import sqlalchemy as sa

    sys.path.insert(0, os.path.dirname(__file__))
    work = Path(tempfile.mkdtemp(prefix="cms-bench-server-"))
    server = None
    try:
        with mysql_root() as root:
            if root is None:
                return
            engine = sa.create_engine(root)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP DATABASE IF EXISTS bench_server"))
                conn.execute(sa.text("CREATE DATABASE bench_server CHARACTER SET utf8mb4"))
            engine.dispose()
            url = f"{root}bench_server"
            token = seed(url, work)
            # The request limit off: one token sends thousands of requests a minute here
            # (600 a minute would answer 429), and its counter's statement is measured
            # apart, below.
            server = Server(url, work, CMS_RATE_LIMIT="0")
            print(f"MariaDB, {OFFERINGS} offerings, cms serve --workers 2 ({SEQUENTIAL} each):")
            modes = ("online", "in-person", "hybrid")
            created = iter(
                (m, c, h, mode)
                for m in range(40)
                for c in range(20, 40)  # classes the term does not use
                for h in range(5)
                for mode in modes
            )

            def create(i: int) -> tuple[str, str, Any]:
                m, c, h, mode = next(created)
                return (
                    "POST",
                    "/api/v1/offerings",
                    {
                        "module": f"M{m:03d}",
                        "class_code": f"C{c:03d}",
                        "cohort": f"Cohort {h}",
                        "mode": mode,
                        "start_date": "2026-09-07",
                        "end_date": "2026-11-27",
                    },
                )

            # the classes C020..C039 do not exist yet: add them
            for c in range(20, 40):
                request(
                    server.port,
                    "POST",
                    "/api/v1/catalog/classes",
                    {"code": f"C{c:03d}", "year": 2026, "trimester": 1, "intake": "FT"},
                    token,
                )
            measure(server, root, "create an offering", create, token)

            def get_one(i: int) -> tuple[str, str, Any]:
                return "GET", f"/api/v1/offerings/{i % OFFERINGS + 1}", None

            measure(server, root, "GET an offering", get_one, token)
            measure(
                server,
                root,
                "a list page (100 rows)",
                lambda i: ("GET", f"/api/v1/offerings?limit=100&offset={(i % 10) * 100}", None),
                token,
            )

            def log(i: int) -> tuple[str, str, Any]:
                body = {
                    "offering_id": i % TAUGHT + 1,
                    "week": i % 4 + 1,
                    "changes": {
                        "statuses": {"formative_one_grading": ("done", "pending")[i % 2]},
                        "all_present": True,
                    },
                }
                return "POST", "/api/v1/logs", body

            sequential = measure(server, root, "log a week (20 students)", log, token)
            loaded = concurrently(server, log, token)
            print(
                f"  log a week under {CONNECTIONS} connections: CPU {loaded:6.2f} s per 1,000, "
                f"{loaded / sequential:4.2f}x the sequential figure (budget <= 1.2x)"
            )
            login = {"email": "dean@uni.edu", "password": PASSWORD}
            measure(server, root, "log in", lambda i: ("POST", "/api/v1/auth/login", login), None)
            rate = requests_per_second(server, token)
            print(
                f"(c) GET /api/v1/offerings/{{id}}, 2 workers, {CONNECTIONS} connections: "
                f"{rate:6.0f} requests/s (budget >= 500/s)"
            )
            client_start(server.port, token, work)
            server.stop()
            # The request limit on, without Redis: each request also counts itself in
            # the rate_count table (one autocommit statement, on a pool of its own).
            server = Server(url, work, CMS_RATE_LIMIT="1000000")
            print("with the request limit counted in MariaDB (no Redis):")
            measure(server, root, "GET an offering", get_one, token)
            print("  (with Redis configured the count is one Redis round trip: no SQL)")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
