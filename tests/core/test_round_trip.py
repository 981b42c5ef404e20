"""Exports that imports accept: `offering list --csv`, `user list --csv` and `tracker
list --csv` are read back by their imports as they are (the export's read-only columns
ignored with a note, never refused), so export -> edit -> import works."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import Cli


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_export_header_is_one_its_import_reads() -> None:
    """The whole class: each column an export writes is read, or knowingly ignored."""
    from cms_cli.auth.public import IMPORT_COLUMNS as USERS
    from cms_cli.auth.public import UserPublic
    from cms_cli.core.output import columns
    from cms_cli.offerings.public import IMPORT_COLUMNS as OFFERINGS
    from cms_cli.offerings.public import OfferingPublic
    from cms_cli.tracker.public import IMPORT_COLUMNS as LOGS
    from cms_cli.tracker.public import LogPublic

    for model, (required, optional, ignored, aliases) in (
        (OfferingPublic, OFFERINGS),
        (UserPublic, USERS),
        (LogPublic, LOGS),
    ):
        header = [aliases.get(c, c) for c in columns(model)]
        assert set(header) <= {*required, *optional, *ignored}, model.__name__
        assert set(required) <= set(header), model.__name__


def test_offerings_export_edit_import(cli: Cli, offerings: dict[str, int], tmp_path: Path) -> None:
    exported = rows_of(cli.ok("offering", "list", "--csv").stdout)
    assert len(exported) == 2
    for row in exported:  # next term: another class, the same everything else
        row["class"] = "2026K"
    file = write(tmp_path / "next.csv", exported)
    dry = cli.ok("offering", "import", str(file), "--dry-run")
    assert "2 offering(s) would be created" in dry.stdout
    assert dry.stderr.startswith("note: column(s) id, module_name, ")
    cli.ok("offering", "import", str(file))
    listed = cli.ok("offering", "list", "--class", "2026K", "--json").json()
    assert sorted(o["module"] for o in listed) == ["CS101", "MA201"]
    assert {o["facilitator"] for o in listed} == {"ana@uni.edu", "ben@uni.edu"}
    # A column nobody knows is still refused (a typo is not an export column).
    exported[0]["clas"] = "x"
    typo = cli("offering", "import", str(write(tmp_path / "typo.csv", exported)))
    assert typo.exit_code == 1
    assert "unknown column(s) clas" in typo.stderr


def test_users_export_edit_import(cli: Cli, people: dict[str, str], tmp_path: Path) -> None:
    exported = [
        r for r in rows_of(cli.ok("user", "list", "--csv").stdout) if r["role"] == "student"
    ]
    for n, row in enumerate(exported):
        row["email"] = f"copy{n}@uni.edu"
        row["student_id"] = f"C{n}"
    done = cli.ok("user", "import", str(write(tmp_path / "users.csv", exported)), "--json")
    assert done.json() == {"created": 2, "checked": 2, "dry_run": False}
    assert "is_active, created_at ignored" in done.stderr
    emails = {u["email"] for u in cli.ok("user", "list", "--json").json()}
    assert {"copy0@uni.edu", "copy1@uni.edu"} <= emails


def test_logs_export_edit_import(cli: Cli, logged: dict[str, int], tmp_path: Path) -> None:
    exported = rows_of(cli.ok("tracker", "list", "--csv").stdout)
    assert exported
    for row in exported:
        row["notes"] = "checked at the term meeting"
    done = cli.ok("tracker", "import", str(write(tmp_path / "logs.csv", exported)), "--json")
    assert done.json()["updated"] == len(exported)
    assert "attendance" in done.stderr  # ignored, and said so
    after = rows_of(cli.ok("tracker", "list", "--csv").stdout)
    assert {r["notes"] for r in after} == {"checked at the term meeting"}
    # What the import could not write back is what it was.
    keep = ("attendance", "formative_one_grading", "complete")
    assert [{k: r[k] for k in keep} for r in after] == [{k: r[k] for k in keep} for r in exported]
