"""cms demo: see the whole product work in one command."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from cms_cli.core.config import Config
    from cms_cli.ops.demo import DemoResult

from cms_cli.core.context import current
from cms_cli.core.output import message, result, warning
from cms_cli.core.prompts import confirm

app = typer.Typer(rich_markup_mode=None, add_completion=False)


@app.command()
def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Empty the database and build the demo again.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --reset.")] = False,
    here: Annotated[
        bool,
        typer.Option(
            "--here", help="Use the configured database (CMS_DATABASE_URL), not the embedded one."
        ),
    ] = False,
) -> None:
    """Fill the embedded database with a realistic term, sweep, deliver, show the report.

    2 managers, 8 facilitators, 120 students, 24 offerings with enrolments, weekly logs
    with gaps and absences, and the finished offerings' reflections; then the reminders
    are swept and delivered to the in-app inbox, and you are logged in as the demo
    registrar. A second run says the demo is there (--reset rebuilds).

    Example: cms demo
    """
    from cms_cli.api.remote import refuse_operator
    from cms_cli.core.errors import ValidationError
    from cms_cli.core.output import stderr_console
    from cms_cli.ops import demo as building

    refuse_operator("demo")
    current().may_create = True
    config = current().config()
    if not config.embedded and not here:
        raise ValidationError(
            "a database is configured (CMS_DATABASE_URL or the profile): the demo stays out of it",
            hint="unset it to use the embedded database, or add --here if you really mean it",
        )
    from cms_cli.core.session import session_scope

    if reset:
        confirm("Empty the database and build the demo again?", yes=yes)
        building.reset(config)
    with session_scope(config) as session:
        there, other = building.exists(session), building.has_accounts(session)
    if there:
        result("The demo is already here. `cms demo --reset` builds it again.")
        _next_steps()
        return
    if other:
        raise ValidationError(
            "this database already has accounts: the demo only fills an empty one",
            hint="cms demo --reset empties it first (everything in it is lost)",
        )
    # E-mail only into a setup someone configured on purpose (--here): the embedded demo
    # never mails its made-up people through a relay it happens to find in the env.
    mail = bool(here and config.settings.smtp_url)
    if mail:
        from cms_cli.core.config import mask_url

        relay = mask_url(config.settings.smtp_url or "")
        channels = f"by e-mail through {relay} and to the in-app inboxes"
    elif config.settings.smtp_url:
        channels = "to the in-app inboxes only (e-mail is sent with --here only)"
    else:
        channels = "to the in-app inboxes only (no CMS_SMTP_URL: e-mail is off)"
    console = stderr_console()
    steps = ["accounts", "catalog", "offerings and enrolments", "weekly logs", "sweep and delivery"]
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("building the demo", total=len(steps))

            def step(name: str) -> None:
                bar.update(task, description=name, advance=0 if name == steps[0] else 1)

            made = building.build(config, step)
            step("sweep and delivery")
            swept = building.sweep_and_deliver(config, smtp=mail)
    else:
        made = building.build(config, lambda name: message(f"demo: {name}"))
        message("demo: sweep and delivery")
        swept = building.sweep_and_deliver(config, smtp=mail)
    saved = building.log_in_registrar(config)
    if saved.notice:
        warning(saved.notice)
    _show(config, made, swept, saved.store, channels)


def _show(
    config: Config, made: DemoResult, swept: dict[str, int], store: str, channels: str
) -> None:
    from rich.table import Table

    from cms_cli.auth.current import signed_in
    from cms_cli.auth.models import Role
    from cms_cli.core import clock
    from cms_cli.core.context import current as invocation
    from cms_cli.core.output import stdout_console
    from cms_cli.notify import service as notify
    from cms_cli.offerings.service import Filters
    from cms_cli.ops.demo import DOMAIN, PASSWORDS
    from cms_cli.tracker import render
    from cms_cli.tracker import service as tracker
    from cms_cli.tracker.calendar import Deadlines

    cfg = invocation().config()
    deadlines = Deadlines.of(cfg)
    with signed_in() as (session, me):
        data = tracker.report(
            session, me, Filters(), deadlines=deadlines, now=clock.now(), today=clock.today(cfg.tz)
        )
        sent = notify.list_notifications(session, me)
    console = stdout_console()
    people = ", ".join(f"{n} {role}s" for role, n in made.accounts.items())
    made_count = swept["reminders"] + swept["escalations"] + swept["attendance"]
    delivered = (
        f"all delivered {channels}"
        if swept["sent"] == made_count
        else f"{swept['sent']} delivered {channels}; {made_count - swept['sent']} not yet "
        "(cms notify list --status queued; cms worker delivers them)"
    )
    console.print(
        f"[bold]Demo term built[/bold]: {people}; {made.offerings} offerings, "
        f"{made.logs} weekly logs, {made.reflections} reflections. The sweep made "
        f"{swept['reminders']} reminder(s), {swept['escalations']} escalation(s) and "
        f"{swept['attendance']} attendance notification(s) (students at risk), {delivered}.\n",
        markup=True,
        highlight=False,
    )
    lines = render.terminal(
        data, console, title="Weekly activity compliance", fit=console.is_terminal
    )
    console.file.write("".join(f"{line}\n" for line in lines))
    table = Table(title="Notifications sent", header_style="bold")
    for column in ("id", "kind", "recipient", "offering", "week", "status"):
        table.add_column(column)
    for row in sent[:12]:
        table.add_row(
            str(row.id),
            row.kind.value,
            row.recipient,
            str(row.offering_id),
            str(row.week),
            row.status.value,
        )
    console.print(table)
    if len(sent) > 12:
        console.print(f"… and {len(sent) - 12} more: cms notify list")
    accounts = Table(
        title="Demo accounts (demo passwords: they exist only here)", header_style="bold"
    )
    for column in ("role", "e-mail", "password"):
        accounts.add_column(column)
    accounts.add_row("manager", f"registrar@{DOMAIN}", PASSWORDS[Role.manager])
    accounts.add_row("facilitator", f"ana.lopez@{DOMAIN}", PASSWORDS[Role.facilitator])
    accounts.add_row("student", "any of: cms user list --role student", PASSWORDS[Role.student])
    console.print(accounts)
    console.print(f"You are logged in as registrar@{DOMAIN} (token kept in the {store}).")
    _next_steps()


def _next_steps() -> None:
    from cms_cli.auth.current import signed_in
    from cms_cli.core import clock
    from cms_cli.core.context import current as invocation
    from cms_cli.offerings.service import Filters, list_offerings
    from cms_cli.ops.demo import DOMAIN

    today = clock.today(invocation().config().tz)
    mine = Filters(facilitator=f"ana.lopez@{DOMAIN}", status="active")
    try:
        with signed_in() as (session, me):
            running = list_offerings(session, me, mine, today=today)
    except Exception:  # logged out since: the generic hint will do
        running = []
    where = f"--offering {running[0].id} " if running else ""
    result(
        "\nTry next:\n"
        "  cms offering list --status active\n"
        "  cms tracker report --html compliance.html\n"
        "  cms tracker list --status overdue\n"
        "  cms tracker attendance --below 75     # students at risk\n"
        "  cms reflection summary --status completed\n"
        "  cms notify list\n"
        f"  cms auth login --email ana.lopez@{DOMAIN}     # password demo-facilitator-pw\n"
        f"  cms tracker log {where}--week 5 --all-present --formative-one done\n"
        "  cms inbox"
    )
