"""cms audit list: every account write leaves an event, managers read them."""

from __future__ import annotations

from typing import Any

from conftest import Cli

FIELDS = ["at", "actor", "action", "entity", "entity_id", "before", "after"]


def test_writes_are_audited_with_before_and_after(cli: Cli, people: dict[str, str]) -> None:
    cli.ok("user", "deactivate", "ben@uni.edu", "--yes")
    events = cli.ok("audit", "list", "--json").json()
    assert list(events[0]) == FIELDS
    actions = [(e["actor"], e["action"], e["entity"], e["entity_id"]) for e in events]
    # Newest first: today's change at the top, the bootstrap at the bottom.
    assert actions[0] == ("dean@uni.edu", "deactivate", "user", "ben@uni.edu")
    assert actions[-1] == ("system", "bootstrap", "user", "dean@uni.edu")
    assert ("dean@uni.edu", "login", "session", "1") in actions
    assert ("dean@uni.edu", "create", "user", "ana@uni.edu") in actions
    deactivation = next(e for e in events if e["action"] == "deactivate")
    assert deactivation["before"]["is_active"] is True
    assert deactivation["after"]["is_active"] is False
    assert all("password" not in str(e) for e in events)
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True)


def test_one_objects_history(cli: Cli, people: dict[str, str]) -> None:
    cli.ok("user", "deactivate", "ben@uni.edu", "--yes")
    cli.ok("user", "activate", "ben@uni.edu")
    ben = cli.ok("audit", "list", "--entity", "user", "--id", "BEN@uni.edu", "--json").json()
    assert [e["action"] for e in ben] == ["activate", "deactivate", "create"]
    assert {e["entity_id"] for e in ben} == {"ben@uni.edu"}
    alone = cli("audit", "list", "--id", "ben@uni.edu")
    assert alone.exit_code == 2
    assert "--id goes with --entity" in alone.stderr


def test_filters(cli: Cli, people: dict[str, str]) -> None:
    users = cli.ok("audit", "list", "--entity", "user", "--json").json()
    assert users
    assert {e["entity"] for e in users} == {"user"}
    system = cli.ok("audit", "list", "--actor", "system", "--json").json()
    assert [e["action"] for e in system] == ["bootstrap"]
    assert cli.ok("audit", "list", "--since", "2999-01-01", "--json").json() == []
    assert len(cli.ok("audit", "list", "--since", "2000-01-01", "--json").json()) == len(
        cli.ok("audit", "list", "--json").json()
    )
    csv_lines = cli.ok("audit", "list", "--csv", "--entity", "session").stdout.splitlines()
    assert csv_lines[0] == ",".join(FIELDS)


def test_bad_filters(cli: Cli, manager: str) -> None:
    bad = cli("audit", "list", "--entity", "shoe")
    assert bad.exit_code == 1
    assert "unknown entity" in bad.stderr
    since = cli("audit", "list", "--since", "yesterday")
    assert since.exit_code == 1
    assert since.stderr == "error: --since: expected YYYY-MM-DD, got yesterday\n"


def test_lockout_and_failed_logins_are_audited(cli: Cli, people: dict[str, str]) -> None:
    for _ in range(5):
        cli("auth", "login", "--email", "sam@uni.edu", "--password-stdin", input="wrong-pass\n")
    locks = [e for e in cli.ok("audit", "list", "--json").json() if e["action"] == "lock"]
    assert [(e["actor"], e["entity_id"]) for e in locks] == [("system", "sam@uni.edu")]


def test_only_managers_read_the_audit(cli: Cli, people: dict[str, str]) -> None:
    cli.login("ana@uni.edu")
    assert cli("audit", "list").exit_code == 5


def test_the_table_shows_what_changed(cli: Cli, people: dict[str, str]) -> None:
    cli.ok("user", "deactivate", "ben@uni.edu", "--yes")
    table = cli.ok("audit", "list", "--entity", "user", env={"COLUMNS": "250"}).stdout
    assert "is_active: true → false" in table


def test_with_change_summarises_updates_and_creations() -> None:
    from cms_cli.audit.public import with_change

    update = with_change({"before": {"a": 1, "b": True}, "after": {"a": 2, "b": True}})
    assert update["change"] == "a: 1 → 2"
    create = with_change({"before": None, "after": {"name": "X", "id": None, "created_at": "t"}})
    assert create["change"] == "name=X"


def test_the_service_returns_public_models_in_the_contracts_order(
    cli: Cli, people: dict[str, str], session: Any
) -> None:
    """The model ladder: the service returns AuditEventPublic; the JSON is that model,
    field for field, and the model's fields are the contract's (FIELDS above)."""
    from zoneinfo import ZoneInfo

    from cms_cli.audit import service
    from cms_cli.audit.models import AuditEventPublic
    from cms_cli.auth.service import get_user

    events = service.list_events(session, get_user(session, "dean@uni.edu"), tz=ZoneInfo("UTC"))
    session.rollback()  # the embedded database's write lock, for the CLI below
    assert events
    assert all(type(e) is AuditEventPublic for e in events)
    assert list(AuditEventPublic.model_fields) == FIELDS
    shown = cli.ok("audit", "list", "--json").json()
    assert [list(e) for e in shown] == [FIELDS] * len(shown)
    assert [AuditEventPublic.model_validate(e) for e in shown] == events  # the same events
