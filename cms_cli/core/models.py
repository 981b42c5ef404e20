"""Importing every capability's models registers their tables on SQLModel.metadata."""

from __future__ import annotations


def import_all_models() -> None:
    import cms_cli.audit.models
    import cms_cli.auth.models
    import cms_cli.catalog.models
    import cms_cli.notify.models
    import cms_cli.offerings.models
    import cms_cli.reflection.models
    import cms_cli.tracker.models  # noqa: F401
