"""A command line that cannot be read (Click's usage errors, exit 2), said as every
other error of cms is: one ``error:`` line naming what was typed, one ``hint:`` line with
the command's usage. Called by the error boundary (cms_cli.main)."""

from __future__ import annotations

import re
import sys
from typing import NoReturn

from typer import _click as click
from typer._click.exceptions import BadParameter, MissingParameter, UsageError
from typer.core import TyperArgument, TyperOption


def usage_error(exc: UsageError) -> NoReturn:
    """A command line that cannot be read, said as every other error is: one ``error:``
    line naming what was wrong and what was given, one ``hint:`` line with the
    command's usage; exit 2. No Click usage block, no pydantic wording."""
    from typer._click.exceptions import NoArgsIsHelpError

    from cms_cli.core.text import neutralise

    if isinstance(exc, NoArgsIsHelpError):  # `cms tracker` alone: its help, as always
        raise exc

    sys.stderr.write(f"error: {neutralise(usage_message(exc))}\n")
    ctx = exc.ctx or _innermost_context(exc)
    if ctx is not None:
        usage = " ".join(ctx.get_usage().split()).removeprefix("Usage: ")
        usage = re.sub(  # Typer's "{ID}" for a required ID, "{name}" for a name
            r"\{([A-Za-z_.]+)\}", lambda m: m.group(1).upper(), usage
        ).replace("...]...", "...]")
        sys.stderr.write(f"hint: usage: {neutralise(usage)} (-h for help)\n")
    raise SystemExit(exc.exit_code)


def _innermost_context(exc: BaseException) -> click.Context | None:
    """The context of the command whose line could not be read, for an error raised
    without one (Click's parser does so for ``--week`` with no value): the innermost
    frame of the traceback that holds one."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        candidate = trace.tb_frame.f_locals.get("ctx")
        if isinstance(candidate, click.Context):
            found = candidate
        trace = trace.tb_next
    return found


#: What a value of a parameter of this type must be, in words.
_EXPECTED = {
    "int": "a whole number",
    "list[int]": "a whole number",
    "float": "a number",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (ISO 8601)",
}


def usage_message(exc: UsageError) -> str:
    """The error's sentence: for a value of the wrong type, what it must be and what
    was given (``ID must be a whole number, got 'abc'``); else Click's own message,
    beginning in lower case as cms's messages do."""
    cause = exc.__cause__
    param = getattr(exc, "param", None)
    if (
        isinstance(exc, BadParameter)
        and param is not None
        and cause is not None
        and hasattr(cause, "errors")
    ):
        name = _param_name(param)
        problem = cause.errors()[0]
        given = problem.get("input")
        shown = f", got {given!r}" if isinstance(given, str) else ""
        bare = param.bare_type() if hasattr(param, "bare_type") else ""
        expected = _EXPECTED.get(bare)
        if expected is not None:
            return f"{name} must be {expected}{shown}"
        return f"{name}: {problem.get('msg', 'not a valid value')}{shown}"
    if isinstance(exc, MissingParameter) and isinstance(param, TyperArgument):
        return f"missing argument {_param_name(param)}"  # as the usage line names it
    message = exc.format_message().strip().removesuffix(".")
    # Click's "(Possible options: --wide)" after an unknown option: a suggestion
    message = re.sub(r"\s*\(Possible options: ([^)]*)\)", r" (did you mean \1?)", message)
    return message[:1].lower() + message[1:] if message[1:2].islower() else message


def _param_name(param: click.Parameter) -> str:
    """How the person typed it: ``--week`` for an option, ``ID`` for an argument."""
    if isinstance(param, TyperOption) and param.opts:
        return max(param.opts, key=len)
    return (param.metavar or (param.name or "value").upper()).rstrip(".")
