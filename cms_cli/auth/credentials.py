"""Where the session token lives on this machine: ``CMS_TOKEN``, the OS keyring, or a
0600 file in the config directory when no real keyring works (headless servers)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from cms_cli.core.config import Config
from cms_cli.core.files import private_dir

Store = Literal["keyring", "file", "env"]


class Keyring(Protocol):
    """What cms asks of a keyring backend (keyring.backend.KeyringBackend)."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


@dataclass(frozen=True)
class Saved:
    """Where a token went, and what to tell the person about it (once: a new file)."""

    store: Store
    notice: str | None = None


KEYRING_TIMEOUT = 5.0
T = TypeVar("T")


@dataclass(frozen=True)
class StoredToken:
    token: str
    store: Store


def _service(config: Config) -> str:
    return f"cms:{config.paths.config_dir}"


def token_file(config: Config) -> Path:
    return config.paths.config_dir / f"token-{config.profile}"


def _bounded(call: Callable[[], T]) -> T:
    """Run a keyring call with a timeout: a locked or absent D-Bus must not hang cms."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=KEYRING_TIMEOUT)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def keyring_backend() -> Keyring | None:
    """The keyring backend if a real, secure one is usable; None on a headless machine."""
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = _bounded(keyring.get_keyring)
    except Exception:  # a broken keyring install is "no keyring", never a crash
        return None
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    module = type(backend).__module__
    if module.startswith(("keyring.backends.null", "keyrings.alt")):
        return None  # "null" drops secrets; keyrings.alt keeps them in plaintext
    return backend


def keyring_name() -> str:
    backend = keyring_backend()
    if backend is None:
        return "none (token file fallback)"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def load(config: Config) -> StoredToken | None:
    """The session token: ``CMS_TOKEN``, else the token file, else the keyring.

    The file comes before the keyring: it exists only when the last login could not use
    the keyring (a login that stores in the keyring deletes it), so it is the newer of
    the two; and a command then never pays for loading the keyring's backends.
    """
    env = os.environ.get("CMS_TOKEN")
    if env:
        return StoredToken(env.strip(), "env")
    path = token_file(config)
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return StoredToken(token, "file")
    backend = keyring_backend()
    if backend is not None:
        try:
            found = _bounded(lambda: backend.get_password(_service(config), config.profile))
        except Exception:
            found = None
        if found:
            return StoredToken(str(found), "keyring")
    return None


def save(config: Config, token: str) -> Saved:
    """Keep the token in the keyring, else in a 0600 file (with a notice to show when
    that file is new). Prints nothing: the command says it."""
    backend = keyring_backend()
    if backend is not None:
        try:
            _bounded(lambda: backend.set_password(_service(config), config.profile, token))
        except Exception:  # noqa: S110 - fall through to the file
            pass
        else:
            token_file(config).unlink(missing_ok=True)
            return Saved("keyring")
    path = token_file(config)
    private_dir(path.parent)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode())
    finally:
        os.close(fd)
    notice = (
        f"no usable OS keyring; the session token is kept in {path} (readable by you only)"
        if created
        else None
    )
    return Saved("file", notice)


def delete(config: Config) -> None:
    backend = keyring_backend()
    if backend is not None:
        with contextlib.suppress(Exception):  # nothing stored there is fine
            _bounded(lambda: backend.delete_password(_service(config), config.profile))
    token_file(config).unlink(missing_ok=True)
