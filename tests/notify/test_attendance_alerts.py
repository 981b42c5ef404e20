"""The sweep's attendance notifications: students at risk, told to their facilitator
and, after escalation_hours, to the offering's manager; once each; staff only.

Offering A (Ana; Dean manages; Sam and Sue enrolled) runs from Mon 5 Jan 2026. Now is
Sun 1 Feb 12:00 UTC.
"""

from __future__ import annotations

import json
from typing import Any

from conftest import Cli

from cms_cli.notify import delivery

FOUR_DAYS_LATER = "2026-02-05T12:00:00+00:00"  # past the 72 h escalation


def attendance_rows(cli: Cli) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli.ok("notify", "list", "--json").json()
    return [r for r in rows if r["kind"] == "attendance"]


def sweep(cli: Cli, now: str | None = None) -> dict[str, int]:
    env = {"CMS_NOW": now} if now else None
    data: dict[str, int] = cli.ok("notify", "sweep", "--json", env=env).json()
    return data


def sam_misses(cli: Cli, offering: int, *weeks: int) -> None:
    cli.login("ana@uni.edu")
    for week in weeks:
        cli.ok(
            "tracker",
            "log",
            "--offering",
            str(offering),
            "--week",
            str(week),
            "--absent",
            "sam@uni.edu",
        )
    cli.login("dean@uni.edu")


def test_a_student_at_risk_is_told_to_the_facilitator_once(
    cli: Cli, offerings: dict[str, int]
) -> None:
    a = offerings["A"]
    sam_misses(cli, a, 1, 2)
    assert sweep(cli)["attendance"] == 0  # two weeks: no rate yet, a run of two
    sam_misses(cli, a, 3)
    first = sweep(cli)
    assert first["attendance"] == 2  # under 75 % over 3 weeks, and 3 missed in a row
    rows = attendance_rows(cli)
    assert {(r["recipient"], r["offering_id"], r["week"]) for r in rows} == {("ana@uni.edu", a, 0)}
    assert sweep(cli)["attendance"] == 0  # never twice
    assert len(attendance_rows(cli)) == 2
    events = cli.ok("audit", "list", "--entity", "notification", "--json").json()[::-1]
    assert [e["after"]["attendance"] for e in events if e["action"] == "sweep"] == [0, 2]


def test_after_escalation_hours_the_manager_is_told_of_those_still_at_risk(
    cli: Cli, offerings: dict[str, int]
) -> None:
    a = offerings["A"]
    sam_misses(cli, a, 1, 2, 3)
    sweep(cli)
    # Sam comes back in week 4: the run is over, the rate (25 %) is not.
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", str(a), "--week", "4", "--all-present")
    cli.login("dean@uni.edu")
    later = sweep(cli, FOUR_DAYS_LATER)
    assert later["attendance"] == 1
    told = {(r["recipient"]) for r in attendance_rows(cli)}
    assert told == {"ana@uni.edu", "dean@uni.edu"}
    assert sweep(cli, FOUR_DAYS_LATER)["attendance"] == 0


def test_without_a_facilitator_the_manager_is_told_at_once(
    cli: Cli, offerings: dict[str, int]
) -> None:
    a = offerings["A"]
    sam_misses(cli, a, 1, 2, 3)
    cli.ok("offering", "update", str(a), "--no-facilitator")
    assert sweep(cli)["attendance"] == 2
    assert {r["recipient"] for r in attendance_rows(cli)} == {"dean@uni.edu"}


def test_thresholds_come_from_the_settings(cli: Cli, offerings: dict[str, int]) -> None:
    sam_misses(cli, offerings["A"], 1, 2)
    cli.env["CMS_ATTENDANCE_ALERT_RUN"] = "2"
    assert sweep(cli)["attendance"] == 1  # the run only: two weeks are too few for a rate
    cli.env["CMS_ATTENDANCE_ALERT_PCT"] = "1"
    sam_misses(cli, offerings["A"], 3)
    assert sweep(cli)["attendance"] == 1  # 0 % < 1 %: the rate now


def test_a_dry_run_counts_and_writes_nothing(cli: Cli, offerings: dict[str, int]) -> None:
    sam_misses(cli, offerings["A"], 1, 2, 3)
    assert cli.ok("notify", "sweep", "--dry-run", "--json").json()["attendance"] == 2
    assert attendance_rows(cli) == []


def test_concurrent_sweeps_tell_each_once(cli: Cli, offerings: dict[str, int]) -> None:
    sam_misses(cli, offerings["A"], 1, 2, 3)
    procs = [cli.spawn("notify", "sweep", "--json") for _ in range(4)]
    codes = [p.wait(timeout=120) for p in procs]
    errors = [p.stderr.read() for p in procs]  # type: ignore[union-attr]
    assert codes == [0, 0, 0, 0], errors
    created = [json.loads(p.stdout.read()) for p in procs]  # type: ignore[union-attr]
    assert sum(c["attendance"] for c in created) == 2
    assert len(attendance_rows(cli)) == 2


def test_the_message_names_the_student_the_reason_and_the_command(
    cli: Cli, offerings: dict[str, int], smtp: Any
) -> None:
    a = offerings["A"]
    sam_misses(cli, a, 1, 2, 3)
    sweep(cli)
    config = cli.config(CMS_SMTP_URL=smtp.url)
    for row in attendance_rows(cli):
        assert delivery.deliver(row["id"], config) == "sent"
    assert {m["To"].addresses[0].addr_spec for m in smtp.messages} == {"ana@uni.edu"}
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == [
        f"Attendance: Sam Stu in CS101 (offering {a}), 3+ weeks missed",
        f"Attendance: Sam Stu in CS101 (offering {a}), under 75%",
    ]
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Sam Stu <sam@uni.edu>" in text
    assert "present 0 of 3 recorded weeks (0%), 3 missed in a row" in text
    assert f"cms tracker attendance --offering {a} --student sam@uni.edu" in text
    cli.login("sam@uni.edu")
    assert cli.ok("inbox", "--json").json() == []  # never told about themselves


def test_a_digest_lists_them_with_the_weeks_reminders(
    cli: Cli, offerings: dict[str, int], smtp: Any
) -> None:
    from cms_cli.notify import digest

    a = offerings["A"]
    sam_misses(cli, a, 1, 2, 3)
    sweep(cli, "2026-02-06T12:00:00+00:00")  # week 4 is due too: a reminder for Ana
    mine = [
        r["id"]
        for r in cli.ok("notify", "list", "--json").json()
        if r["recipient"] == "ana@uni.edu"
    ]
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert digest.deliver_digest(mine, config) == "sent"
    (message,) = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert "Attendance: Sam Stu <sam@uni.edu> attends under 75%" in text
    assert "Reminder: week 4" in text
