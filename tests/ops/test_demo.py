"""cms demo: a whole term, swept and delivered, on the embedded database (or --here)."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli


def test_demo_on_the_embedded_database(cli: Cli, tmp_path: Path) -> None:
    env = {"CMS_HOME": str(tmp_path / "demo"), "CMS_DATABASE_URL": None}
    result = cli("demo", env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result
    out = result.stdout
    assert "2 managers, 8 facilitators, 120 students; 24 offerings" in out
    assert "Weekly activity compliance" in out
    assert "Notifications sent" in out
    flat = " ".join(out.split())
    assert "all delivered to the in-app inboxes only (no CMS_SMTP_URL: e-mail is off)" in flat
    assert "registrar@uni.example" in out
    assert "demo-facilitator-pw" in out
    assert "Try next:" in out
    assert (tmp_path / "demo" / "cms.db").exists()
    # Logged in as the registrar: the next commands work at once.
    status = cli.ok("auth", "status", "--json", env=env).json()  # type: ignore[arg-type]
    assert (status["email"], status["role"]) == ("registrar@uni.example", "manager")
    users = cli.ok("user", "list", "--json", env=env).json()  # type: ignore[arg-type]
    roles = [u["role"] for u in users]
    assert (roles.count("manager"), roles.count("facilitator"), roles.count("student")) == (
        2,
        8,
        120,
    )
    offerings = cli.ok("offering", "list", "--all", "--json", env=env).json()  # type: ignore[arg-type]
    assert len(offerings) == 24
    assert {o["status"] for o in offerings} == {"completed", "active", "planned"}
    assert {o["mode"] for o in offerings} == {"online", "in-person", "hybrid"}
    assert {o["intake"] for o in offerings} == {"FT", "HT1", "HT2"}
    assert any(o["facilitator"] is None for o in offerings)
    assert all(o["enrolled"] >= 14 for o in offerings)
    report = cli.ok("tracker", "report", "--json", env=env).json()  # type: ignore[arg-type]
    assert report["expected"] > report["complete"] > 0  # realistic gaps
    assert report["overdue"] == report["expected"] - report["complete"]
    notes = cli.ok("notify", "list", "--json", env=env).json()  # type: ignore[arg-type]
    assert notes
    assert {n["status"] for n in notes} == {"sent"}
    assert {n["kind"] for n in notes} == {"reminder", "escalation", "attendance"}
    at_risk = cli.ok("tracker", "attendance", "--below", "75", "--json", env=env).json()  # type: ignore[arg-type]
    assert at_risk  # the demo term has students at risk
    rates = cli.ok("reflection", "summary", "--json", env=env).json()  # type: ignore[arg-type]
    done = {o["id"] for o in offerings if o["status"] == "completed"}
    assert {r["offering_id"] for r in rates if r["submitted"]} == done  # collected at the end
    assert all(40 <= r["rate"] <= 91 for r in rates if r["offering_id"] in done)
    # A second run says so and changes nothing.
    again = cli("demo", env=env)  # type: ignore[arg-type]
    assert again.exit_code == 0
    assert "already here" in again.stdout
    assert len(cli.ok("notify", "list", "--json", env=env).json()) == len(notes)  # type: ignore[arg-type]


def test_demo_is_deterministic(cli: Cli, tmp_path: Path) -> None:
    reports = []
    for name in ("one", "two"):
        env = {
            "CMS_HOME": str(tmp_path / name),
            "CMS_DATABASE_URL": None,
            "CMS_NOW": "2026-10-14T10:00:00+00:00",
        }
        cli.ok("demo", env=env)  # type: ignore[arg-type]
        reports.append(cli.ok("tracker", "report", "--json", env=env).json())  # type: ignore[arg-type]
        reports.append(cli.ok("reflection", "summary", "--json", env=env).json())  # type: ignore[arg-type]
    assert reports[0] == reports[2]
    assert reports[1] == reports[3]


def test_reset(cli: Cli, tmp_path: Path) -> None:
    env = {"CMS_HOME": str(tmp_path / "demo"), "CMS_DATABASE_URL": None}
    cli.ok("demo", env=env)  # type: ignore[arg-type]
    refused = cli("demo", "--reset", env=env)  # type: ignore[arg-type]
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    rebuilt = cli("demo", "--reset", "--yes", env=env)  # type: ignore[arg-type]
    assert rebuilt.exit_code == 0, rebuilt
    assert "Demo term built" in rebuilt.stdout


def test_never_silently_into_a_configured_database(cli: Cli, manager: str) -> None:
    refused = cli("demo")
    assert refused.exit_code == 1
    assert "the demo stays out of it" in refused.stderr
    # --here into a database that already has accounts is refused too.
    busy = cli("demo", "--here")
    assert busy.exit_code == 1
    assert "already has accounts" in busy.stderr


def test_demo_here_on_a_configured_database(cli: Cli) -> None:
    result = cli("demo", "--here")
    assert result.exit_code == 0, result
    assert len(cli.ok("offering", "list", "--all", "--json").json()) == 24


def test_demo_here_delivers_through_the_configured_smtp(
    cli: Cli, db_url: str, smtp: object
) -> None:
    url = smtp.url  # type: ignore[attr-defined]
    result = cli("demo", "--here", env={"CMS_SMTP_URL": url})
    assert result.exit_code == 0, result
    assert "all delivered by e-mail through smtp://" in " ".join(result.stdout.split())
    messages = smtp.messages  # type: ignore[attr-defined]
    notes = cli.ok("notify", "list", "--json", env={"CMS_SMTP_URL": url}).json()
    assert len(messages) == len(notes) > 0
    assert all(m["Auto-Submitted"] == "auto-generated" for m in messages)


def test_the_embedded_demo_never_mails_through_a_relay_in_the_environment(
    cli: Cli, tmp_path: Path, smtp: object
) -> None:
    env = {"CMS_HOME": str(tmp_path / "demo"), "CMS_DATABASE_URL": None,
           "CMS_SMTP_URL": smtp.url}  # type: ignore[attr-defined]  # fmt: skip
    result = cli("demo", env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result
    assert "inboxes only (e-mail is sent with --here only)" in " ".join(result.stdout.split())
    assert smtp.messages == []  # type: ignore[attr-defined]
