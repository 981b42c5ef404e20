"""The transport, above the capabilities: each user operation is declared once (in its
capability's ``api.py``); ``call`` runs it in process (api.local) or through `cms serve`
(api.remote), whichever this invocation uses, and ``listed`` fetches a listing.

Check → ask → act is this one sequence: the pre-check in a transaction (or request) of
its own, then the question with nothing open, then the operation in a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from cms_cli.core.operation import Operation, Rows

In = TypeVar("In", bound="BaseModel")


def call(
    operation: Operation,
    data: In,
    *,
    ask: Callable[[In], In] | None = None,
) -> Any:
    """Run ``operation`` on ``data`` by this invocation's transport. With ``ask``: its
    pre-check first, then ``ask(data)`` (a confirmation, a password, a file read) while
    no transaction is open, then the operation on what ``ask`` returned."""
    from cms_cli.api import local
    from cms_cli.api.remote import connect

    remote = connect(signed=operation.signed)
    if ask is not None and operation.check is None and operation.upload is None:
        from cms_cli.core.errors import InternalError

        raise InternalError(f"{operation.name} asks first but declares no pre-check")
    if ask is not None:
        if remote is not None:
            remote.check(operation, data)
        else:
            local.check(operation, data)
        data = ask(data)
    if remote is not None:
        return remote.run(operation, data)
    return local.run(operation, data)


def listed(operation: Operation, data: In, *, limit: int = 0) -> Rows:
    """A listing's rows: ``limit`` of them (0: all), with how many match in all."""
    from cms_cli.api import local
    from cms_cli.api.remote import connect

    remote = connect()
    if remote is not None:
        return remote.rows(operation, data, limit)
    return local.rows(operation, data, limit)
