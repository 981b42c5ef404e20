"""A closed pipe (`cms ... | head -1`) ends the command quietly, as coreutils do: no
error, no traceback, exit 141 (128 + SIGPIPE), whatever the command and format."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Cli


@pytest.fixture
def many(cli: Cli, manager: str, tmp_path: Path) -> Cli:
    """3,000 accounts: listings far larger than a pipe's buffer (64 KiB)."""
    lines = ["email,name,role"] + [f"s{i:05d}@uni.edu,Student {i},student" for i in range(3000)]
    file = tmp_path / "users.csv"
    file.write_text("\n".join(lines) + "\n")
    cli.ok("user", "import", str(file))
    return cli


LISTINGS = [
    ("user", "list", "--csv"),
    ("user", "list", "--json"),
    ("user", "list", "--limit", "0"),  # people's rows: tab-separated off a terminal
    ("audit", "list", "--json"),
    ("auth", "status"),  # a short one
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # output, not the database
def test_a_reader_that_goes_away_ends_the_command_quietly(many: Cli) -> None:
    token = many.ok("auth", "token").stdout.strip()
    env = {**os.environ, **many.env, "CMS_TOKEN": token}
    for args, early in ((a, e) for a in LISTINGS for e in (True, False)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "cms_cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        if not early:
            proc.stdout.readline()  # the first line, like `| head -1`
        proc.stdout.close()  # the reader goes away (early: before anything is written)
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
        assert err == "", args
        # 141 when it wrote after the reader left; 0 when the pipe took it all first
        # (pipes here can hold more than a listing)
        assert code == 141 if early else code in (0, 141), (args, code)
