"""The CLI as a client of `cms serve`: one httpx client per invocation, the session
token as a bearer token, cms's errors back from problem documents (core.problems).

Imports neither SQLAlchemy nor SQLModel: in client mode the CLI holds no database.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from cms_cli.core.errors import NotAuthenticated, Unavailable, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from sqlmodel import Session

    from cms_cli.auth.models import User
    from cms_cli.core.csvfile import ImportReport

T = TypeVar("T")

API = "/api/v1"
TIMEOUT = 30.0


def check_url(url: str, *, insecure: bool) -> str:
    """The server URL, refused when it would send a token in clear to another host:
    ``http://`` is for loopback only unless ``--insecure``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"server_url must be an http(s) URL, got {url!r}",
            hint="e.g. https://cms.uni.example (CMS_SERVER_URL, --server)",
        )
    if parts.scheme == "http" and not insecure and not _loopback(parts.hostname):
        raise UsageError(
            f"refusing to send your session in clear text to {parts.hostname}",
            hint="use https://, or --insecure if you really mean it (docs/operations.md)",
        )
    return url.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Makes the HTTP client (base_url=, headers=): httpx.Client, or, for the test suite's
#: runner, a client of an app in the same process (Starlette's TestClient).
client_factory: Callable[..., Any] | None = None


def http_library() -> Any:
    """httpx, without its own command line: ``httpx/__init__`` imports ``httpx._main``
    (click, pygments, rich's progress bars: ~20 ms of every client's start-up) and falls
    back to a stub when that import fails, as it does where click is not installed."""
    import sys

    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx

    return httpx


def tls_for(url: str) -> Any:
    """The TLS context for ``url``: the system's trust store for https (a campus CA
    installed on the machine is trusted; SSL_CERT_FILE / SSL_CERT_DIR point elsewhere),
    loaded only when used; for http, a context that trusts nothing, so nothing could
    ever be verified by it (no redirect is followed) and nothing is loaded (~35 ms)."""
    import ssl

    if url.startswith("https:"):
        return ssl.create_default_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Remote:
    """Requests to one server, as one person (their token, when they have one)."""

    def __init__(self, url: str, token: str | None) -> None:
        httpx = http_library()

        self.url = url
        headers = {"User-Agent": "cms-cli", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if client_factory is not None:
            self._http = client_factory(base_url=url + API, headers=headers)
        else:
            self._http = httpx.Client(
                base_url=url + API, headers=headers, timeout=TIMEOUT, verify=tls_for(url)
            )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a successful answer; the CmsError of a problem; Unavailable
        (exit 7, naming the URL) when the server cannot be reached."""
        import httpx

        from cms_cli.core.problems import error_of

        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(
                f"server unavailable at {self.url}: {exc.__class__.__name__}: {exc}",
                hint="check the address (server_url, --server) and that cms serve runs",
            ) from None
        if answer.status_code >= 400:
            try:
                document = answer.json()
            except ValueError:
                document = None
            raise error_of(document, answer.status_code)
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)


def remote(*, signed_in: bool = True) -> Remote | None:
    """This invocation's server, or None when it talks to a database itself. With
    ``signed_in``, the stored token goes along (NotAuthenticated, exit 4, without one)."""
    from cms_cli.core.context import current

    invocation = current()
    url = invocation.server_url
    if not url:
        return None
    token = None
    if signed_in:
        from cms_cli.auth import credentials

        stored = credentials.load(invocation.config())
        if stored is None:
            raise NotAuthenticated("not logged in", hint="run cms auth login --email EMAIL")
        token = stored.token
    return Remote(check_url(url, insecure=invocation.insecure), token)


def refuse_operator(command: str) -> None:
    """Operator commands act on the database itself: not from a client."""
    from cms_cli.core.context import current

    url = current().server_url
    if url:
        raise UsageError(
            f"cms {command} is an operator command: run it on the server, not as a client of {url}",
            hint="unset CMS_SERVER_URL (or server_url in the profile) on the server host",
        )


def through(local: Callable[[Session, User], T], far: Callable[[Remote], T]) -> T:
    """One command's call, by this invocation's transport: ``far(remote)`` as a client
    of `cms serve`, else ``local(session, me)`` in one transaction on the database, as
    the person logged in. Both return the same typed result; the command renders it."""
    api = remote()
    if api is not None:
        return far(api)
    from cms_cli.auth.current import signed_in

    with signed_in() as (session, me):
        return local(session, me)


#: The largest file a client uploads (an import of a whole term is a few megabytes).
MAX_UPLOAD = 64 * 1024 * 1024


def upload_import(
    api: Remote,
    what: str,
    file: Path,
    columns: tuple[tuple[str, ...], tuple[str, ...]],
    *,
    dry_run: bool,
) -> ImportReport:
    """An import through the server: the permission first (as a local import checks it
    before reading), the file's header here (its messages name the file as given), then
    the file, whole, for the server to check row by row and write all or nothing."""
    from cms_cli.core.csvfile import CsvFile, ImportReport
    from cms_cli.core.errors import ValidationError
    from cms_cli.core.files import display_name

    path = f"/imports/{what}"
    api.request("POST", path, params={"check": "true"})
    with CsvFile(file, *columns):
        pass
    size = file.stat().st_size
    if size > MAX_UPLOAD:
        raise ValidationError(f"{file}: too large to upload ({size} bytes, at most {MAX_UPLOAD})")
    answer = api.request(
        "POST",
        path,
        params={"name": display_name(file), "dry_run": "true" if dry_run else "false"},
        content=file.read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    return ImportReport(**answer)
