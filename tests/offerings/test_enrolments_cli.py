"""cms offering enrol / unenrol / students: capacity, all or none, concurrency."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli, RunResult, create


def students(cli: Cli, offering_id: int) -> list[str]:
    return [r["email"] for r in cli.ok("offering", "students", str(offering_id), "--json").json()]


def test_enrol_and_unenrol(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, "--max-students", "2", "--facilitator", "ana@uni.edu")
    done = cli.ok(
        "offering",
        "enrol",
        str(offering_id),
        "--student",
        "SAM@uni.edu",
        "--student",
        "sue@uni.edu",
    )
    assert "Enrolled 2 student(s) in offering" in done.stdout
    assert "(2/2)" in done.stdout
    rows = cli.ok("offering", "students", str(offering_id), "--json").json()
    assert [list(r) for r in rows] == [["email", "name", "student_id", "enrolled_at"]] * 2
    assert [(r["email"], r["student_id"]) for r in rows] == [
        ("sam@uni.edu", "S1"),
        ("sue@uni.edu", "S2"),
    ]
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["enrolled"] == 2
    again = cli.ok("offering", "enrol", str(offering_id), "--student", "sam@uni.edu")
    assert "Enrolled 0 student(s)" in again.stdout
    assert "1 already enrolled" in again.stdout
    cli.ok("offering", "unenrol", str(offering_id), "--student", "sam@uni.edu")
    assert students(cli, offering_id) == ["sue@uni.edu"]
    missing = cli("offering", "unenrol", str(offering_id), "--student", "sam@uni.edu")
    assert missing.exit_code == 3
    assert "not enrolled" in missing.stderr
    actions = [
        e["action"] for e in cli.ok("audit", "list", "--entity", "enrolment", "--json").json()[::-1]
    ]
    assert actions == ["enrol", "unenrol"]


def test_capacity_is_all_or_nothing(cli: Cli, term: dict[str, str]) -> None:
    cli.add_user("stu3@uni.edu", "student")
    offering_id = create(cli, "--max-students", "2")
    cli.ok("offering", "enrol", str(offering_id), "--student", "sam@uni.edu")
    full = cli(
        "offering",
        "enrol",
        str(offering_id),
        "--student",
        "sue@uni.edu",
        "--student",
        "stu3@uni.edu",
    )
    assert full.exit_code == 6
    assert "1 of 2 places left" in full.stderr
    assert students(cli, offering_id) == ["sam@uni.edu"]


def test_enrol_rejects_bad_people(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli)

    def enrol(*emails: str) -> RunResult:
        return cli("offering", "enrol", str(offering_id), *(f"--student={e}" for e in emails))

    unknown = enrol("sam@uni.edu", "ghost@uni.edu")
    assert unknown.exit_code == 3
    assert "ghost@uni.edu" in unknown.stderr
    staff = enrol("sam@uni.edu", "ana@uni.edu")
    assert staff.exit_code == 1
    assert "only students can be enrolled" in staff.stderr
    assert students(cli, offering_id) == []
    assert cli("offering", "enrol", "999", "--student", "sam@uni.edu").exit_code == 3
    assert cli("offering", "enrol", str(offering_id)).exit_code == 2
    cli.ok("offering", "cancel", str(offering_id), "--yes")
    assert cli("offering", "enrol", str(offering_id), "--student", "sam@uni.edu").exit_code == 1


def test_enrol_from_a_file(cli: Cli, term: dict[str, str], tmp_path: Path) -> None:
    offering_id = create(cli)
    file = tmp_path / "students.csv"
    file.write_text("email,name\nsam@uni.edu,Sam\nsue@uni.edu,Sue\n")
    cli.ok("offering", "enrol", str(offering_id), "--file", str(file))
    assert students(cli, offering_id) == ["sam@uni.edu", "sue@uni.edu"]
    bad = tmp_path / "bad.csv"
    bad.write_text("mail\nsam@uni.edu\n")
    result = cli("offering", "enrol", str(offering_id), "--file", str(bad))
    assert result.exit_code == 1
    assert "missing column(s) email" in result.stderr
    both = cli(
        "offering", "enrol", str(offering_id), "--file", str(file), "--student", "sam@uni.edu"
    )
    assert both.exit_code == 2


def test_who_may_list_students(cli: Cli, term: dict[str, str]) -> None:
    offering_id = create(cli, "--facilitator", "ana@uni.edu")
    cli.ok("offering", "enrol", str(offering_id), "--student", "sam@uni.edu")
    cli.login("ana@uni.edu")
    assert students(cli, offering_id) == ["sam@uni.edu"]
    cli.login("ben@uni.edu")
    assert cli("offering", "students", str(offering_id)).exit_code == 5
    cli.login("sam@uni.edu")
    assert cli("offering", "students", str(offering_id)).exit_code == 5


def test_concurrent_enrolments_never_overfill(cli: Cli, term: dict[str, str]) -> None:
    """Eight processes each enrol a different student into 3 places at the same moment."""
    emails = [f"race{i}@uni.edu" for i in range(8)]
    for email in emails:
        cli.add_user(email, "student")
    offering_id = create(cli, "--max-students", "3")
    procs = [
        cli.spawn("offering", "enrol", str(offering_id), "--student", email) for email in emails
    ]
    codes = [p.wait(timeout=120) for p in procs]
    for proc in procs:
        assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    enrolled = students(cli, offering_id)
    assert len(enrolled) == 3
    assert sorted(codes) == [0, 0, 0, 6, 6, 6, 6, 6]
    assert cli.ok("offering", "show", str(offering_id), "--json").json()["enrolled"] == 3
