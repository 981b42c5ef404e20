"""The account services called directly, as other capabilities will call them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Cli
from sqlmodel import select

from cms_cli.audit.models import AuditEvent
from cms_cli.auth import service
from cms_cli.auth.models import Role, User
from cms_cli.core.errors import Conflict, FileProblems, NotAuthenticated, PermissionDenied


def user(session: Any, email: str) -> User:
    found = session.exec(select(User).where(User.email == email)).one()
    assert isinstance(found, User)
    return found


def test_require(cli: Cli, people: dict[str, str], session: Any) -> None:
    ana = user(session, "ana@uni.edu")
    service.require(ana, Role.facilitator, Role.manager)
    with pytest.raises(PermissionDenied, match="manager role"):
        service.require(ana, Role.manager)


def test_import_users_is_all_or_nothing(cli: Cli, people: dict[str, str], session: Any) -> None:
    dean = user(session, "dean@uni.edu")
    rows = [
        (2, {"email": "n1@uni.edu", "name": "N1", "role": "student", "student_id": "S77"}),
        (3, {"email": "n2@uni.edu", "name": "N2", "role": "student", "student_id": "S77"}),
    ]
    with pytest.raises(FileProblems) as caught:
        service.import_users(session, dean, rows, rounds=4)
    assert caught.value.problems == ["line 3: student id S77 also on line 2"]
    report = service.import_users(session, dean, rows[:1], dry_run=True, rounds=4)
    assert (report.created, report.checked, report.dry_run) == (0, 1, True)
    assert session.exec(select(User).where(User.email == "n1@uni.edu")).first() is None
    service.import_users(session, dean, rows[:1], rounds=4)
    session.commit()
    assert user(session, "n1@uni.edu").password_hash is None
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).all()
    assert [e.after for e in events] == [{"created": 1}]


def test_add_user_conflict_names_the_field(cli: Cli, people: dict[str, str], session: Any) -> None:
    dean = user(session, "dean@uni.edu")
    data = service.NewUser(email="fresh@uni.edu", name="F", role=Role.facilitator, employee_id="E2")
    with pytest.raises(Conflict, match="employee id E2"):
        service.add_user(session, dean, data, None, rounds=4)


def test_authenticate_rejects_unknown_tokens(cli: Cli, manager: str, session: Any) -> None:
    with pytest.raises(NotAuthenticated):
        service.authenticate(session, "not-a-token")
    token = (cli.home / "token-default").read_text().strip()
    found, row = service.authenticate(session, token)
    assert found.email == manager
    assert row.revoked_at is None
