"""What a client of `cms serve` needs to read and check (every capability's `public`
module: the Public models, the Create/Update models, their vocabularies and rules)
imports without SQLAlchemy or SQLModel: a CLI in client mode holds no database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PUBLIC = sorted(
    f"cms_cli.{p.parent.name}.public"
    for p in (Path(__file__).resolve().parents[2] / "cms_cli").glob("*/public.py")
)


#: Tables no client ever sees (the server's request counts).
INTERNAL = {"cms_cli.server.models"}


def test_every_capability_with_models_has_a_public_module() -> None:
    from cms_cli.core.models import MODEL_MODULES

    shown = [m for m in MODEL_MODULES if m not in INTERNAL]
    assert sorted(m.replace(".models", ".public") for m in shown) == PUBLIC


@pytest.mark.parametrize("module", PUBLIC)
def test_a_public_module_imports_no_database_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('sqlalchemy', 'sqlmodel'))\n"
        "print(' '.join(bad))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == ""
