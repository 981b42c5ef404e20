"""The root command: global options, a lazy command registry, the one error boundary.

Start-up is a feature: ``cms --help`` and completion import no SQLAlchemy, Huey,
Redis, keyring or bcrypt. Each group's module is imported only when it is run.
"""

from __future__ import annotations

import importlib
import os
import sys

# pydantic looks for third-party plugins (entry points of every installed package) at
# the first model it builds: ~10 ms of every command's start-up, for plugins cms does
# not use. A user who wants one sets PYDANTIC_DISABLE_PLUGINS themselves.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
from typing import Annotated, Any

import typer
from typer import _click as click  # Typer's vendored Click, the base of TyperGroup
from typer._click.exceptions import UsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

from cms_cli import __version__
from cms_cli.core import context
from cms_cli.core.errors import CmsError
from cms_cli.core.failures import as_cms_error

#: name -> ("module:attribute" of a Typer app, one-line summary shown by `cms --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "auth": ("cms_cli.auth.commands:app", "Log in and out, sessions and your own password."),
    "user": ("cms_cli.auth.user_commands:app", "Accounts: add, import, invite, deactivate."),
    "module": ("cms_cli.catalog.commands:module_app", "Modules of the catalog."),
    "cohort": ("cms_cli.catalog.commands:cohort_app", "Cohorts of students."),
    "class": ("cms_cli.catalog.commands:class_app", "Classes: year, trimester, intake."),
    "offering": (
        "cms_cli.offerings.commands:app",
        "Allocate courses: offerings, enrolments (students: your own).",
    ),
    "tracker": (
        "cms_cli.tracker.commands:app",
        "Weekly logs, attendance, deadlines; the compliance report.",
    ),
    "notify": (
        "cms_cli.notify.commands:app",
        "Reminders and escalations: sweep, list, retry, prune.",
    ),
    "inbox": ("cms_cli.notify.commands:inbox_app", "Your in-app notifications."),
    "worker": ("cms_cli.notify.commands:worker_app", "Deliver notifications (Huey consumer)."),
    "reflection": (
        "cms_cli.reflection.commands:app",
        "End-of-course reflections: yours, or your courses' rate.",
    ),
    "audit": ("cms_cli.audit.commands:app", "The audit trail: who changed what, newest first."),
    "db": (
        "cms_cli.ops.db_commands:app",
        "Migrate, back up, restore or copy the database.",
    ),
    "doctor": ("cms_cli.ops.commands:app", "Check config, database, queue, SMTP and keyring."),
    "config": ("cms_cli.ops.config_commands:app", "Show the effective settings and their file."),
    "demo": ("cms_cli.ops.demo_commands:app", "Build a realistic demo term and show it."),
    "serve": ("cms_cli.server.commands:app", "Serve the API that a team's clients talk to."),
}

#: `cms --help` lists the commands by who uses them, as gh and kubectl do, each with
#: what it does for them: a command several people use is under each of them (a test
#: holds that every command is somewhere).
SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Everyone",
        (
            ("auth", "Log in and out, sessions and your own password."),
            ("inbox", "Your in-app notifications."),
        ),
    ),
    (
        "Registry staff (managers)",
        (
            ("offering", "Allocate courses: offerings, enrolments, term end."),
            ("user", "Accounts: add, import, invite, deactivate."),
            ("module", "Modules of the catalog."),
            ("cohort", "Cohorts of students."),
            ("class", "Classes: year, trimester, intake."),
            ("tracker", "The compliance report; students at risk."),
            ("notify", "Reminders and escalations sent: list, retry."),
            ("audit", "The audit trail: who changed what, newest first."),
        ),
    ),
    (
        "Facilitators",
        (
            ("tracker", "Log your weeks; attendance; your deadlines."),
            ("reflection", "Import your students' reflections; the response rate."),
        ),
    ),
    (
        "Students",
        (
            ("offering", "Your enrolments: cms offering list."),
            ("reflection", "Hand in your reflection file: cms reflection submit."),
        ),
    ),
    (
        "Operators (database credentials, no login)",
        (
            ("db", "Migrate, back up, restore or copy the database."),
            ("doctor", "Check config, database, queue, SMTP and keyring."),
            ("config", "Show the effective settings and their file."),
            ("notify", "The sweep (cron) and pruning old history."),
            ("worker", "Deliver notifications (Huey consumer)."),
            ("serve", "Serve the API that a team's clients talk to."),
            ("demo", "Build a realistic demo term and show it."),
        ),
    ),
)

#: Entries that are one command rather than a group of subcommands.
SINGLE_COMMANDS = frozenset({"demo", "doctor", "worker", "serve"})
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`


def load_command(name: str) -> click.Command:
    """Import and build the command registered as ``name``."""
    target, summary = COMMANDS[name]
    module_name, attribute = target.split(":")
    typer_app = getattr(importlib.import_module(module_name), attribute)
    if name in SINGLE_COMMANDS:
        command = typer.main.get_command(typer_app)
    else:
        command = typer.main.get_group(typer_app)
    command.name = name
    command.short_help = summary
    _tidy_metavars(command)
    _whole_summaries(command)
    return command


def _whole_summaries(group: click.Command) -> None:
    """A group's help lists each subcommand by the first sentence of its help, whole:
    wrapped in its column at 80 columns rather than cut with "..." as Click does."""
    for sub in getattr(group, "commands", {}).values():
        if sub.short_help is None and sub.help:
            paragraph = sub.help.strip().split("\n\n")[0]
            sentence = " ".join(paragraph.split()).split(". ")[0].removesuffix(".")
            sub.short_help = sentence + "."
        _whole_summaries(sub)


#: The placeholder shown in --help for an option's value, by option name.
METAVARS = {
    "EMAIL": (
        "--email",
        "--student",
        "--facilitator",
        "--manager",
        "--recipient",
        "--actor",
        "--present",
        "--absent",
    ),
    "CODE": ("--module", "--class"),
    "NAME": ("--cohort", "--name"),
    "TEXT": ("--description", "--notes", "--employee-id", "--student-id"),
    "FILE": ("--file", "--html"),
}


def _bounded(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Whole numbers that fit the database's INT (core.limits.MAX_INT, either sign).

    Ids, weeks and counts beyond it can name nothing and hold nothing: refused as soon
    as the command line is read, before any lookup, as an invalid value (exit 1), the
    same on SQLite and MySQL. Installed on every int parameter by ``_tidy_metavars``.
    """
    from cms_cli.core.errors import ValidationError
    from cms_cli.core.limits import MAX_INT

    values = value if isinstance(value, list | tuple) else [value]
    for number in values:
        if isinstance(number, int) and not -MAX_INT <= number <= MAX_INT:
            name = param.opts[0] if isinstance(param, TyperOption) else (param.metavar or "value")
            shown = str(number) if number.bit_length() < 200 else "a number that long"
            raise ValidationError(f"{name}: {shown} is out of range (at most {MAX_INT})")
    return value


def _tidy_metavars(command: click.Command) -> None:
    """Readable value placeholders (EMAIL, CODE, N...) instead of Typer's <str>/<int>;
    every whole-number parameter bounded (BoundedInt)."""
    by_flag = {flag: word for word, flags in METAVARS.items() for flag in flags}
    for param in command.params:
        bounded = isinstance(param, TyperOption | TyperArgument) and param.callback is None
        if bounded and param.bare_type() in ("int", "list[int]"):  # type: ignore[attr-defined]
            param.callback = _bounded
        if (
            param.metavar is not None
            or not isinstance(param, TyperOption)
            or getattr(param, "is_flag", False)
        ):
            continue
        word = next((by_flag[o] for o in param.opts if o in by_flag), None)
        if word is None:
            word = "N" if "int" in param.bare_type() else "TEXT"
        param.metavar = word
    for sub in getattr(command, "commands", {}).values():
        _tidy_metavars(sub)


class _Summary(click.Command):
    """A stand-in carrying only the one-line summary, for `cms --help`."""


class LazyGroup(TyperGroup):
    """Commands resolved on use; help lists the static summaries without importing them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return load_command(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command gets the nearest one as a suggestion (exit 2)."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            near = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
            if near:
                raise UsageError(f"No such command '{name}'. Did you mean '{near[0]}'?", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands by who uses them (SECTIONS), the names aligned across sections."""
        width = max(len(name) for name in COMMANDS)
        for title, entries in SECTIONS:
            with formatter.section(title):
                formatter.write_dl(
                    [(name.ljust(width), said) for name, said in entries], col_max=width
                )

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except UsageError as exc:  # the root's own options (`cms --bogus`)
            from cms_cli.core.usage import usage_error

            usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            outcome = super().invoke(ctx)
            sys.stdout.flush()  # a reader that went away shows here, inside the boundary
            return outcome
        except BrokenPipeError:
            closed_pipe(ctx)
        except UsageError as exc:  # a command line that cannot be read: exit 2
            from cms_cli.core.usage import usage_error

            usage_error(exc)
        except (typer.Exit, typer.Abort, typer.TyperException):
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                closed_pipe(ctx)
            raise  # Click's own: usage errors (exit 2), --help, explicit exits
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            ctx.exit(EXIT_INTERRUPTED)
        except BaseException as exc:
            if isinstance(exc, SystemExit):
                raise
            error = as_cms_error(exc)
            if context.current().debug:  # the traceback too; the exit code stays the same
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            report(error)
            ctx.exit(error.exit_code)


def closed_pipe(ctx: click.Context) -> None:
    """The reader of stdout went away (``| head``): stop at once and quietly, as
    coreutils do, with their status: 141 (128 + SIGPIPE). What is left in the buffer
    goes to /dev/null, so that the interpreter's last flush finds nothing to complain
    about. Nothing is written to stderr."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner)
        pass
    ctx.exit(EXIT_CLOSED_PIPE)


def report(error: CmsError) -> None:
    """``error:`` and ``hint:`` lines on stderr, each one line, control characters shown."""
    from cms_cli.core.errors import Cancelled, FileProblems
    from cms_cli.core.text import neutralise

    if isinstance(error, FileProblems):
        for problem in error.problems:
            sys.stderr.write(neutralise(problem) + "\n")
    if isinstance(error, Cancelled):  # the person's choice: said, not as a failure
        sys.stderr.write(f"{neutralise(error.message)}\n")
        return
    sys.stderr.write(f"error: {neutralise(error.message)}\n")
    if error.hint:
        sys.stderr.write(f"hint: {neutralise(error.hint)}\n")


app = typer.Typer(
    name="cms",
    cls=LazyGroup,
    help="Course platform administration: allocation, weekly tracking, reminders.\n\n"
    "Example: cms auth login --email registrar@uni.example",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from cms_cli.core.migrate import SCHEMA_HEAD

        sys.stdout.write(f"cms {__version__} (schema {SCHEMA_HEAD})\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", envvar="CMS_PROFILE", metavar="NAME", help="Profile of config.toml to use."
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", metavar="URL", help="Talk to this cms serve (default: server_url)."
        ),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow http:// to a server that is not this host.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and the schema it needs.",
        ),
    ] = False,
) -> None:
    """Course platform administration: allocation, weekly tracking, reminders."""
    invocation = ctx.obj = context.begin(profile, debug, server=server, insecure=insecure)
    _ = invocation.now  # the one instant; a malformed CMS_NOW fails every command up front
