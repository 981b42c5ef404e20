"""cms config: the effective settings and where they come from."""

from __future__ import annotations

import typer

from cms_cli.core.context import current
from cms_cli.core.output import JsonOpt, item, result

app = typer.Typer(
    help="Show the effective settings and the config file's path.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command()
def show(json_: JsonOpt = False) -> None:
    """The effective settings of the active profile, passwords masked.

    Precedence: environment (CMS_*) > the profile in config.toml > defaults.

    Example: cms --profile staging config show --json
    """
    config = current().config()
    item(config.public(), json_=json_, title=f"profile {config.profile}")


@app.command()
def path() -> None:
    """Print the path of config.toml (it may not exist yet).

    Example: $EDITOR "$(cms config path)"
    """
    from cms_cli.core.config import paths

    result(str(paths().config_file))
