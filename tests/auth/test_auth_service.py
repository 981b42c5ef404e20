"""Service-level checks: password hashing, the token store, the keyring fallback."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from cms_cli.auth import credentials, service
from cms_cli.core.config import load_config
from cms_cli.core.errors import ValidationError


def test_password_hash_is_bcrypt_cost_12_by_default() -> None:
    hashed = service.hash_password("correct-horse-9")
    assert hashed.startswith("$2b$12$")
    assert service.verify_password("correct-horse-9", hashed)
    assert not service.verify_password("wrong", hashed)
    assert not service.verify_password("anything", None)


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("short", "a@b.c"),
        ("a@uni.edu", "a@uni.edu"),
        ("A@UNI.EDU", "a@uni.edu"),
        ("x" * 73, "a@b.c"),
    ],
)
def test_password_rules(password: str, email: str) -> None:
    with pytest.raises(ValidationError):
        service.check_password(password, email)


@pytest.mark.parametrize("email", ["plain", "a@", "@b.c", "a b@c.d", "a@b@c"])
def test_email_shape(email: str) -> None:
    with pytest.raises(ValidationError):
        service.normalize_email(email)


def test_normalize_email() -> None:
    assert service.normalize_email("  Ana.Lopez@Uni.EDU ") == "ana.lopez@uni.edu"


class MemoryKeyring:
    """A keyring backend that works, in memory (stands for Secret Service / Keychain)."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.store.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.store[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        self.store.pop((service, user), None)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CMS_HOME", str(tmp_path))
    monkeypatch.delenv("CMS_TOKEN", raising=False)
    return load_config()


def test_a_working_keyring_is_used(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = MemoryKeyring()
    monkeypatch.setattr(credentials, "keyring_backend", lambda: ring)
    assert credentials.save(config, "tok-1") == credentials.Saved("keyring")
    assert not credentials.token_file(config).exists()
    assert credentials.load(config) == credentials.StoredToken("tok-1", "keyring")
    credentials.delete(config)
    assert ring.store == {}
    assert credentials.load(config) is None


def test_no_keyring_falls_back_to_a_private_file(
    config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert credentials.keyring_backend() is None  # PYTHON_KEYRING_BACKEND=fail in the tests
    saved = credentials.save(config, "tok-2")
    file = credentials.token_file(config)
    assert saved.store == "file"
    assert saved.notice is not None
    assert "no usable OS keyring" in saved.notice
    assert str(file) in saved.notice
    assert capsys.readouterr().err == ""  # a service says nothing: the command prints it
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert credentials.load(config) == credentials.StoredToken("tok-2", "file")
    assert credentials.save(config, "tok-3").notice is None  # said once: a new file


def test_plaintext_and_null_backends_count_as_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import null

    monkeypatch.setattr(keyring, "get_keyring", lambda: null.Keyring())
    assert credentials.keyring_backend() is None


def test_a_hanging_keyring_times_out(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    gate = threading.Event()

    class Hanging(MemoryKeyring):
        def set_password(self, service: str, user: str, value: str) -> None:
            gate.wait(10)

    monkeypatch.setattr(credentials, "keyring_backend", lambda: Hanging())
    monkeypatch.setattr(credentials, "KEYRING_TIMEOUT", 0.2)
    assert credentials.save(config, "tok-4").store == "file"
    gate.set()


def test_env_token_wins(config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.save(config, "from-file")
    monkeypatch.setenv("CMS_TOKEN", "from-env")
    assert credentials.load(config) == credentials.StoredToken("from-env", "env")
