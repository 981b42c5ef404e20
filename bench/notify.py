"""Notifications at scale.

(a) `cms notify sweep` over 12,000 offerings of which 2,000 have weeks due (two reminders
    and one escalation each: 6,000 notifications), then a repeat sweep: whole-process
    wall times, and the SQL statements of the sweep at 1,200 and 12,000 offerings.
(b) 1,000 notifications through Redis to an SMTP sink with `cms worker --workers 4`:
    deliveries per second.
(c) the first sweep of (a) on MariaDB with a Redis queue, and (a)'s with and without
    --metrics-file (the metrics' added cost), each beside the stack floor
    (`python -c "import sqlmodel, sqlalchemy.orm, typer"`) measured in the same run.
(d) the cost of one delivery (claim, compose, inbox, mark sent; no SMTP) on MariaDB with
    10,000 and with 1,000,000 rows in the outbox: median milliseconds and statements
    of 20 deliveries at each size (every statement after the claim goes by id: the
    same at both sizes).
(e) (b) without digests again, while the worker is SIGKILLed every 3 s and started
    again: the time until every notification is sent, and the e-mails sent twice
    (at-least-once), beside (b)'s time without kills.
Budgets: first sweep within 3x the stack floor (SQLite, and MariaDB + Redis), repeat
within 1.2x, statements constant; >= 100 deliveries/s; metrics <= 5 % of a sweep.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import ROOT, count_statements, in_process, median, mysql_root, run, seed_base

NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)
DUE_START = date(2026, 3, 1)  # weeks 1-2 due for reminders, week 1 for an escalation
LATER_START = date(2026, 6, 1)


def build(url: str, offerings: int, due: int) -> str:
    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import User
    from cms_cli.catalog.models import Mode
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.models import Offering

    modules, classes, cohorts = 40, 20, 5
    token = seed_base(url, modules, classes, cohorts, 4000)
    engine = engine_for(url)
    with Session(engine) as session:
        ids = dict(session.execute(sa.select(User.email, User.id)).all())
        rows, n = [], 0
        for m in range(modules):
            for c in range(classes):
                for h in range(cohorts):
                    for mode in Mode:
                        if n == offerings:
                            break
                        start = DUE_START if n < due else LATER_START
                        rows.append(
                            {
                                "module_id": m + 1,
                                "class_id": c + 1,
                                "cohort_id": h + 1,
                                "mode": mode,
                                "facilitator_id": ids[f"f{n % 4000:04d}@uni.edu"],
                                "manager_id": ids["dean@uni.edu"],
                                "start_date": start,
                                "end_date": start + timedelta(weeks=12, days=-1),
                                "created_at": NOW,
                                "updated_at": NOW,
                            }
                        )
                        n += 1
        session.execute(sa.insert(Offering), rows)
        session.commit()
    engine.dispose()
    return token


def sweep_statements(url: str, home: Path) -> int:
    from cms_cli.core.config import load_config
    from cms_cli.core.db import engine_for
    from cms_cli.notify import sweep

    env = {"CMS_DATABASE_URL": url, "CMS_HOME": str(home), "CMS_NOW": NOW.isoformat()}

    def once() -> int:
        config = load_config()
        with count_statements(engine_for(url)) as seen:
            sweep.run(config, enqueue=lambda _config, ids: len(ids))
        return len(seen)

    return in_process(env, once)


def part_a(work: Path) -> None:
    for offerings, due in ((1200, 200), (12000, 2000)):
        home = work / f"count{offerings}"
        home.mkdir()
        url = f"sqlite:///{home / 'cms.db'}"
        build(url, offerings, due)
        print(f"(a) sweep statements at {offerings:6} offerings: {sweep_statements(url, home)}")
    home = work / "timed"
    home.mkdir()
    template = home / "template.db"
    build(f"sqlite:///{template}", 12000, 2000)
    firsts, repeats, created = [], [], {}
    for i in range(3):
        db = home / f"run{i}.db"
        shutil.copy(template, db)
        shutil.rmtree(home / "queue.db", ignore_errors=True)
        (home / "queue.db").unlink(missing_ok=True)
        env = {
            "CMS_DATABASE_URL": f"sqlite:///{db}",
            "CMS_HOME": str(home),
            "CMS_NOW": NOW.isoformat(),
        }
        elapsed, proc = run(["notify", "sweep", "--json"], env)
        firsts.append(elapsed)
        created = json.loads(proc.stdout)
        repeats.append(median([run(["notify", "sweep", "--json"], env)[0] for _ in range(3)]))
    print(
        f"(a) first sweep, 12,000 offerings ({created})  {median(firsts):5.2f} s (median of 3; budget 3.0 s)"
    )
    print(
        f"(a) repeat sweep                                              {median(repeats):5.2f} s (budget 0.6 s)"
    )


def stack_floor() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sqlmodel, sqlalchemy.orm, typer"], check=True)
    return time.perf_counter() - start


def part_c(work: Path) -> None:
    """MariaDB + Redis first sweeps, the metrics file's cost, beside the stack floor."""
    sys.path.insert(0, str(ROOT / "tests"))
    import servers
    import sqlalchemy as sa

    home = work / "mysql"
    home.mkdir()
    floors = [stack_floor() for _ in range(5)]
    floor = median(floors)
    print(f"(c) stack floor (import sqlmodel, sqlalchemy.orm, typer): {floor:5.2f} s")
    # the metrics file's cost, on the SQLite sweep of (a)
    template = work / "timed" / "template.db"
    plain, with_metrics = [], []
    for i in range(4):
        for target, extra in (
            (plain, []),
            (with_metrics, ["--metrics-file", str(home / "m.prom")]),
        ):
            db = home / f"m{i}{len(extra)}.db"
            shutil.copy(template, db)
            (home / "queue.db").unlink(missing_ok=True)
            env = {"CMS_DATABASE_URL": f"sqlite:///{db}", "CMS_HOME": str(home),
                   "CMS_NOW": NOW.isoformat()}  # fmt: skip
            target.append(run(["notify", "sweep", "--json", *extra], env)[0])
    p, m = median(plain), median(with_metrics)
    print(
        f"(c) first sweep, SQLite: {p:5.2f} s = {p / floor:4.2f}x the floor (budget 3x); "
        f"with --metrics-file {m:5.2f} s: {100 * (m - p) / p:+.1f} % (budget 5 %)"
    )
    with mysql_root() as root:
        if root is None:
            return
        engine = sa.create_engine(root)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS cms_bench_sweep"))
            conn.execute(sa.text("CREATE DATABASE cms_bench_sweep CHARACTER SET utf8mb4"))
        engine.dispose()
        url = root + "cms_bench_sweep"
        build(url, 12000, 2000)
        with servers.redis_server() as (redis_url, _proc):
            import redis

            client = redis.Redis.from_url(redis_url)
            env = {"CMS_DATABASE_URL": url, "CMS_HOME": str(home), "CMS_NOW": NOW.isoformat(),
                   "CMS_REDIS_URL": redis_url}  # fmt: skip
            firsts, floors = [], []
            for _ in range(3):
                engine = sa.create_engine(url)
                with engine.begin() as conn:
                    conn.execute(sa.text("DELETE FROM notification"))
                    conn.execute(sa.text("DELETE FROM audit_event"))
                engine.dispose()
                client.flushdb()
                floors.append(stack_floor())
                firsts.append(run(["notify", "sweep", "--json"], env)[0])
            queued = client.llen("huey.redis.cms")
            client.close()
        f, floor = median(firsts), median(floors)
        print(
            f"(c) first sweep, MariaDB + Redis, 6,000 notifications: {f:5.2f} s = "
            f"{f / floor:4.2f}x the floor (budget 3x); {queued} tasks in Redis"
        )


def part_b(work: Path) -> None:
    for digest in (False, True):
        _worker_run(work, digest)


def part_e(work: Path) -> None:
    _worker_run(work, False, kills=True)  # (b) gives the same run without kills


def _worker_run(work: Path, digest: bool, kills: bool = False) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import servers

    home = work / f"worker-{'digest' if digest else 'single'}{'-kills' if kills else ''}"
    home.mkdir()
    url = f"sqlite:///{home / 'cms.db'}"
    build(url, 334, 334)  # 334 offerings x 3 notifications = 1,002
    try:
        redis_cm = servers.redis_server()
        redis_url, _ = redis_cm.__enter__()
    except BaseException as exc:
        print(f"(b) not run: {exc}")
        return
    sink = servers.SmtpSink().start()
    env = {
        **os.environ,
        "CMS_DATABASE_URL": url,
        "CMS_HOME": str(home),
        "CMS_NOW": NOW.isoformat(),
        "CMS_REDIS_URL": redis_url,
        "CMS_SMTP_URL": sink.url,
        "CMS_DIGEST": "true" if digest else "false",
    }

    # The killed workers' replacements run on the real clock: what a dead worker held
    # is found by heartbeats' ages and queued_at, which a frozen CMS_NOW would stop.
    worker_env = {k: v for k, v in env.items() if not (kills and k == "CMS_NOW")}

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "cms_cli", "worker", "--workers", "4", "--no-scheduler"],
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    worker = launch()
    killed = 0
    try:
        time.sleep(1.5)  # let the consumer start
        swept = subprocess.run(
            [sys.executable, "-m", "cms_cli", "notify", "sweep", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        total = sum(json.loads(swept.stdout)[k] for k in ("reminders", "escalations"))
        start = time.perf_counter()

        counted = [0, 0]  # messages read so far, items in them

        def items() -> int:
            """Notifications received: each digest's items, each message read once."""
            if not digest:
                return len(sink.messages)
            fresh = list(sink.messages[counted[0] :])
            for message in fresh:
                text = message.get_body(("plain",)).get_content()
                counted[1] += sum(1 for line in text.splitlines() if line.startswith("  - "))
            counted[0] += len(fresh)
            return counted[1]

        limit = 300 if kills else 120
        last_kill = start
        while time.perf_counter() - start < limit:
            if kills:
                if _sent_count(url) >= total:
                    break
                if time.perf_counter() - last_kill > 3 and killed < 10:
                    worker.kill()
                    worker.wait()
                    killed += 1
                    worker = launch()
                    last_kill = time.perf_counter()
            elif items() >= total:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        if kills:
            sent = _sent_count(url)
            twice = len(sink.messages) - sent
            print(
                f"(e) {sent} of {total} notifications sent while the worker was SIGKILLed "
                f"{killed} times (every 3 s) and started again: {elapsed:5.1f} s, "
                f"{sent / elapsed:6.0f} notifications/s; {twice} e-mail(s) sent twice"
            )
            return
        done = items()
        mode = f"digests on ({len(sink.messages)} e-mails)" if digest else "digests off"
        budget = ">= 300 notifications/s" if digest else ">= 100 deliveries/s"
        print(
            f"(b) {done} of {total} notifications via Redis to SMTP, 4 threads, {mode}: "
            f"{elapsed:5.2f} s, {done / elapsed:6.0f} notifications/s (budget {budget})"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sink.stop()
        redis_cm.__exit__(None, None, None)


def part_d(work: Path) -> None:
    import sqlalchemy as sa

    with mysql_root() as root:
        if root is None:
            print("(d) not run: no MariaDB")
            return
        admin = sa.create_engine(root)
        with admin.begin() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS bench_outbox"))
            conn.execute(sa.text("CREATE DATABASE bench_outbox CHARACTER SET utf8mb4"))
        url = f"{root}bench_outbox"
        home = work / "outbox"
        home.mkdir()
        env = {"CMS_DATABASE_URL": url, "CMS_HOME": str(home), "CMS_NOW": NOW.isoformat()}
        build(url, 334, 334)

        def measure(size: int) -> None:
            from cms_cli.core.config import load_config
            from cms_cli.core.db import engine_for
            from cms_cli.notify import delivery, sweep

            engine = engine_for(url)
            with engine.begin() as conn:
                queued = conn.execute(sa.text("SELECT COUNT(*) FROM notification")).scalar()
                if not queued:
                    sweep.run(load_config(), enqueue=lambda _config, ids: len(ids))
                while (
                    conn.execute(sa.text("SELECT COUNT(*) FROM notification")).scalar() or 0
                ) < size:
                    have = conn.execute(sa.text("SELECT COUNT(*) FROM notification")).scalar() or 0
                    conn.execute(
                        sa.text(
                            "INSERT INTO notification (kind, recipient_id, offering_id, week, "
                            "student_id, reason, status, attempts, created_at, sent_at) "
                            "SELECT kind, recipient_id, offering_id, week, "
                            "student_id + (SELECT MAX(student_id) + 1 FROM notification), "
                            "reason, 'sent', 1, created_at, created_at FROM notification "
                            "LIMIT :n"
                        ),
                        {"n": min(have, size - have)},
                    )
                ids = [
                    r[0]
                    for r in conn.execute(
                        sa.text(
                            "SELECT id FROM notification WHERE status = 'queued' ORDER BY id LIMIT 20"
                        )
                    ).all()
                ]
                total = conn.execute(sa.text("SELECT COUNT(*) FROM notification")).scalar()
            config = load_config()
            times, statements = [], []
            for nid in ids:
                with count_statements(engine) as seen:
                    started = time.perf_counter()
                    delivery.deliver(nid, config)
                    times.append(time.perf_counter() - started)
                statements.append(len(seen))
            print(
                f"(d) one delivery with {total:>9,} outbox rows: {median(times) * 1000:5.1f} ms, "
                f"{median(statements):.0f} statements (median of {len(ids)})"
            )

        in_process({**env, "CMS_DIGEST": "false"}, lambda: measure(10_000))
        in_process({**env, "CMS_DIGEST": "false"}, lambda: measure(1_000_000))
        with admin.begin() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS bench_outbox"))


def _sent_count(url: str) -> int:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM notification WHERE status = 'sent'").fetchone()[0]
        )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cms-bench-notify-"))
    try:
        parts = sys.argv[1:] or ["a", "b", "c", "d", "e"]  # (c) needs (a)'s database
        chosen = {"a": part_a, "b": part_b, "c": part_c, "d": part_d, "e": part_e}
        for name in chosen:
            if name in parts or (name == "a" and "c" in parts):
                chosen[name](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
