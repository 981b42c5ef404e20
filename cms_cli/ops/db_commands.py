"""cms db: schema migrations (operator: holds the database credentials)."""

from __future__ import annotations

from typing import Annotated

import typer

from cms_cli.core.context import current as invocation
from cms_cli.core.output import JsonOpt, item, result

app = typer.Typer(
    help="Migrate the database schema (Alembic; SQLite and MySQL).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def _operator() -> None:
    """Migrate the database schema (Alembic; SQLite and MySQL)."""
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
