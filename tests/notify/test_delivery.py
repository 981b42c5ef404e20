"""Delivering notifications: e-mail to a real SMTP sink, the in-app inbox, failures,
retries and `cms notify retry`. Deliveries run in-process here (the worker tests run
the real consumer)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import Cli, set_name

from cms_cli.notify import delivery


def swept(cli: Cli) -> list[dict[str, Any]]:
    cli.ok("notify", "sweep")
    rows: list[dict[str, Any]] = cli.ok("notify", "list", "--json").json()
    return rows


def test_delivery_by_email_and_inbox(cli: Cli, logged: dict[str, int], smtp: Any) -> None:
    rows = swept(cli)
    config = cli.config(
        CMS_SMTP_URL=smtp.url, CMS_MAIL_FROM="registry@uni.edu", CMS_TIMEZONE="Europe/Paris"
    )
    for row in rows:
        assert delivery.deliver(row["id"], config) == "sent"
    assert len(smtp.messages) == 6
    reminder = next(
        m
        for m in smtp.messages
        if m["To"].addresses[0].addr_spec == "ana@uni.edu" and "week 3" in m["Subject"]
    )
    assert reminder["From"] == "registry@uni.edu"
    a, b = logged["A"], logged["B"]
    assert reminder["Subject"] == f"CS101 week 3: your weekly log is overdue (offering {a})"
    text = reminder.get_body(("plain",)).get_content()
    assert "week 3 (2026-01-19 to 2026-01-25)" in text
    # The deadline as the reader reads it, in the institution's time zone: the week ends
    # Sun 25 Jan; midnight after it in Paris, plus 48 h of grace, is the end of Tue 27.
    assert "It was due by the end of Tue 27 Jan 2026 (CET)." in text
    assert "grace" not in text
    assert f"cms tracker log --offering {logged['A']} --week 3" in text
    assert "has not been logged" in text
    assert reminder.get_body(("html",)) is not None
    escalation = next(m for m in smtp.messages if m["To"].addresses[0].addr_spec == "dean@uni.edu")
    # Which offering, which week, and who is behind, in the subject itself.
    assert escalation["Subject"] in {
        f"CS101 week 2: log still incomplete (Ana Lopez, offering {a})",
        f"CS101 week 3: log still not logged (Ana Lopez, offering {a})",
        f"MA201 week 2: log still not logged (Ben Ode, offering {b})",
    }
    statuses = {r["status"] for r in cli.ok("notify", "list", "--json").json()}
    assert statuses == {"sent"}
    # The inbox has them too.
    cli.login("ana@uni.edu")
    inbox = cli.ok("inbox", "--json").json()
    assert len(inbox) == 2
    assert list(inbox[0]) == ["id", "subject", "body", "created_at", "read_at"]


def test_a_sent_notification_is_never_sent_again(
    cli: Cli, logged: dict[str, int], smtp: Any
) -> None:
    rows = swept(cli)
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert delivery.deliver(rows[0]["id"], config) == "sent"
    assert delivery.deliver(rows[0]["id"], config) == "skipped"
    assert len(smtp.messages) == 1


def test_one_smtp_connection_serves_many_messages_and_survives_a_server_restart(
    cli: Cli, logged: dict[str, int], smtp: Any
) -> None:
    rows = swept(cli)
    config = cli.config(CMS_SMTP_URL=smtp.url)
    try:
        for row in rows[:3]:
            assert delivery.deliver(row["id"], config) == "sent"
        assert len(smtp.messages) == 3
        assert smtp.greetings == 1  # one connection, reused
        # The server goes away and comes back: the kept connection is dead. The next
        # message notices, connects again once, and is delivered on the first attempt.
        smtp.restart()
        assert delivery.deliver(rows[3]["id"], config) == "sent"
        assert len(smtp.messages) == 4
        assert smtp.greetings == 2
        listed = {r["id"]: r for r in cli.ok("notify", "list", "--json").json()}
        assert listed[rows[3]["id"]]["attempts"] == 1
        assert listed[rows[3]["id"]]["last_error"] is None
    finally:
        delivery.close_connections()
    assert delivery._held == {}
    # A connection idle for too long is not trusted: a new one is opened.
    assert delivery.deliver(rows[4]["id"], config) == "sent"
    held = delivery._held[threading.get_ident()]
    held.used_at -= delivery.REUSE_IDLE_SECONDS
    assert delivery.deliver(rows[5]["id"], config) == "sent"
    assert smtp.greetings == 4
    delivery.close_connections()


def test_without_smtp_the_inbox_alone(cli: Cli, logged: dict[str, int]) -> None:
    rows = swept(cli)
    config = cli.config()
    assert all(delivery.deliver(r["id"], config) == "sent" for r in rows)
    cli.login("ana@uni.edu")
    assert len(cli.ok("inbox", "--json").json()) == 2


def test_smtp_down_retries_then_fails_then_retry_delivers(
    cli: Cli, logged: dict[str, int], smtp: Any
) -> None:
    rows = swept(cli)
    target = rows[0]["id"]
    smtp.fail = True
    config = cli.config(CMS_SMTP_URL=smtp.url, CMS_DELIVERY_ATTEMPTS="3", CMS_RETRY_SECONDS="30")
    for attempt in (1, 2):
        with pytest.raises(delivery.TryAgain) as again:
            delivery.deliver(target, config)
        assert again.value.delay == 30 * 2 ** (attempt - 1)  # the worker's backoff
        assert "451" in str(again.value.__cause__)
        row = next(r for r in cli.ok("notify", "list", "--json").json() if r["id"] == target)
        assert (row["status"], row["attempts"]) == ("queued", attempt)
        assert "451" in row["last_error"]
    assert delivery.deliver(target, config) == "failed"
    row = next(r for r in cli.ok("notify", "list", "--status", "failed", "--json").json())
    assert (row["id"], row["attempts"]) == (target, 3)
    assert smtp.messages == []
    smtp.fail = False
    again = cli.ok("notify", "retry", str(target))
    assert "1 notification(s) queued again" in again.stdout
    assert delivery.deliver(target, config) == "sent"
    assert len(smtp.messages) == 1
    events = cli.ok("audit", "list", "--entity", "notification", "--json").json()[::-1]
    assert [e["action"] for e in events] == ["sweep", "retry"]
    assert (events[0]["actor"], events[0]["after"]) == (
        "system",
        {"reminders": 3, "escalations": 3, "attendance": 0, "requeued": 0},
    )


def test_smtp_unreachable_is_an_error_to_retry(cli: Cli, logged: dict[str, int]) -> None:
    from servers import free_port

    rows = swept(cli)
    config = cli.config(CMS_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(delivery.TryAgain) as again:
        delivery.deliver(rows[0]["id"], config)
    assert isinstance(again.value.__cause__, ConnectionRefusedError)
    row = cli.ok("notify", "list", "--json").json()[0]
    assert row["status"] == "queued"
    assert row["attempts"] == 1


def test_retry_rules(cli: Cli, logged: dict[str, int]) -> None:
    rows = swept(cli)
    assert cli("notify", "retry").exit_code == 2
    assert cli("notify", "retry", "999").exit_code == 3
    config = cli.config()
    delivery.deliver(rows[0]["id"], config)
    sent = cli("notify", "retry", str(rows[0]["id"]))
    assert sent.exit_code == 1
    assert "already sent" in sent.stderr
    assert "0 notification(s)" in cli.ok("notify", "retry", "--all-failed").stdout


def test_inbox_read(cli: Cli, logged: dict[str, int]) -> None:
    rows = swept(cli)
    config = cli.config()
    for row in rows:
        delivery.deliver(row["id"], config)
    cli.login("ana@uni.edu")
    items = cli.ok("inbox", "--json").json()
    cli.ok("inbox", "read", str(items[0]["id"]))
    assert len(cli.ok("inbox", "--json").json()) == 1
    assert len(cli.ok("inbox", "--all", "--json").json()) == 2
    assert cli("inbox", "read", "99999").exit_code == 3
    assert "1 notification(s) marked read" in cli.ok("inbox", "read", "--all").stdout
    assert cli.ok("inbox", "--json").json() == []
    assert "no unread" in cli.ok("inbox").stderr
    cli.login("ben@uni.edu")
    assert cli("inbox", "read", str(items[0]["id"])).exit_code == 3  # not his
    assert cli("inbox", "read").exit_code == 2


def test_inbox_show_prints_one_item_and_marks_it_read(cli: Cli, logged: dict[str, int]) -> None:
    rows = swept(cli)
    config = cli.config()
    for row in rows:
        delivery.deliver(row["id"], config)
    cli.login("ana@uni.edu")
    first = cli.ok("inbox", "--json").json()[0]
    shown = cli.ok("inbox", "show", str(first["id"]), "--json").json()
    assert list(shown) == ["id", "subject", "body", "created_at", "read_at"]
    assert shown["body"] == first["body"]
    assert shown["read_at"] is not None
    assert len(cli.ok("inbox", "--json").json()) == 1  # it is read now
    human = cli.ok("inbox", "show", str(first["id"]), env={"COLUMNS": "200"}).stdout
    assert "Log it with:" in human
    cli.login("ben@uni.edu")
    other = cli("inbox", "show", str(first["id"]))
    assert other.exit_code == 3  # someone else's: not found, never shown
    assert cli("inbox", "show", "99999").exit_code == 3


HOSTILE_NAMES = [
    "Ana, Spy <spy@evil.example>, X",
    'Ana "Spy" <spy@evil.example>',
    "spy@evil.example",
    "Ana; Bcc: spy@evil.example",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_display_name_never_adds_a_recipient(
    cli: Cli, logged: dict[str, int], smtp: Any, name: str, db_url: str
) -> None:
    """The To: header is built by the email package and the envelope names only the
    account's address: whatever the name holds, one message reaches one person."""
    set_name(db_url, "ana@uni.edu", name)
    rows = [r for r in swept(cli) if r["recipient"] == "ana@uni.edu"]
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert delivery.deliver(rows[0]["id"], config) == "sent"
    assert smtp.recipients == [["ana@uni.edu"]]
    to = smtp.messages[0]["To"]
    assert [a.addr_spec for a in to.addresses] == ["ana@uni.edu"]
    assert to.addresses[0].display_name == name


@pytest.mark.parametrize("name", ["Ana\r\nBcc: spy@evil.example", "Ana\x1b[2J", "Ana\nLopez"])
def test_a_stored_name_with_control_characters_still_gets_its_mail(
    cli: Cli, logged: dict[str, int], smtp: Any, name: str, db_url: str
) -> None:
    """Names stored before input was checked (or written by another tool) neither break
    delivery nor reach a header or a body raw."""
    set_name(db_url, "ana@uni.edu", name)
    rows = [r for r in swept(cli) if r["recipient"] == "ana@uni.edu"]
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert delivery.deliver(rows[0]["id"], config) == "sent"
    assert smtp.recipients == [["ana@uni.edu"]]
    message = smtp.messages[0]
    assert "Bcc" not in message
    assert [a.addr_spec for a in message["To"].addresses] == ["ana@uni.edu"]
    body = message.get_body(("plain",)).get_content()
    assert "\x1b" not in body
    assert "\r\nBcc" not in body


def test_mail_is_mail_and_says_what_is_missing(cli: Cli, logged: dict[str, int], smtp: Any) -> None:
    """Date, Message-ID in the sender's domain, Auto-Submitted (RFC 3834), a text and an
    HTML part; an incomplete week says what is still to do, in the subject too."""
    from email.utils import parsedate_to_datetime

    rows = swept(cli)
    config = cli.config(CMS_SMTP_URL=smtp.url, CMS_MAIL_FROM="Registry <registry@uni.edu>")
    week2 = next(r for r in rows if r["kind"] == "reminder" and r["week"] == 2
                 and r["offering_id"] == logged["A"])  # fmt: skip
    assert delivery.deliver(week2["id"], config) == "sent"
    message = smtp.messages[0]
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<")
    assert message["Message-ID"].endswith("@uni.edu>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == (
        f"CS101 week 2: your weekly log is incomplete (offering {logged['A']})"
    )
    text = message.get_body(("plain",)).get_content()
    # week 2 of A: formative one done, the rest not started, no attendance: 1 of 7
    assert (
        "is incomplete (14%: still to do: formative two grading, summative grading, course "
        "moderation, intranet sync, grade book, attendance)." in text
    )
    assert "not been logged" not in text
    html = message.get_body(("html",)).get_content()
    assert "still to do" in html


@pytest.mark.parametrize(
    ("reply", "final"),
    [("550 5.1.1 mailbox unavailable", True), ("451 4.2.1 mailbox busy", False)],
)
def test_a_refusing_mailbox_has_its_inbox_item_and_a_5xx_fails_at_once(
    cli: Cli, logged: dict[str, int], smtp: Any, reply: str, final: bool
) -> None:
    """The inbox item is written with the claim, whatever becomes of the e-mail; a
    mailbox that refuses for good (5xx) fails that notification at its first attempt,
    one that says "later" (4xx) is tried again on the worker's backoff."""
    rows = swept(cli)
    mine = [r["id"] for r in rows if r["recipient"] == "ana@uni.edu"]
    smtp.refuse["ana@uni.edu"] = reply
    config = cli.config(CMS_SMTP_URL=smtp.url, CMS_DELIVERY_ATTEMPTS="5")
    for target in mine:
        if final:
            assert delivery.deliver(target, config) == "failed"
        else:
            with pytest.raises(delivery.TryAgain):
                delivery.deliver(target, config)
    listed = {r["id"]: r for r in cli.ok("notify", "list", "--json").json()}
    for target in mine:
        assert listed[target]["status"] == ("failed" if final else "queued")
        assert listed[target]["attempts"] == 1
        assert reply.split()[0] in listed[target]["last_error"]
    assert smtp.messages == []
    cli.login("ana@uni.edu")
    assert len(cli.ok("inbox", "--json").json()) == len(mine)
    # Handed over again (notify retry), the inbox still has one item per notification.
    smtp.refuse.clear()
    if final:
        cli.login("dean@uni.edu")
        cli.ok("notify", "retry", "--all-failed")
    for target in mine:
        assert delivery.deliver(target, config) == "sent"
    assert len(smtp.messages) == len(mine)
    cli.login("ana@uni.edu")
    assert len(cli.ok("inbox", "--json").json()) == len(mine)


def test_an_email_accepted_is_not_sent_again_when_recording_it_fails_for_a_while(
    cli: Cli, logged: dict[str, int], smtp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection to the database is lost right after the mail server accepted the
    e-mail: recording it ``sent`` is tried again (not counted as a failed attempt, which
    would send it again): one e-mail, the row sent at its first attempt."""
    import sqlalchemy as sa

    rows = swept(cli)
    target = rows[0]["id"]
    real = delivery._finish
    lost: list[int] = []

    class Lost(Exception):
        args = (2013, "Lost connection to MySQL server during query")

    def flaky(session: Any, nid: int, token: str, status: Any, error: Any) -> Any:
        if status is delivery.NotificationStatus.sent and len(lost) < 2:
            lost.append(nid)
            raise sa.exc.OperationalError("UPDATE notification ...", {}, Lost())
        return real(session, nid, token, status, error)

    monkeypatch.setattr(delivery, "_finish", flaky)
    monkeypatch.setattr(delivery, "RECORD_PAUSES", (0.01, 0.01, 0.01))
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert delivery.deliver(target, config) == "sent"
    assert lost == [target, target]
    assert len(smtp.messages) == 1
    row = next(r for r in cli.ok("notify", "list", "--json").json() if r["id"] == target)
    assert (row["status"], row["attempts"]) == ("sent", 1)
