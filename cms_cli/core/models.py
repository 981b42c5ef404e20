"""Importing every capability's models registers their tables on SQLModel.metadata."""

from __future__ import annotations


def import_all_models() -> None:
    import cms_cli.audit.models
    import cms_cli.auth.models  # noqa: F401
