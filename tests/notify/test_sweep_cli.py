"""cms notify sweep / list on the hand-computed term of tests/tracker, SQLite and MariaDB.

Now is 2026-02-01 12:00 UTC, grace 48 h, escalation 72 h more. Due and not complete:
A2 (incomplete), A3 (missing), B2 (missing): three reminders (Ana, Ana, Ben). The
escalation cut-off is the week ending on or before Jan 26: A2 (Jan 18), A3 (Jan 25),
B2 (Jan 25): three escalations to the manager, Dean.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Cli, create

ELEVEN_MINUTES_LATER = "2026-02-01T12:11:00+00:00"


def sweep(cli: Cli, *args: str, env: dict[str, str] | None = None) -> dict[str, int]:
    result = cli("notify", "sweep", "--json", *args, env=env)
    assert result.exit_code == 0, result
    data: dict[str, int] = result.json()
    return data


def outbox(cli: Cli, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli.ok("notify", "list", "--json", *args).json()
    return rows


def test_first_sweep_counts_and_a_second_creates_nothing(cli: Cli, logged: dict[str, int]) -> None:
    assert sweep(cli) == {
        "reminders": 3,
        "escalations": 3,
        "attendance": 0,
        "requeued": 0,
        "enqueued": 6,
    }
    a, b = logged["A"], logged["B"]
    rows = outbox(cli)
    assert list(rows[0]) == [
        "id",
        "kind",
        "recipient",
        "offering_id",
        "week",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    assert sorted((r["kind"], r["recipient"], r["offering_id"], r["week"]) for r in rows) == sorted(
        [
            ("reminder", "ana@uni.edu", a, 2),
            ("reminder", "ana@uni.edu", a, 3),
            ("reminder", "ben@uni.edu", b, 2),
            ("escalation", "dean@uni.edu", a, 2),
            ("escalation", "dean@uni.edu", a, 3),
            ("escalation", "dean@uni.edu", b, 2),
        ]
    )
    assert {r["status"] for r in rows} == {"queued"}
    assert sweep(cli) == {
        "reminders": 0,
        "escalations": 0,
        "attendance": 0,
        "requeued": 0,
        "enqueued": 0,
    }
    assert len(outbox(cli)) == 6


def test_output_and_quiet(cli: Cli, logged: dict[str, int]) -> None:
    first = cli.ok("notify", "sweep")
    expected = (
        "Sweep created 3 reminder(s), 3 escalation(s) and 0 attendance notification(s); "
        "0 older one(s) handed to the queue"
    )
    assert first.stdout == expected + " again.\n"
    assert cli.ok("notify", "sweep", "--quiet").stdout == ""
    assert cli.ok("notify", "sweep").stdout.startswith("Sweep created 0 reminder(s)")


def test_dry_run_writes_nothing(cli: Cli, logged: dict[str, int]) -> None:
    result = cli.ok("notify", "sweep", "--dry-run", "--json").json()
    assert (result["reminders"], result["escalations"]) == (3, 3)
    assert outbox(cli) == []
    assert "would create 3 reminder(s)" in cli.ok("notify", "sweep", "--dry-run").stdout


def test_sweep_needs_no_login(cli: Cli, logged: dict[str, int]) -> None:
    cli("auth", "logout")
    assert sweep(cli)["reminders"] == 3


def test_completing_a_log_stops_further_notifications(cli: Cli, logged: dict[str, int]) -> None:
    from conftest import ALL_DONE

    cli.login("ana@uni.edu")
    cli.ok(
        "tracker", "log", "--offering", str(logged["A"]), "--week", "3", "--all-present", *ALL_DONE
    )
    cli.login("dean@uni.edu")
    assert sweep(cli) == {
        "reminders": 2,
        "escalations": 2,
        "attendance": 0,
        "requeued": 0,
        "enqueued": 4,
    }


def test_time_brings_new_weeks_and_escalations(cli: Cli, logged: dict[str, int]) -> None:
    sweep(cli)
    # Feb 4 00:00: A4 (ends Feb 1, incomplete) and B3 (ends Feb 1, missing) become due.
    later = sweep(cli, env={"CMS_NOW": "2026-02-04T00:00:00+00:00"})
    assert (later["reminders"], later["escalations"]) == (2, 0)
    # Feb 7 00:00: their escalations too.
    assert sweep(cli, env={"CMS_NOW": "2026-02-07T00:00:00+00:00"})["escalations"] == 2


def test_cancelled_offerings_are_never_swept(cli: Cli, logged: dict[str, int]) -> None:
    cli.ok("offering", "cancel", str(logged["B"]), "--yes")
    assert sweep(cli) == {
        "reminders": 2,
        "escalations": 2,
        "attendance": 0,
        "requeued": 0,
        "enqueued": 4,
    }


def test_no_facilitator_escalates_at_the_deadline(cli: Cli, term: dict[str, str]) -> None:
    lonely = create(cli, module="MA201", start="2026-01-19", end="2026-03-01")
    # Week 1 ends Jan 25: due Jan 28 (the escalation would be Jan 31 with a facilitator).
    assert sweep(cli) == {
        "reminders": 0,
        "escalations": 1,
        "attendance": 0,
        "requeued": 0,
        "enqueued": 1,
    }
    [row] = outbox(cli)
    assert (row["kind"], row["recipient"], row["offering_id"], row["week"]) == (
        "escalation",
        "dean@uni.edu",
        lonely,
        1,
    )


def test_escalations_go_to_the_offerings_manager(cli: Cli, term: dict[str, str]) -> None:
    create(
        cli,
        "--facilitator",
        "ana@uni.edu",
        "--manager",
        "boss@uni.edu",
        start="2026-01-05",
        end="2026-01-18",
    )
    sweep(cli)
    assert {(r["kind"], r["recipient"]) for r in outbox(cli)} == {
        ("reminder", "ana@uni.edu"),
        ("escalation", "boss@uni.edu"),
    }


def test_rows_left_behind_are_handed_over_again(cli: Cli, logged: dict[str, int]) -> None:
    sweep(cli)  # queued, but no worker runs in this test
    assert sweep(cli, env={"CMS_NOW": "2026-02-01T12:05:00+00:00"})["requeued"] == 0
    assert sweep(cli, env={"CMS_NOW": ELEVEN_MINUTES_LATER}) == {
        "reminders": 0,
        "escalations": 0,
        "attendance": 0,
        "requeued": 6,
        "enqueued": 0,
    }
    assert sweep(cli, env={"CMS_NOW": ELEVEN_MINUTES_LATER})["requeued"] == 0


def test_notify_list_permissions_and_filters(cli: Cli, logged: dict[str, int]) -> None:
    sweep(cli)
    assert len(outbox(cli, "--recipient", "ana@uni.edu")) == 2
    assert len(outbox(cli, "--status", "queued")) == 6
    assert outbox(cli, "--status", "sent") == []
    assert cli("notify", "list", "--status", "lost").exit_code == 1
    csv_lines = cli.ok("notify", "list", "--csv").stdout.splitlines()
    assert (
        csv_lines[0]
        == "id,kind,recipient,offering_id,week,status,attempts,last_error,created_at,sent_at"
    )
    cli.login("ana@uni.edu")
    assert {r["recipient"] for r in outbox(cli)} == {"ana@uni.edu"}
    cli.login("sam@uni.edu")
    assert outbox(cli) == []
    assert cli("notify", "retry", "--all-failed").exit_code == 5


def test_concurrent_sweeps_create_each_notification_once(cli: Cli, logged: dict[str, int]) -> None:
    procs = [cli.spawn("notify", "sweep", "--json") for _ in range(4)]
    codes = [p.wait(timeout=120) for p in procs]
    outputs = [p.stdout.read() for p in procs]  # type: ignore[union-attr]
    errors = [p.stderr.read() for p in procs]  # type: ignore[union-attr]
    assert codes == [0, 0, 0, 0], errors
    import json

    created = [json.loads(o) for o in outputs]
    assert sum(c["reminders"] for c in created) == 3
    assert sum(c["escalations"] for c in created) == 3
    rows = outbox(cli)
    assert len(rows) == 6
    assert len({(r["kind"], r["recipient"], r["offering_id"], r["week"]) for r in rows}) == 6


def test_sweeps_started_together_in_threads_create_each_notification_once(
    cli: Cli, term: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wider race than the processes above: 120 offerings, half of them Ana's (three
    reminders and three escalations each), half without a facilitator (three escalations
    at once), and eight sweeps released a few milliseconds apart."""
    import threading
    import time

    from cms_cli.notify import sweep as service

    for n in range(3, 11):
        cli.ok("cohort", "add", f"Cohort {n}")
    lines = ["module,class,cohort,mode,facilitator,start_date,end_date"]
    for module in ("CS101", "MA201"):
        for klass in ("2026J", "2026K"):
            for i, cohort in enumerate(
                ["Cohort A", "Cohort B", *(f"Cohort {n}" for n in range(3, 11))]
            ):
                who = "ana@uni.edu" if i % 2 else ""
                for mode in ("online", "hybrid", "in-person"):
                    lines.append(f"{module},{klass},{cohort},{mode},{who},2026-01-05,2026-03-27")
    (tmp_path / "term.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cli.ok("offering", "import", str(tmp_path / "term.csv"), env={"CMS_MAX_LOAD": "100"})

    config = cli.config()
    monkeypatch.setenv("CMS_NOW", cli.env["CMS_NOW"])
    gate = threading.Barrier(8)
    results: list[service.SweepResult] = []
    failures: list[BaseException] = []

    def one(n: int) -> None:
        gate.wait()
        time.sleep(n * 0.004)  # staggered: one sweep meets another at every step
        try:
            results.append(service.run(config, enqueue=lambda _config, ids: len(ids)))
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    # Weeks 1-3 (ending Jan 11, 18, 25) are past the deadline on Feb 1 with 48 h grace.
    assert sum(r.reminders for r in results) == 60 * 3
    assert sum(r.escalations for r in results) == 120 * 3
    rows = outbox(cli)
    assert len(rows) == 540
    assert {r["status"] for r in rows} == {"queued"}


def test_a_sweep_chosen_as_deadlock_victim_is_run_again(
    cli: Cli, logged: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What MariaDB does to one of two sweeps racing on the outbox: INSERT ... SELECT
    holds the table's AUTO-INC lock while it waits on the other's new rows, the other
    waits for AUTO-INC, and one is rolled back with error 1213. The sweep starts over."""
    import sqlalchemy as sa

    from cms_cli.notify import sweep as service

    real = service.write_outbox
    calls: list[int] = []

    def deadlocked_once(session: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        written = real(session, *args, **kwargs)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT IGNORE ...", {}, Exception(1213, "Deadlock"))
        return written

    monkeypatch.setattr(service, "write_outbox", deadlocked_once)
    monkeypatch.setenv("CMS_NOW", cli.env["CMS_NOW"])
    result = service.run(cli.config(), enqueue=lambda _config, ids: len(ids))
    assert len(calls) == 2
    assert (result.reminders, result.escalations, result.enqueued) == (3, 3, 6)
    assert len(outbox(cli)) == 6
    events = cli.ok("audit", "list", "--entity", "notification", "--json").json()
    assert [e["action"] for e in events] == ["sweep"]  # the rolled-back attempt left nothing behind
