"""The generated CLI reference is up to date; shell completion works and stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import Cli

from cms_cli.ops import clidoc

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    checked_in = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert checked_in == clidoc.render(), (
        "docs/cli-reference.md is stale: python -m cms_cli.ops.clidoc > docs/cli-reference.md"
    )


def test_every_group_is_in_the_reference() -> None:
    from cms_cli.main import COMMANDS

    text = clidoc.render()
    for name in COMMANDS:
        assert f"## cms {name}\n" in text


def complete(words: str, env: dict[str, str] | None = None) -> str:
    """What bash completion offers for the command line ``words``."""
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    full = {
        **os.environ,
        **(env or {}),
        "_CMS_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": cword,
    }
    code = "from cms_cli.main import app; app(prog_name='cms')"
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True)
    return out.stdout


def test_show_completion_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "cms_cli", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"},
    )
    assert out.returncode == 0, out.stderr
    assert "_CMS_COMPLETE" in out.stdout or "complete" in out.stdout


def test_install_completion_then_bash_completes(tmp_path: Path) -> None:
    """`cms --install-completion bash` as a user runs it, then a real bash that reads
    the ~/.bashrc it edited completes `cms off<TAB>` through the installed script."""
    cms = Path(sys.executable).parent / "cms"
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "SHELL": "/bin/bash"}
    env["PATH"] = f"{cms.parent}{os.pathsep}{env.get('PATH', '')}"
    # From a bash, as a user runs it: Typer finds the shell among the process's parents
    # (a test run detached from any shell would have none).
    install = ["bash", "-c", f'"{cms}" --install-completion bash']
    out = subprocess.run(install, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "completion installed" in out.stdout
    assert "source" in (home / ".bashrc").read_text(encoding="utf-8")
    again = subprocess.run(install, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert (home / ".bashrc").read_text(encoding="utf-8").count("source") == 1
    script = (
        "source ~/.bashrc; COMP_WORDS=(cms offering im); COMP_CWORD=2; "
        '_cms_completion cms; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    bash = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert bash.returncode == 0, bash.stderr
    assert "import" in bash.stdout.split()


def test_only_the_top_level_offers_completion_install() -> None:
    text = clidoc.render()
    assert text.count("--install-completion") == 1


def test_completes_commands_and_options() -> None:
    assert "offering" in complete("cms off")
    assert "import" in complete("cms offering im")
    assert "--facilitator" in complete("cms offering list --fac")


def test_completes_offering_ids_and_emails_from_the_database(
    cli: Cli, logged: dict[str, int]
) -> None:
    env = {k: v for k, v in cli.env.items() if v is not None}
    ids = complete("cms offering show ", env)
    assert str(logged["A"]) in ids.split()
    assert str(logged["B"]) in ids.split()
    people = complete("cms offering list --facilitator a", env)
    assert "ana@uni.edu" in people
    assert "ben@uni.edu" not in people


def test_completion_without_a_database_completes_nothing(tmp_path: Path) -> None:
    env = {"CMS_DATABASE_URL": "mysql+pymysql://x:y@127.0.0.1:1/none", "CMS_HOME": str(tmp_path)}
    assert complete("cms offering show ", env).strip() == ""
