"""Term end: `offering close` stops a term's reminders for good, the sweep lets an
offering go remind_days_after_end after its end on its own, `user deactivate --class`
retires its students, and `notify prune` lets go of the outbox history nobody needs.

The term of conftest: offerings A (CS101, ana, 2026-01-05..02-27, Sam and Sue enrolled)
and B (MA201, ben, 2026-01-12..03-06), both of class 2026J; now 2026-02-01."""

from __future__ import annotations

from conftest import PASSWORD, Cli, create, sql

WEEK_ON = {"CMS_NOW": "2026-02-08T12:00:00+00:00"}


def statuses(cli: Cli) -> dict[int, str]:
    return {o["id"]: o["status"] for o in cli.ok("offering", "list", "--all", "--json").json()}


def due(cli: Cli, env: dict[str, str] | None = None) -> int:
    found: dict[str, int] = cli.ok("notify", "sweep", "--dry-run", "--json", env=env).json()
    return found["reminders"] + found["escalations"] + found["attendance"]


def test_close_a_class_stops_its_reminders_for_good(cli: Cli, logged: dict[str, int]) -> None:
    a, b = logged["A"], logged["B"]
    assert due(cli, WEEK_ON) > 0  # a week on, the term's overdue weeks would be swept
    dry = cli.ok("offering", "close", "--class", "2026j", "--dry-run")
    assert dry.stdout.strip() == f"2 offering(s) would be closed: {a}, {b} (dry run)."
    assert statuses(cli) == {a: "active", b: "active"}
    unasked = cli("offering", "close", "--class", "2026J")  # off a terminal, no --yes
    assert unasked.exit_code == 2
    assert statuses(cli) == {a: "active", b: "active"}
    done = cli.ok("offering", "close", "--class", "2026J", "--yes")
    assert done.stdout.strip() == f"Closed 2 offering(s): {a}, {b}."
    assert statuses(cli) == {a: "completed", b: "completed"}  # whatever the dates say
    shown = cli.ok("offering", "list", "--status", "completed", "--json").json()
    assert {o["id"] for o in shown} == {a, b}
    assert cli.ok("offering", "list", "--status", "active", "--json").json() == []
    assert due(cli, WEEK_ON) == 0  # never swept again
    again = cli.ok("offering", "close", "--class", "2026J", "--yes")
    assert (
        again.stdout.strip() == "Nothing to close: the offerings of class 2026J are closed already."
    )
    events = cli.ok("audit", "list", "--entity", "offering", "--json").json()
    closes = [e for e in events if e["action"] == "close"]
    assert {int(e["entity_id"]) for e in closes} == {a, b}
    assert all(e["before"] == {"closed_at": None} for e in closes)
    # Late logs are still taken.
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", str(a), "--week", "3", "--formative-one", "done")


def test_close_refuses_what_it_should(cli: Cli, logged: dict[str, int]) -> None:
    cases = [
        (("offering", "close", "--yes"), 2, "one of them"),
        (("offering", "close", "--class", "2026J", "--ended-before", "2026-01-01"), 2, "one of"),
        (("offering", "close", "--class", "2099Z", "--yes"), 3, "unknown class"),
        (("offering", "close", "--ended-before", "2026-06-01", "--yes"), 1, "after today"),
        (("offering", "close", "--ended-before", "2020-06-01", "--yes"), 3, "no offering"),
    ]
    for args, code, words in cases:
        result = cli(*args)
        assert (result.exit_code, words in result.stderr) == (code, True), (args, result)
    cli.login("ana@uni.edu")
    refused = cli("offering", "close", "--class", "2026J", "--yes")
    assert refused.exit_code == 5
    cli.login("dean@uni.edu")
    assert set(statuses(cli).values()) == {"active"}


def test_close_the_offerings_that_ended_before_a_day(cli: Cli, logged: dict[str, int]) -> None:
    a, b = logged["A"], logged["B"]
    march = {"CMS_NOW": "2026-03-10T12:00:00+00:00"}
    cli.login("dean@uni.edu", env=march)  # the February session has ended (30 days)
    done = cli.ok("offering", "close", "--ended-before", "2026-03-01", "--yes", env=march)
    assert done.stdout.strip() == f"Closed 1 offering(s): {a}."  # A ended 02-27, B 03-06
    swept = cli.ok("notify", "sweep", "--json", env=march).json()
    offerings = {n["offering_id"] for n in cli.ok("notify", "list", "--json", env=march).json()}
    assert swept["reminders"] + swept["escalations"] > 0
    assert offerings == {b}


def test_the_sweep_lets_an_offering_go_after_its_end(cli: Cli, logged: dict[str, int]) -> None:
    """remind_days_after_end (14): the last weeks' reminders go out after the end; two
    weeks on, an offering nobody closed is left alone."""
    b = logged["B"]
    soon = {"CMS_NOW": "2026-03-15T12:00:00+00:00"}  # A ended 16 days ago, B 9 days ago
    cli.ok("notify", "sweep", env=soon)
    assert {n["offering_id"] for n in cli.ok("notify", "list", "--json").json()} == {b}
    late = {"CMS_NOW": "2026-04-30T12:00:00+00:00"}
    assert due(cli, late) == 0
    assert due(cli, {**late, "CMS_REMIND_DAYS_AFTER_END": "90"}) > 0


def test_deactivate_a_class_students_who_have_nothing_running(
    cli: Cli, logged: dict[str, int]
) -> None:
    running = create(cli, klass="2026K", cohort="Cohort B", start="2026-01-12", end="2026-05-01")
    cli.ok("offering", "enrol", str(running), "--student", "sue@uni.edu")
    early = cli.ok("user", "deactivate", "--class", "2026J", "--role", "student", "--dry-run")
    assert early.stdout.splitlines()[0] == (
        "0 student(s) of 2026J would be deactivated (dry run); 2 kept (enrolled in a running "
        "offering)."
    )
    cli.ok("offering", "close", "--class", "2026J", "--yes")
    dry = cli.ok("user", "deactivate", "--class", "2026J", "--dry-run")
    assert "1 student(s) of 2026J would be deactivated (dry run); 1 kept" in dry.stdout
    assert "  sam@uni.edu" in dry.stdout.splitlines()
    assert cli("user", "deactivate", "--class", "2026J").exit_code == 2  # no --yes, no TTY
    done = cli.ok("user", "deactivate", "--class", "2026J", "--role", "student", "--yes")
    assert done.stdout.splitlines() == [
        "1 student(s) of 2026J deactivated; 1 kept (enrolled in a running offering).",
        "  sam@uni.edu",  # whom, by name
    ]
    users = {u["email"]: u["is_active"] for u in cli.ok("user", "list", "--json").json()}
    assert (users["sam@uni.edu"], users["sue@uni.edu"]) == (False, True)
    gone = cli("auth", "login", "--email", "sam@uni.edu", "--password-stdin", input=PASSWORD + "\n")
    assert gone.exit_code == 4
    events = cli.ok("audit", "list", "--entity", "user", "--json").json()
    assert [e["entity_id"] for e in events if e["action"] == "deactivate"] == ["sam@uni.edu"]
    again = cli.ok("user", "deactivate", "--class", "2026J", "--yes")
    assert "1 inactive already" in again.stdout
    for args, code in (
        (("user", "deactivate", "--class", "2026J", "--role", "facilitator", "--yes"), 1),
        (("user", "deactivate", "--class", "2099Z", "--yes"), 3),
        (("user", "deactivate", "sam@uni.edu", "--class", "2026J", "--yes"), 2),
        (("user", "deactivate", "sam@uni.edu", "--dry-run"), 2),
    ):
        assert cli(*args).exit_code == code, args
    cli.login("ana@uni.edu")
    assert cli("user", "deactivate", "--class", "2026J", "--yes").exit_code == 5


def test_prune_lets_go_of_closed_history_only(
    cli: Cli, logged: dict[str, int], db_url: str
) -> None:
    """Only rows sent or failed, of closed offerings, created before the day; their
    inbox items go too; a sweep afterwards writes none of them again. (Not those of a
    cancelled offering: it may be reinstated, and swept again.)"""
    a, b = logged["A"], logged["B"]
    cli.ok("notify", "sweep")
    sql(db_url, "UPDATE notification SET status = 'sent' WHERE offering_id = :a", {"a": a})
    sql(db_url, "UPDATE notification SET status = 'sent' WHERE offering_id = :b", {"b": b})
    first_b = sql(db_url, "SELECT MIN(id) FROM notification WHERE offering_id = :b", {"b": b})
    sql(db_url, "UPDATE notification SET status = 'queued' WHERE id = :i", {"i": first_b})
    total = sql(db_url, "SELECT COUNT(*) FROM notification")
    of_a = sql(db_url, "SELECT COUNT(*) FROM notification WHERE offering_id = :a", {"a": a})
    sql(
        db_url,
        "INSERT INTO inbox_item (user_id, notification_id, subject, body, created_at) "
        "SELECT recipient_id, id, 's', 'b', created_at FROM notification",
    )
    cli.ok("offering", "close", "--class", "2026J", "--yes")  # A and B: closed
    later = {"CMS_NOW": "2026-02-10T12:00:00+00:00"}
    dry = cli.ok("notify", "prune", "--before", "2026-02-05", "--dry-run", "--json", env=later)
    assert dry.json() == {"deleted": 0, "prunable": total - 1, "dry_run": True}
    assert sql(db_url, "SELECT COUNT(*) FROM notification") == total
    assert cli("notify", "prune", "--before", "2026-02-05", env=later).exit_code == 2
    assert cli("notify", "prune", "--before", "2026-02-11", "--yes", env=later).exit_code == 1
    none = cli.ok("notify", "prune", "--before", "2026-01-01", "--yes", "--json", env=later)
    assert none.json()["deleted"] == 0
    done = cli.subprocess("notify", "prune", "--before", "2026-02-05", "--yes", env=later)
    assert done.exit_code == 0, done
    assert done.stdout.strip() == (
        f"Deleted {total - 1} notification(s) created before 2026-02-05, with their inbox items."
    )
    assert sql(db_url, "SELECT COUNT(*) FROM notification") == 1  # the one still queued
    assert sql(db_url, "SELECT COUNT(*) FROM inbox_item") == 1
    assert of_a >= 1
    events = cli.ok("audit", "list", "--entity", "notification", "--json").json()
    assert [e["after"] for e in events if e["action"] == "prune"] == [
        {"before": "2026-02-05", "deleted": total - 1}
    ]
    swept = cli.ok("notify", "sweep", "--json", env=later).json()
    assert (swept["reminders"], swept["escalations"]) == (0, 0)


def test_a_retention_setting_prunes_at_each_sweep(
    cli: Cli, logged: dict[str, int], db_url: str
) -> None:
    b = logged["B"]
    cli.ok("notify", "sweep")
    sql(db_url, "UPDATE notification SET status = 'sent'")
    cli.ok("offering", "close", "--class", "2026J", "--yes")
    kept = {"CMS_NOW": "2026-02-03T12:00:00+00:00", "CMS_OUTBOX_RETENTION_DAYS": "7"}
    cli.ok("notify", "sweep", env=kept)
    assert sql(db_url, "SELECT COUNT(*) FROM notification") > 0  # not 7 days old yet
    gone = {"CMS_NOW": "2026-02-12T12:00:00+00:00", "CMS_OUTBOX_RETENTION_DAYS": "7"}
    cli.ok("notify", "sweep", env=gone)
    assert sql(db_url, "SELECT COUNT(*) FROM notification WHERE offering_id = :b", {"b": b}) == 0


def test_prune_keeps_a_cancelled_offerings_history(
    cli: Cli, logged: dict[str, int], db_url: str
) -> None:
    """A cancelled offering may be reinstated and swept again: its history stays, so
    nothing already sent goes out twice."""
    a = logged["A"]
    cli.ok("notify", "sweep")
    sql(db_url, "UPDATE notification SET status = 'sent'")
    before = sql(db_url, "SELECT COUNT(*) FROM notification WHERE offering_id = :a", {"a": a})
    cli.ok("offering", "cancel", str(a), "--yes")
    later = {"CMS_NOW": "2026-02-10T12:00:00+00:00"}
    done = cli.ok("notify", "prune", "--before", "2026-02-05", "--yes", "--json", env=later)
    assert done.json()["deleted"] == 0
    cli.ok("offering", "update", str(a), "--status", "active")
    swept = cli.ok("notify", "sweep", "--json").json()
    assert (swept["reminders"], swept["escalations"]) == (0, 0)
    after = sql(db_url, "SELECT COUNT(*) FROM notification WHERE offering_id = :a", {"a": a})
    assert after == before
