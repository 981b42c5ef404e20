"""The remote call of a declared operation: a request to `cms serve`, with the session
token as a bearer token, and cms's errors back from problem documents (core.problems).

The standard library's HTTP client (``urllib.request``): it honours HTTPS_PROXY and
NO_PROXY, takes an ``ssl`` context on the system's trust store, and costs a client's
start-up a fraction of a third-party one. No SQLAlchemy, no pydantic-settings.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from cms_cli.core.errors import NotAuthenticated, Unavailable, UsageError, ValidationError
from cms_cli.core.operation import Rows

if TYPE_CHECKING:
    from pydantic import BaseModel

    from cms_cli.core.operation import Operation

API = "/api/v1"
TIMEOUT = 30.0
#: The rows a client asks for per request when it wants them all (the server's most).
PAGE = 1_000


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


def tls_for(url: str) -> Any:
    """The TLS context for ``url``: the system's trust store for https (a campus CA
    installed on the machine is trusted; SSL_CERT_FILE / SSL_CERT_DIR point elsewhere),
    loaded only when used; for http, none."""
    import ssl

    if url.startswith("https:"):
        return ssl.create_default_context()
    return None


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    #: The body: bytes, or an open file streamed from disk (an upload).
    body: bytes | IO[bytes] | None = None


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


#: Sends a Request and returns its Answer: urllib, or, for the test suite's runner, the
#: app in the same process. Raises OSError when the server cannot be reached.
sender: Callable[[Request], Answer] | None = None


class _NoRedirect:
    """Redirects are not followed: a token is never carried to another address."""

    @staticmethod
    def handler() -> Any:
        import urllib.request

        class Refuse(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        return Refuse()


def _send(request: Request) -> Answer:
    import urllib.error
    import urllib.request

    handlers: list[Any] = [_NoRedirect.handler()]
    context = tls_for(request.url)
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    # check_url admits http(s) only: no file: or custom scheme reaches here.
    wire = urllib.request.Request(  # noqa: S310
        request.url, data=request.body, headers=request.headers, method=request.method
    )
    try:
        with opener.open(wire, timeout=TIMEOUT) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, dict(error.headers.items()), error.read())


def deliver(request: Request) -> Answer:
    """``request`` sent, its answer whatever the status; OSError when the server cannot
    be reached."""
    return (sender or _send)(request)


def unreachable(url: str, exc: OSError) -> Unavailable:
    """Exit 7 for a server that could not be reached, saying why: a certificate this
    machine does not trust is named as such (the address is right; the trust store is
    what to fix)."""
    import ssl

    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return Unavailable(
            f"the certificate of {url} is not trusted here ({reason.verify_message})",
            hint="install the certificate authority that signed it on this machine (or "
            "point SSL_CERT_FILE at it); the address itself is right",
        )
    return Unavailable(
        f"server unavailable at {url}: {reason}",
        hint="check the address (server_url, --server) and that cms serve runs",
    )


def server_timezone(url: str) -> str | None:
    """The institution's time zone as the server at ``url`` says it (/health), or None
    when it does not say."""
    try:
        answer = deliver(Request("GET", url + "/health", {"Accept": "application/json"}))
        zone = json.loads(answer.body).get("timezone")
    except (OSError, ValueError, AttributeError):
        return None
    return zone if isinstance(zone, str) else None


class Remote:
    """Requests to one server, as one person (their token, when they have one)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.headers = {"User-Agent": "cms-cli", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    # -- one request ----------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | IO[bytes] | None = None,
        media_type: str = "application/json",
        length: int | None = None,
    ) -> Answer:
        """The answer to ``method target`` (a path under the API with its query); the
        CmsError of a problem; Unavailable (exit 7, naming the URL) when the server
        cannot be reached."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = media_type
            if length is not None:
                headers["Content-Length"] = str(length)
        request = Request(method, self.url + API + target, headers, body)
        answer = self._deliver(request)
        wait = _told_to_wait(answer)
        if wait is not None and _rewound(body):
            # Over the client's rate limit: nothing was done; once more, when told.
            from cms_cli.core.output import message

            message(f"the server is limiting this client's requests: waiting {wait} s")
            time.sleep(wait)
            answer = self._deliver(request)
        if answer.status >= 400:
            from cms_cli.core.problems import error_of

            try:
                document = json.loads(answer.body)
            except ValueError:
                document = None
            raise error_of(document, answer.status)
        return answer

    def _deliver(self, request: Request) -> Answer:
        try:
            return deliver(request)
        except OSError as exc:
            raise unreachable(self.url, exc) from None

    # -- a declared operation ---------------------------------------------------------

    def check(self, operation: Operation, data: BaseModel) -> None:
        """The operation's pre-check on the server (its permission and existence
        checks, nothing written), before a confirmation or a file is read."""
        self._call(operation, data, check=True)

    def run(self, operation: Operation, data: BaseModel) -> Any:
        answer = self._call(operation, data)
        if answer.status == 204 or not answer.body:
            return None
        return operation.results().validate_json(answer.body)

    def rows(self, operation: Operation, data: BaseModel, limit: int) -> Rows:
        """A listing: ``limit`` rows (0: every row, page after page, following the
        server's ``Link: rel="next"``), with the count of every row that matches."""
        wanted = limit or None
        found: list[Any] = []
        total = 0
        offset = 0
        adapter = operation.results()
        while True:
            size = PAGE if wanted is None else min(PAGE, wanted - len(found))
            answer = self._call(operation, data, page=(size, offset))
            page = adapter.validate_json(answer.body)
            found.extend(page)
            total = int(answer.header("X-Total-Count") or len(found))
            offset += len(page)
            more = 'rel="next"' in (answer.header("Link") or "")
            if not page or not more or (wanted is not None and len(found) >= wanted):
                return Rows(found, total)

    def _call(
        self,
        operation: Operation,
        data: BaseModel,
        *,
        check: bool = False,
        page: tuple[int, int] | None = None,
    ) -> Answer:
        skip = {operation.upload.field} if operation.upload is not None else set()
        values = data.model_dump(mode="json", by_alias=True, exclude=skip)
        shown = {n: f.alias or n for n, f in type(data).model_fields.items()}
        path = operation.path.format(
            **{f: _segment(values[shown[f]]) for f in operation.path_fields}
        )
        query: dict[str, Any] = {}
        body: Any = None
        rest = {shown[f]: values[shown[f]] for f in operation.rest_fields}
        whole = shown[operation.body] if operation.body is not None else None
        if whole is not None and operation.writes:
            body = json.dumps(rest.pop(whole)).encode()
        if not operation.writes or operation.upload is not None:
            if whole is not None:
                rest.update(rest.pop(whole) or {})
            query.update(rest)
        elif body is None:
            body = json.dumps(rest).encode()
        if check:
            query["check"] = True
        if page is not None:
            query["limit"], query["offset"] = page
        target = path + _query(query)
        if operation.upload is not None and not check:
            return self._upload(operation, data, target)
        if operation.upload is not None:
            body = None
        return self.request(operation.method, target, body=body)

    def _upload(self, operation: Operation, data: BaseModel, target: str) -> Answer:
        """The operation's file as the request's body: bytes as they are, a path's
        file streamed from disk (refused here past the server's limit)."""
        upload = operation.upload
        assert upload is not None
        value = getattr(data, upload.field)
        if isinstance(value, bytes):
            return self.request(operation.method, target, body=value, media_type=upload.media_type)
        size = value.stat().st_size
        if size > upload.limit:
            raise ValidationError(
                f"{value}: too large to upload ({size} bytes, at most {upload.limit})"
            )
        with value.open("rb") as stream:
            return self.request(
                operation.method,
                target,
                body=stream,
                media_type=upload.media_type,
                length=size,
            )


#: The longest a command waits, once, when the server says it is over its rate limit
#: (a limit is per minute: past this, the command fails with exit 7 and says when).
MAX_WAIT = 60


def _told_to_wait(answer: Answer) -> int | None:
    """The seconds a 429 asks the client to wait, when it says and it is not too long."""
    if answer.status != 429:
        return None
    given = (answer.header("Retry-After") or "").strip()
    if not given.isdigit() or int(given) > MAX_WAIT:
        return None
    return max(1, int(given))


def _rewound(body: bytes | IO[bytes] | None) -> bool:
    """Whether ``body`` can be sent again (a file streamed is read from its start)."""
    if body is None or isinstance(body, bytes):
        return True
    try:
        body.seek(0)
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _segment(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _query(values: dict[str, Any]) -> str:
    """``?a=1&b=x`` of the values that are set (booleans as true/false, lists repeated)."""
    pairs: list[tuple[str, Any]] = []
    for key, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for one in items:
            pairs.append((key, ("true" if one else "false") if isinstance(one, bool) else one))
    return "?" + urlencode(pairs) if pairs else ""


def connect(*, signed: bool = True) -> Remote | None:
    """This invocation's server, or None when it talks to a database itself. With
    ``signed``, the stored token goes along (NotAuthenticated, exit 4, without one)."""
    from cms_cli.core.context import current

    invocation = current()
    url = invocation.server_url
    if not url:
        return None
    token = None
    if signed:
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
