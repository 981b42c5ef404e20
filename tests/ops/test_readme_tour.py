"""The README's tour works right after `cms demo`: every command of it, in order, each as
a fresh process from the repository's root (the files it names ship in docs/examples/).

A comment on a line may say what to expect: "password: X" is typed at `auth login`
(here through --password-stdin), "exit N" is the documented exit status, and lines that
"run until stopped" or need a terminal ("on a terminal") are not run here (the form has
its own tests through a pseudo-terminal, the worker its own).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = ("runs until stopped", "on a terminal")


def tour() -> list[tuple[list[str], str]]:
    """(argv, comment) of every command of the README's tour, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A tour by role", 1)[1].split("\n## ", 1)[0]
    commands: list[tuple[list[str], str]] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            code, _, comment = line.partition("  #")
            if not code.strip():
                continue
            if code.startswith("export "):  # export CMS_TOKEN="$(cms auth token)"
                inner = re.search(r"\$\((.*)\)", code)
                assert inner is not None, line
                code = inner.group(1)
            parts = code.split("&&")
            for number, part in enumerate(parts):  # the comment is about the last one
                said = comment.strip() if number == len(parts) - 1 else ""
                commands.append((shlex.split(part), said))
    return commands


def help_examples() -> list[str]:
    """Every `Example:` of every command's --help, as one line each."""
    from cms_cli.main import COMMANDS, load_command

    found = []
    for name in COMMANDS:
        command = load_command(name)
        subs = getattr(command, "commands", {}) or {"": command}
        for sub in subs.values():
            doc = sub.help or ""
            match = re.search(r"Example: (.*?)(?:\n\s*\n|$)", doc, flags=re.S)
            if match:
                found.append(" ".join(match.group(1).split()))
    return found


# Help examples that only read, run after the tour (as the registrar): they name the
# demo's data, so a newcomer can paste them.
READ_ONLY = re.compile(r"^cms (\S+ )?(list|show|students|status|current)\b|--dry-run")
# Whose inbox item 1 is depends on the day the demo was built: not run here.
PERSONAL = ("cms inbox show",)


def test_help_examples_use_the_demo_accounts() -> None:
    examples = help_examples()
    assert len(examples) >= 50
    for example in examples:
        for address in re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", example):
            assert address.endswith(("@uni.example", "@students.uni.example")), example


def test_the_tour_is_there() -> None:
    steps = tour()
    assert len(steps) >= 20
    assert all(argv[0] == "cms" for argv, _ in steps)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the embedded default
def test_the_readme_tour_runs_after_the_demo(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "CMS_HOME": str(tmp_path / "home")}
    env.pop("CMS_DATABASE_URL", None)
    env.pop("CMS_TOKEN", None)
    cms = [sys.executable, "-m", "cms_cli"]
    here = tmp_path / "clone"  # the newcomer's clone: docs/ at hand, files written here
    here.mkdir()
    (here / "docs").symlink_to(ROOT / "docs")
    demo = subprocess.run([*cms, "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    ran = 0
    for argv, comment in tour():
        if any(word in comment for word in SKIP):
            continue
        stdin = None
        password = re.search(r"password: (\S+)", comment)
        if password:
            argv, stdin = [*argv, "--password-stdin"], password.group(1) + "\n"
        expected = re.search(r"\bexit (\d+)", comment)
        run = subprocess.run(
            [*cms, *argv[1:]],
            env=env,
            cwd=here,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        code = int(expected.group(1)) if expected else 0
        assert run.returncode == code, f"{shlex.join(argv)} -> {run.returncode}\n{run.stderr}"
        assert "Traceback" not in run.stderr
        ran += 1
    assert ran >= 18
    assert "<main>" in (here / "compliance.html").read_text(encoding="utf-8")
    login = [*cms, "auth", "login", "--email", "registrar@uni.example", "--password-stdin"]
    subprocess.run(login, env=env, input="demo-manager-pw\n", text=True, check=True)
    done = {shlex.join(argv) for argv, _ in tour()}
    ran = 0
    for example in help_examples():
        taken = not READ_ONLY.search(example) or "|" in example or ">" in example
        taken = taken or example.startswith(PERSONAL)
        if taken or shlex.join(shlex.split(example)) in done:  # the tour imported it
            continue
        argv = shlex.split(example)
        run = subprocess.run(
            [*cms, *argv[1:]], env=env, cwd=here, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, f"{example} -> {run.returncode}\n{run.stderr}"
        ran += 1
    assert ran >= 12


def test_the_team_server_section_runs_after_the_demo(tmp_path: Path) -> None:
    """ "A team on one server": `cms serve` over the demo's database (on a free port, in
    place of the README's), then a laptop with no database URL logs in and lists,
    the README's https address replaced by the local server's."""
    import time

    import httpx
    from servers import free_port

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A team on one server", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines[0].startswith("cms serve ")
    server_env = {**os.environ, "CMS_HOME": str(tmp_path / "server")}
    for name in ("CMS_DATABASE_URL", "CMS_TOKEN", "CMS_SERVER_URL"):
        server_env.pop(name, None)
    cms = [sys.executable, "-m", "cms_cli"]
    demo = subprocess.run([*cms, "demo"], env=server_env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    port = free_port()
    serve = shlex.split(lines[0].partition("  #")[0].replace("--port 8080", f"--port {port}"))
    server = subprocess.Popen(
        [*cms, *serve[1:]], env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "cms serve stopped"
            assert time.monotonic() < deadline, "cms serve did not answer"
            time.sleep(0.2)
        laptop = {k: v for k, v in server_env.items() if not k.startswith("CMS_")}
        laptop["CMS_HOME"] = str(tmp_path / "laptop")
        for line in lines[1:]:
            code, _, comment = line.partition("  #")
            code = code.replace("https://cms.uni.example", url)
            if code.startswith("export "):
                assignment, _, code = code.removeprefix("export ").partition("&&")
                name, _, value = assignment.strip().partition("=")
                laptop[name] = value
            password = re.search(r"password: (\S+)", comment)
            argv = shlex.split(code)
            stdin = None
            if password:
                argv, stdin = [*argv, "--password-stdin"], password.group(1) + "\n"
            run = subprocess.run(
                [*cms, *argv[1:]], env=laptop, input=stdin, capture_output=True, text=True
            )
            assert run.returncode == 0, f"{code} -> {run.returncode}\n{run.stderr}"
        assert "ana.lopez@uni.example" in run.stdout  # her offerings, from the server
    finally:
        server.terminate()
        server.wait(timeout=15)
