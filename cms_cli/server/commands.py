"""cms serve: the API that a team's CLIs talk to (operator)."""

from __future__ import annotations

from typing import Annotated

import typer

from cms_cli.core.options import LogFormatOpt

app = typer.Typer(
    help="Serve the API that clients talk to (operator).",
    rich_markup_mode=None,
    add_completion=False,
)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this host only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option("--workers", help="Server processes.")] = 1,
    log_format: LogFormatOpt = None,
) -> None:
    """Serve the API over this host's database and queue: clients set server_url and
    need no database password (docs/operations.md: TLS in front, systemd).

    An internal error is logged as one line (one JSON object with --log-format json)
    naming the request id the client was given; the traceback only with --debug.

    Example: cms serve --port 8080 --workers 2
    """
    from cms_cli.api.remote import refuse_operator
    from cms_cli.core.context import current
    from cms_cli.core.errors import ValidationError

    refuse_operator("serve")
    if not 1 <= port <= 65535:
        raise ValidationError(f"--port must be 1 to 65535 (got {port})")
    if not 1 <= workers <= 64:
        raise ValidationError(f"--workers must be 1 to 64 (got {workers})")
    import shutil

    import uvicorn

    from cms_cli.core import logs
    from cms_cli.server import metrics
    from cms_cli.server.settings import hand_down

    # Resolved once, here (a broken setting fails once, not in every worker), and
    # handed to each worker as it is: the profile and every setting reach them all.
    fmt = log_format or "plain"
    logs.setup(fmt, debug=current().debug)  # a wrong format fails here, once
    from cms_cli.core.db import require_database

    require_database(current().config())  # a server of no database: refused here, once
    hand_down(current().config(), log_format=fmt, debug=current().debug)
    folder = metrics.prepare(workers)
    try:
        uvicorn.run(
            "cms_cli.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,  # no tokens in logs; the metrics count requests
            server_header=False,
        )
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
