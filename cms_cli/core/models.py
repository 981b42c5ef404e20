"""The model registry: every capability's tables on ``SQLModel.metadata``.

A flush resolves foreign keys through the metadata, so a process that has imported
only some models fails on the first write that touches the others ("could not find
table 'offering'"). ``core.db.engine_for`` calls ``import_all_models()`` before it
hands out an engine, so every process that can reach the database has all of them:
this is the one place that lists them (tests/core/test_registry_and_startup.py checks
that it names every ``models.py`` of the package).
"""

from __future__ import annotations

import importlib

#: Every capability that declares tables, in no particular order.
MODEL_MODULES = (
    "cms_cli.audit.models",
    "cms_cli.auth.models",
    "cms_cli.catalog.models",
    "cms_cli.notify.models",
    "cms_cli.offerings.models",
    "cms_cli.reflection.models",
    "cms_cli.server.models",
    "cms_cli.tracker.models",
)

_done = False


def import_all_models() -> None:
    """Import every model module once per process (cheap after the first call)."""
    global _done
    if _done:
        return
    for name in MODEL_MODULES:
        importlib.import_module(name)
    _done = True
