"""cms module / cohort / class: the catalog (managers write, everyone reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cms_cli.api import call, listed
from cms_cli.core.options import day
from cms_cli.core.output import (
    DEFAULT_LIMIT,
    CsvOpt,
    JsonOpt,
    LimitOpt,
    NoPagerOpt,
    View,
    WideOpt,
    listing,
    result,
)

ActiveOpt = Annotated[
    bool | None, typer.Option("--active/--inactive", help="Only active or inactive entries.")
]


def _list(entity: str, active: bool | None, json_: bool, csv_: bool, view: View) -> None:
    from cms_cli.catalog import api
    from cms_cli.catalog.public import SHOWN
    from cms_cli.core.output import columns

    _, listed_by, _ = api.BY_ENTITY[entity]
    rows = listed(listed_by, api.Active(active=active), limit=view.fetch(json_, csv_))
    fields = columns(SHOWN[entity])
    listing(
        rows,
        fields,
        json_=json_,
        csv_=csv_,
        view=view,
        noun=f"{entity}s",
        empty=f"no {entity} yet",
        drop=fields[:1:-1],
    )


def _set_active(entity: str, value: str, active: bool) -> None:
    from cms_cli.catalog import api

    _, _, activates = api.BY_ENTITY[entity]
    done = call(activates, api.Activation(value=value, active=active))
    name = f"{entity} {done.name}"
    verb = "Activated" if active else "Deactivated"
    result(
        f"{verb} {name}."
        if done.changed
        else f"{name} was already {'active' if active else 'inactive'}."
    )


# -- modules --------------------------------------------------------------------------

module_app = typer.Typer(
    help="Modules (course units).", no_args_is_help=True, rich_markup_mode=None
)


@module_app.command("add")
def module_add(
    code: Annotated[str, typer.Argument(help="Unique code, 3-20 characters, e.g. CS101.")],
    name: Annotated[str, typer.Option("--name", help="Title of the module.")],
    credits: Annotated[int, typer.Option("--credits", help="Credits, 1 to 10.")],
    description: Annotated[str | None, typer.Option("--description", help="Free text.")] = None,
) -> None:
    """Add a module (managers).

    Example: cms module add CS101 --name "Intro to Programming" --credits 5
    """
    from cms_cli.catalog import api

    data = api.ModuleCreate(code=code, name=name, credits=credits, description=description)
    result(f"Added module {call(api.module_add, data).code}.")


@module_app.command("list")
def module_list(
    active: ActiveOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List modules.

    Example: cms module list --active --csv
    """
    _list("module", active, json_, csv_, View.of(limit, wide, no_pager))


@module_app.command("deactivate")
def module_deactivate(code: Annotated[str, typer.Argument(help="Module code.")]) -> None:
    """Deactivate a module: no new offerings of it.

    Example: cms module deactivate CS101
    """
    _set_active("module", code, False)


@module_app.command("activate")
def module_activate(code: Annotated[str, typer.Argument(help="Module code.")]) -> None:
    """Activate a deactivated module again.

    Example: cms module activate CS101
    """
    _set_active("module", code, True)


# -- cohorts --------------------------------------------------------------------------

cohort_app = typer.Typer(help="Cohorts of students.", no_args_is_help=True, rich_markup_mode=None)


@cohort_app.command("add")
def cohort_add(
    name: Annotated[str, typer.Argument(help="Unique name, 3-50 characters.")],
    start: Annotated[datetime | None, day("--start", "First day.")] = None,
    end: Annotated[datetime | None, day("--end", "Last day.")] = None,
) -> None:
    """Add a cohort (managers).

    Example: cms cohort add "Cohort 2026 A" --start 2026-01-12 --end 2027-12-17
    """
    from cms_cli.catalog import api

    first, last = (start.date() if start else None), (end.date() if end else None)
    added = call(api.cohort_add, api.CohortCreate(name=name, start=first, end=last))
    result(f"Added cohort {added.name}.")


@cohort_app.command("list")
def cohort_list(
    active: ActiveOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List cohorts.

    Example: cms cohort list --json
    """
    _list("cohort", active, json_, csv_, View.of(limit, wide, no_pager))


@cohort_app.command("deactivate")
def cohort_deactivate(name: Annotated[str, typer.Argument(help="Cohort name.")]) -> None:
    """Deactivate a cohort: no new offerings for it.

    Example: cms cohort deactivate "Cohort 2024 A"
    """
    _set_active("cohort", name, False)


@cohort_app.command("activate")
def cohort_activate(name: Annotated[str, typer.Argument(help="Cohort name.")]) -> None:
    """Activate a deactivated cohort again.

    Example: cms cohort activate "Cohort 2024 A"
    """
    _set_active("cohort", name, True)


# -- classes --------------------------------------------------------------------------

class_app = typer.Typer(
    help="Classes: year, trimester and intake (e.g. 2026J).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@class_app.command("add")
def class_add(
    code: Annotated[str, typer.Argument(help="Unique code, e.g. 2026J.")],
    year: Annotated[int, typer.Option("--year", help="Academic year, YYYY.")],
    trimester: Annotated[int, typer.Option("--trimester", help="1, 2 or 3.")],
    intake: Annotated[str, typer.Option("--intake", help="HT1, HT2 or FT.")],
) -> None:
    """Add a class (managers).

    Example: cms class add 2026J --year 2026 --trimester 1 --intake FT
    """
    from cms_cli.catalog import api

    data = api.ClassCreate(code=code, year=year, trimester=trimester, intake=intake)
    result(f"Added class {call(api.class_add, data).code}.")


@class_app.command("list")
def class_list(
    active: ActiveOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    limit: LimitOpt = DEFAULT_LIMIT,
    wide: WideOpt = False,
    no_pager: NoPagerOpt = False,
) -> None:
    """List classes.

    Example: cms class list --csv
    """
    _list("class", active, json_, csv_, View.of(limit, wide, no_pager))


@class_app.command("deactivate")
def class_deactivate(code: Annotated[str, typer.Argument(help="Class code.")]) -> None:
    """Deactivate a class: no new offerings for it.

    Example: cms class deactivate 2025J
    """
    _set_active("class", code, False)


@class_app.command("activate")
def class_activate(code: Annotated[str, typer.Argument(help="Class code.")]) -> None:
    """Activate a deactivated class again.

    Example: cms class activate 2025J
    """
    _set_active("class", code, True)
