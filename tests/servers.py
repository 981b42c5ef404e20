"""Private servers for the tests: started from the installed binaries on a free port of
127.0.0.1 with a temporary data directory, and stopped afterwards.

On a developer machine without the binary the tests that need it skip with the reason;
under ``CI=true`` a missing server is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip, or fail under CI=true."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: a missing server is a failure)", pytrace=False)
    pytest.skip(what)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
        )
        if found:
            return found
    return None


def _wait(check: object, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            check()  # type: ignore[operator]
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{what} did not start in 60 s: {last}")


def _install_db(install: str, data: Path, user: str, attempts: int = 3) -> None:
    """mariadb-install-db into ``data``; once in a while it fails when another test
    process starts a server at the same moment: tried again in a clean folder, and its
    own words are in the error when it keeps failing."""
    for attempt in range(1, attempts + 1):
        shutil.rmtree(data, ignore_errors=True)
        done = subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={data}",
                f"--user={user}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return
        if attempt == attempts:
            said = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{install} failed ({done.returncode}): " + " | ".join(said))
        time.sleep(attempt)


@contextlib.contextmanager
def mariadb() -> Iterator[str]:
    """A private MariaDB (or MySQL); yields a root URL without a database."""
    server = _which("mariadbd", "mysqld")
    install = _which("mariadb-install-db", "mysql_install_db")
    if server is None or install is None:
        missing("MariaDB is not installed (apt-get install mariadb-server)")
    assert server is not None
    assert install is not None
    import pymysql

    user = getpass.getuser()
    with tempfile.TemporaryDirectory(prefix="cms-mariadb-") as tmp:
        data = Path(tmp) / "data"
        log = Path(tmp) / "error.log"
        sock = Path(tmp) / "mysqld.sock"
        _install_db(install, data, user)
        port = free_port()
        proc = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                f"--user={user}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={sock}",
                f"--pid-file={Path(tmp) / 'mysqld.pid'}",
                f"--log-error={log}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2",
                "--max-connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def ready() -> None:
                pymysql.connect(unix_socket=str(sock), user="root").close()

            _wait(ready, proc, log, "MariaDB")
            conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
            with conn.cursor() as cur:
                cur.execute("CREATE USER 'cms'@'%' IDENTIFIED BY 'cms-test-pw'")
                # An administrator's account: it may grant (tests/ops/test_db_grants.py).
                cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'cms'@'%' WITH GRANT OPTION")
            conn.close()
            yield f"mysql+pymysql://cms:cms-test-pw@127.0.0.1:{port}/"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start_redis(port: int, folder: str) -> subprocess.Popen[bytes]:
    """redis-server on 127.0.0.1:port, nothing on disk but its log; waits until it answers."""
    import redis

    binary = _which("redis-server")
    if binary is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    assert binary is not None
    log = Path(folder) / "redis.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*args, "--dir", folder, "--logfile", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(lambda: redis.Redis(host="127.0.0.1", port=port).ping(), proc, log, "Redis")
    return proc


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server; yields (URL, process) so tests can stop and restart it."""
    with tempfile.TemporaryDirectory(prefix="cms-redis-") as tmp:
        port = free_port()
        proc = _start_redis(port, tmp)
        try:
            yield f"redis://127.0.0.1:{port}/0", proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@contextlib.contextmanager
def redis_again(url: str) -> Iterator[subprocess.Popen[bytes]]:
    """redis-server again on the port of ``url`` (after a test stopped it), stopped and
    its folder removed at the end."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with tempfile.TemporaryDirectory(prefix="cms-redis-") as tmp:
        proc = _start_redis(port, tmp)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class SmtpSink:
    """An aiosmtpd server on a free port that keeps every message it receives."""

    def __init__(self) -> None:
        import threading

        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.recipients: list[list[str]] = []  # each message's envelope recipients (RCPT TO)
        self.port = free_port()
        self.fail = False
        self.delay = 0.0  # seconds each message takes to be accepted
        self.receiving = threading.Event()  # set when a message starts arriving
        self.greetings = 0  # EHLO/HELO received: one per connection a client opens
        #: Mailboxes that refuse mail: address -> the reply to its RCPT TO ("550 ...").
        self.refuse: dict[str, str] = {}
        sink = self

        class Handler:
            async def handle_EHLO(
                self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
            ) -> list[str]:
                sink.greetings += 1
                session.host_name = hostname
                return responses

            async def handle_RCPT(
                self,
                server: Any,
                session: Any,
                envelope: Any,
                address: str,
                rcpt_options: list[str],
            ) -> str:
                if address in sink.refuse:
                    return sink.refuse[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import asyncio

                sink.receiving.set()
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                if sink.fail:
                    return "451 4.3.0 try again later"
                from email import message_from_bytes
                from email.policy import default

                sink.messages.append(message_from_bytes(envelope.content, policy=default))
                sink.recipients.append(list(envelope.rcpt_tos))
                return "250 OK"

        self._handler = Handler()
        self.controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        """Down and up again on the same port: the clients' connections are cut."""
        from aiosmtpd.controller import Controller

        self.controller.stop()
        self.controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()


def wait_until_up(proc: subprocess.Popen[str], url: str, verify: Any = True) -> None:
    """Until the server at ``url`` answers /health with 200 (it fails if it exits, or
    after 30 s)."""
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the server did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
        time.sleep(0.1)
