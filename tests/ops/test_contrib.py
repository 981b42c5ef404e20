"""The service files cms ships (contrib/): systemd units and timers, the nginx site, the
Containerfile and its compose file. What the docs tell an operator to copy must work
as it is: checked by systemd-analyze where the machine has it, and by a reader of
their own rules everywhere (no inline comments, the keys each kind needs, one port)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "contrib" / "systemd"
UNITS = sorted(SYSTEMD.glob("cms-*.service")) + sorted(SYSTEMD.glob("cms-*.timer"))


def sections(unit: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        strict=True, interpolation=None, comment_prefixes=("#", ";"), inline_comment_prefixes=None
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text(encoding="utf-8"), source=str(unit))
    return parser


def test_every_unit_has_what_systemd_needs_and_no_inline_comment() -> None:
    names = {unit.name for unit in UNITS}
    assert {"cms-worker.service", "cms-serve.service", "cms-sweep.service",
            "cms-sweep.timer"} <= names  # fmt: skip
    for unit in UNITS:
        for number, line in enumerate(unit.read_text().splitlines(), start=1):
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                # systemd has no inline comments: "KEY=value  # note" keeps the note.
                where = f"{unit.name}:{number}: {line}"
                assert " #" not in line, where
                assert "\t#" not in line, where
        parsed = sections(unit)
        assert parsed["Unit"]["Description"], unit.name
        if unit.suffix == ".service":
            service = parsed["Service"]
            assert service["ExecStart"].startswith(("/opt/cms/bin/cms ", "/bin/sh -c ")), unit
            assert service["User"] == "cms"
            assert service["EnvironmentFile"] == "/etc/cms/cms.env"
            if service.get("Type") != "oneshot":  # long-running: enabled at boot
                assert parsed["Install"]["WantedBy"] == "multi-user.target", unit.name
        else:
            timer = parsed["Timer"]
            assert timer["OnCalendar"]
            assert timer["Persistent"] == "true"
            assert (SYSTEMD / timer["Unit"]).exists(), unit.name
            assert parsed["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    """As installed: the cms of this environment in place of /opt/cms/bin/cms, and the
    user running the tests in place of the cms account (verify checks both exist)."""
    import getpass

    cms = Path(sys.executable).with_name("cms")
    user = getpass.getuser()
    for unit in UNITS:
        text = unit.read_text().replace("/opt/cms/bin/cms", str(cms))
        text = re.sub(r"^(User|Group)=cms$", rf"\1={user}", text, flags=re.MULTILINE)
        (tmp_path / unit.name).write_text(text)
    run = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def test_the_nginx_site_fits_cms_serve() -> None:
    site = (ROOT / "contrib" / "nginx" / "cms.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in site.splitlines())
    assert code.count("{") == code.count("}")
    port = re.search(r"--port (\d+)", (SYSTEMD / "cms-serve.service").read_text())
    assert port is not None
    upstreams = set(re.findall(r"proxy_pass (\S+);", code))
    assert upstreams == {f"http://127.0.0.1:{port.group(1)}"}
    cap = re.search(r"client_max_body_size (\d+)m;", code)
    assert cap is not None
    assert int(cap.group(1)) >= 64
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in code
    assert re.search(r"location /metrics \{[^}]*deny all;", code)


def test_the_compose_file_runs_serve_worker_mariadb_redis() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "contrib" / "container" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"serve", "worker", "mariadb", "redis", "migrate"} <= set(services)
    assert services["serve"]["command"][0] == "serve"
    assert services["worker"]["command"][0] == "worker"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy noeviction" in redis
    assert "--appendonly yes" in redis
    env = services["serve"]["environment"]
    assert env == services["worker"]["environment"] == services["migrate"]["environment"]
    assert env["CMS_DATABASE_URL"].startswith("mysql+pymysql://cms:")
    containerfile = (ROOT / services["migrate"]["build"]["dockerfile"]).read_text()
    assert 'ENTRYPOINT ["cms"]' in containerfile
    for copied in re.findall(r"^COPY (\S+)", containerfile, flags=re.MULTILINE):
        assert (ROOT / copied).exists(), copied


def _container_tool() -> str | None:
    for tool in ("podman", "docker"):
        if (
            shutil.which(tool)
            and subprocess.run([tool, "info"], capture_output=True, timeout=30).returncode == 0
        ):
            return tool
    return None


@pytest.mark.slow
def test_the_image_builds_where_a_container_tool_runs() -> None:
    """Built only where podman or docker works (docs/development.md says so): the
    image answers `cms --version`."""
    tool = _container_tool()
    if tool is None:
        pytest.skip("no working podman or docker on this machine: the image is not built")
    build = subprocess.run(
        [tool, "build", "-f", "contrib/container/Containerfile", "-t", "cms-test:latest", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    version = subprocess.run(
        [tool, "run", "--rm", "cms-test:latest", "--version"], capture_output=True, text=True
    )
    assert version.stdout.startswith("cms ")


def test_the_docs_point_at_the_shipped_files() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in ("contrib/systemd/", "contrib/nginx/cms.conf", "contrib/container/compose.yaml"):
        assert name in operations, name
    # No unit is written out inline any more (the inline ones had inline comments).
    assert "[Service]" not in operations
