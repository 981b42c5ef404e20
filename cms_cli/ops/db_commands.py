"""cms db: schema migrations (operator: holds the database credentials)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cms_cli.core.context import current as invocation
from cms_cli.core.output import JsonOpt, item, result

app = typer.Typer(
    help="Migrate, back up, restore and copy the database (SQLite and MySQL).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def _operator() -> None:
    """Migrate, back up, restore and copy the database (SQLite and MySQL)."""
    from cms_cli.api.remote import refuse_operator

    refuse_operator("db")


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    create: Annotated[
        bool,
        typer.Option("--create", help="Create the embedded database if it does not exist."),
    ] = False,
) -> None:
    """Upgrade the schema to REVISION (default: the newest).

    Example: CMS_DATABASE_URL=mysql+pymysql://cms:pw@db/cms cms db upgrade
    """
    from cms_cli.core import migrate

    if create:
        invocation().may_create = True

    now = migrate.upgrade(invocation().config(), revision)
    result(f"Database at revision {now}.")


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, or base.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed off a terminal).")] = False,
) -> None:
    """Downgrade the schema to REVISION ('base' drops every table and its data).

    A downgrade drops the tables and columns of the newer revisions with what they
    hold: it asks first on a terminal, and needs --yes off one.

    Example: cms db downgrade 0004 --yes
    """
    from cms_cli.core import migrate
    from cms_cli.core.config import mask_url
    from cms_cli.core.prompts import confirm

    config = invocation().config()
    confirm(
        f"Downgrade {mask_url(config.database_url)} to {revision}? The data of the newer "
        "revisions is lost.",
        yes=yes,
    )
    now = migrate.downgrade(config, revision)
    result(f"Database at revision {now or 'base (empty)'}.")


@app.command()
def current(json_: JsonOpt = False) -> None:
    """Show the schema revision of the database and the one this cms needs.

    Example: cms db current --json
    """
    from cms_cli.core import migrate
    from cms_cli.core.config import mask_url

    config = invocation().config()
    rev = migrate.current(config)
    head = migrate.head()
    item(
        {
            "database_url": mask_url(config.database_url),
            "current": rev,
            "head": head,
            "up_to_date": rev == head,
        },
        json_=json_,
    )


@app.command()
def grants(
    user: Annotated[str, typer.Option("--user", help="The account cms runs as.")] = "cms",
    host: Annotated[str, typer.Option("--host", help="Where it connects from.")] = "%",
) -> None:
    """Print the GRANTs of a least-privilege MySQL/MariaDB account for running cms.

    The account reads and writes every table but may only append to the audit trail
    (SELECT, INSERT on audit_event) and only read the schema revision. Migrations
    (`cms db upgrade`) need an account that may also CREATE, ALTER, DROP and INDEX.
    Table-level grants name today's tables: apply them again after an upgrade.

    Example: cms db grants --user cms --host 10.0.0.% | mysql -u root
    """
    from cms_cli.core import migrate

    config = invocation().config()
    result("\n".join(migrate.grants(config, user, host)))


def _moved(done: object) -> str:
    from cms_cli.ops.transfer import Transfer

    assert isinstance(done, Transfer)
    rate = f", {done.rate:,.0f} rows/s" if done.seconds >= 0.5 else ""
    upgraded = f"; upgraded to {done.upgraded_to}" if done.upgraded_to else ""
    return (
        f"{done.rows:,} rows in {len(done.tables)} tables, schema {done.revision}{upgraded} "
        f"({done.seconds:.1f} s{rate})"
    )


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to write (replaced if it exists).")],
) -> None:
    """Write a consistent copy of the database to FILE while cms runs.

    The copy is a SQLite database file, whatever the database: SQLite's online backup,
    or MySQL/MariaDB read in one transaction (as mysqldump --single-transaction). Any
    cms restores it into either kind of database (cms db restore). It holds password
    hashes: it is written readable by its owner only; keep it so.

    Example: cms db backup /var/backups/cms/cms-$(date +%F).sqlite
    """
    from cms_cli.core.db import engine_of
    from cms_cli.core.files import display_name
    from cms_cli.ops import transfer

    config = invocation().config()
    _writable_place(file)
    try:
        done = transfer.backup(engine_of(config), file)
    except sa_errors() as exc:
        from cms_cli.core.db import database_error

        raise database_error(config.database_url, exc) from exc
    result(f"Backed up {_moved(done)} to {display_name(file)}.")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by cms db backup.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed off a terminal).")] = False,
) -> None:
    """Replace everything in the database with the backup FILE.

    The file is checked first (a cms backup, not damaged, not from a newer cms); then
    the database's tables are dropped, the backup's rows copied in with their ids, and
    the schema upgraded when the backup is older. Worker heartbeats and claims are not
    restored. Stop the workers and the server first. Asks on a terminal; needs --yes
    off one.

    Example: cms db restore /var/backups/cms/cms-2026-12-01.sqlite --yes
    """
    from cms_cli.core.config import mask_url
    from cms_cli.core.db import database_error, engine_of
    from cms_cli.core.files import display_name
    from cms_cli.core.prompts import confirm
    from cms_cli.ops import transfer

    invocation().may_create = True  # restoring onto a new machine makes its database
    config = invocation().config()
    revision, counts = transfer.inspect_backup(file)
    alive = transfer.live_workers(engine_of(config))
    if alive:
        from cms_cli.core.errors import Conflict

        raise Conflict(
            f"a worker is running on this database ({', '.join(alive[:3])}): a restore "
            "under it would race its writes; nothing was changed",
            hint="stop the workers and cms serve first (systemctl stop cms-worker cms-serve)",
        )
    confirm(
        f"Replace everything in {mask_url(config.database_url)} with {display_name(file)} "
        f"({sum(counts.values()):,} rows, schema {revision})?",
        yes=yes,
    )
    try:
        done = transfer.restore(file, engine_of(config))
    except sa_errors() as exc:
        raise database_error(config.database_url, exc) from exc
    result(f"Restored {_moved(done)} from {display_name(file)}.")


@app.command()
def copy(
    to: Annotated[
        str, typer.Option("--to", help="SQLAlchemy URL of the empty database to copy into.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed off a terminal).")] = False,
) -> None:
    """Copy everything into another, empty database (SQLite to MySQL/MariaDB or back).

    Accounts with their password hashes, sessions, the catalog, offerings with their
    ids, logs, attendance, reflections, the audit trail and the outbox's history (so no
    reminder already sent goes out again) are copied in one consistent read; the
    counts of every table are compared before the copy is committed. A target with
    any rows is refused. Then point CMS_DATABASE_URL at the new database.

    Example: cms db copy --to 'mysql+pymysql://cms_admin:pw@db/cms' --yes
    """
    from cms_cli.core.config import mask_url
    from cms_cli.core.db import database_error, engine_of
    from cms_cli.core.prompts import confirm
    from cms_cli.ops import transfer

    config = invocation().config()
    target = _target_url(to, config.database_url)
    confirm(f"Copy {mask_url(config.database_url)} into {mask_url(target)}?", yes=yes)
    try:
        done = transfer.copy_to(engine_of(config), target)
    except sa_errors() as exc:
        raise database_error(config.database_url, exc) from exc
    result(f"Copied {_moved(done)} into {mask_url(target)}.")


def sa_errors() -> type[Exception]:
    import sqlalchemy as sa

    return sa.exc.DBAPIError


def _writable_place(file: Path) -> None:
    from cms_cli.core.errors import ValidationError

    if file.is_dir():
        raise ValidationError(f"{file} is a folder", hint="name the backup file itself")
    if not file.parent.is_dir():
        raise ValidationError(
            f"the folder {file.parent} does not exist", hint="create it first (mkdir -p)"
        )


def _target_url(url: str, source: str) -> str:
    """The target's URL checked: a database cms can use, and not the source itself."""
    import sqlalchemy as sa

    from cms_cli.core.config import check_url_shape
    from cms_cli.core.errors import ValidationError

    try:
        check_url_shape(url)
    except ValueError as exc:
        raise ValidationError(f"--to: {exc}") from None
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ValidationError(
            "--to is not a database URL",
            hint="e.g. mysql+pymysql://user:pw@host/cms or sqlite:////srv/cms/cms.db",
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "mysql"):
        raise ValidationError(
            f"--to: cms runs on SQLite or MySQL/MariaDB, not {parsed.get_backend_name()}"
        )
    if parsed.get_backend_name() == "mysql" and parsed.get_driver_name() != "pymysql":
        raise ValidationError("--to: use the mysql+pymysql:// driver")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValidationError("--to: name the SQLite file (sqlite:////path/to/cms.db)")
    if parsed.render_as_string(hide_password=False) == sa.make_url(source).render_as_string(
        hide_password=False
    ):
        raise ValidationError("--to is the database cms uses now: copy into another one")
    return parsed.render_as_string(hide_password=False)
