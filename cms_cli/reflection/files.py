"""The file the reflection page downloads: read and checked, the same way wherever it
is handed in (`reflection submit` against the database, or uploaded to `cms serve`).
No SQLAlchemy: a client checks the file before it sends it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cms_cli.core import clock, limits, text
from cms_cli.core.errors import ValidationError
from cms_cli.core.files import display_name
from cms_cli.reflection.public import ReflectionCreate

QUESTIONS = ("question1", "question2", "question3")
LANGUAGES = ("en", "fr")
MAX_ANSWER = limits.ANSWER
MAX_FILE = 1_000_000
#: Times of submission before this, or later than now and this leeway, are refused.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_LEEWAY = timedelta(days=1)


#: What to do about a file the page did not write, or wrote from a wrong link.
FROM_THE_PAGE = "hand in the .json file the reflection page downloaded, unchanged"
RIGHT_LINK = (
    "open the reflection page from the course's own link (it ends in ?offering=NUMBER), "
    "check the answers and download the file again"
)


def _bad(path: str, problem: str, hint: str = FROM_THE_PAGE) -> ValidationError:
    return ValidationError(f"{path}: {problem}", hint=hint)


def read_bytes(path: Path) -> bytes:
    """The file's bytes (ValidationError, exit 1: missing, unreadable, too large)."""
    raw = _head(path)
    if len(raw) > MAX_FILE:
        raise _bad(display_name(path), "too large for a reflection (over 1 MB)")
    return raw


#: At most this many files in one `reflection import` (a term's drop boxes).
MAX_FILES = 5_000
#: At most this many bytes in one import (as an upload to `cms serve` may carry).
MAX_IMPORT = 64_000_000


def collect(paths: list[Path]) -> list[tuple[str, bytes]]:
    """The files of `reflection import`: each named file, and every ``*.json`` in each
    named folder and its subfolders (hidden ones skipped), sorted, each read whole
    (ValidationError, exit 1: a name that does not exist, no file at all, too many)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*.json")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not inside:
                raise ValidationError(f"{display_name(path)}: no .json files in this folder")
            found += inside
        else:
            found.append(path)
    if len(found) > MAX_FILES:
        raise ValidationError(f"{len(found)} files: at most {MAX_FILES} in one import")
    files, total = [], 0
    for path in found:
        raw = _head(path)  # one byte past the limit, so that parse says "too large"
        total += len(raw)
        if total > MAX_IMPORT:
            raise ValidationError(
                f"more than {MAX_IMPORT // 1_000_000} MB of files in one import",
                hint="import the folders one at a time",
            )
        files.append((display_name(path), raw))
    return files


def _head(path: Path) -> bytes:
    from cms_cli.core.files import open_regular

    name = display_name(path)
    with open_regular(path, name) as handle:
        try:
            return handle.read(MAX_FILE + 1)
        except OSError as exc:
            raise ValidationError(f"{name}: cannot read it ({exc.strerror})") from exc


def read_file(path: Path) -> ReflectionCreate:
    """Parse and check the page's JSON file (ValidationError, exit 1, with the reason)."""
    return parse(read_bytes(path), display_name(path))


def parse(raw: bytes, path: str) -> ReflectionCreate:
    """The page's JSON document checked; every message starts with ``path`` (the file's
    name, as the person gave it, wherever the bytes are read), says what is wrong in
    plain words, and has a hint for what to do."""
    if len(raw) > MAX_FILE:
        raise _bad(path, "too large for a reflection (over 1 MB)")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # undecodable, not JSON, too big a number, nested
        raise _bad(path, "not a reflection file (it is not the page's JSON)") from None
    if not isinstance(data, dict) or not ({"offering", "answers"} & data.keys()):
        raise _bad(path, "not a reflection file (none of the page's fields are in it)")
    offering = data.get("offering")
    if offering is None or (isinstance(offering, str) and not offering.strip()):
        raise _bad(
            path,
            "it names no course offering: the page was opened from an incomplete link",
            RIGHT_LINK,
        )
    if isinstance(offering, bool) or not (
        isinstance(offering, int)
        or (isinstance(offering, str) and offering.strip().isascii() and offering.strip().isdigit())
    ):
        raise _bad(
            path,
            f"its course offering '{text.shorten(str(offering))}' is not an offering number",
            RIGHT_LINK,
        )
    number = offering if isinstance(offering, int) else int(offering.strip()[:12] or "0")
    if not 1 <= number <= limits.MAX_INT or len(str(offering).strip()) > 12:
        raise _bad(
            path,
            f"its course offering {text.shorten(str(offering))} is not an offering number",
            RIGHT_LINK,
        )
    language = data.get("language")
    if language not in LANGUAGES:
        raise _bad(
            path, f"its language is {text.shorten(repr(language))}; the page writes en or fr"
        )
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise _bad(path, "it has no answers")
    clean: dict[str, str] = {}
    for number_of, question in enumerate(QUESTIONS, start=1):
        value = answers.get(question)
        if not isinstance(value, str) or not value.strip():
            raise _bad(
                path,
                f"the answer to question {number_of} is missing",
                "every question needs an answer: complete it on the page and download again",
            )
        try:
            answer = text.multi_line(
                value, f"the answer to question {number_of}", max_length=MAX_ANSWER
            )
        except ValidationError as exc:
            raise ValidationError(f"{path}: {exc.message}", hint=exc.hint) from None
        assert answer is not None
        clean[question] = answer
    email = data.get("email")
    if email is not None:
        if not isinstance(email, str):
            raise _bad(path, "its student e-mail is not text")
        try:
            email = text.normalize_email(email)
        except ValidationError:
            raise _bad(
                path,
                f"its student e-mail '{text.shorten(email)}' is not an e-mail address",
                "the student types their institutional e-mail on the page and downloads again",
            ) from None
    stamp = data.get("submitted_at")
    try:
        if not isinstance(stamp, str):
            raise ValidationError("not text")
        submitted = clock.parse_instant(stamp.replace("Z", "+00:00"))
    except ValidationError:
        raise _bad(path, "it has no valid time of submission ('submitted_at')") from None
    # The later of two reflections stays: a time in the future would outlast every
    # later one, and a time before any course is no time at all.
    if not EARLIEST <= submitted <= clock.now() + CLOCK_LEEWAY:
        raise _bad(
            path,
            f"its time of submission ({stamp.strip()[:40]}) is not a plausible one",
            "the computer that wrote it had a wrong clock: set it right and download again",
        )
    return ReflectionCreate(
        offering_id=number, language=language, answers=clean, submitted_at=submitted, email=email
    )
