"""Files cms keeps for one person: created readable by that person only.

The embedded database, the queue file and the token file hold accounts, password
hashes and session tokens; their folders are created 0700 and the files 0600, whatever
the umask. Files that exist already are left as their owner set them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path


def display_name(path: Path | str) -> str:
    """A file's name as text that can travel (JSON, a query string, a terminal): bytes
    that are not UTF-8 (a name from another system) shown as ``\\xff`` escapes, the
    same wherever the name is used, instead of the surrogates Python keeps them as."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) created with mode 0700."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """``path`` created empty with mode 0600 if it does not exist (its folder 0700)."""
    private_dir(path.parent)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path  # another process created it just now
        os.fchmod(fd, 0o600)
        os.close(fd)
    return path


def write_output(path: Path, data: str | bytes) -> None:
    """A file a command was asked to write (``--html``, ``--ics``): written whole, or a
    one-line error (exit 1) naming the file and why, never a traceback."""
    import errno
    import fcntl

    from cms_cli.core.errors import ValidationError

    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        # Without a reader, a FIFO would make the command wait forever: opened without
        # blocking, it is refused at once (ENXIO); a pipe someone reads, a terminal or
        # /dev/stdout are written as a file is.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK
        fd = os.open(path, flags, 0o644)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "wb") as sink:
            sink.write(payload)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENXIO:
            reason = "it is a pipe that nobody reads"
        raise ValidationError(
            f"cannot write {path}: {reason}", hint="choose a file you can write"
        ) from None


def open_regular(path: Path, name: str | None = None) -> io.BufferedReader:
    """``path`` opened for reading, if it is a regular file: a FIFO, a device or a socket
    is refused at once (opening a FIFO would wait for a writer forever), a folder or a
    missing file named as such (ValidationError, exit 1)."""
    import os
    import stat

    from cms_cli.core.errors import ValidationError

    shown = name or display_name(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ValidationError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"{shown}: a folder, not a file") from None
    except OSError as exc:
        raise ValidationError(f"{shown}: cannot read it ({exc.strerror})") from exc
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise ValidationError(f"{shown}: a folder, not a file")
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ValidationError(f"{shown}: not a regular file (a pipe or a device)")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
