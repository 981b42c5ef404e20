"""The file the reflection page downloads: read and checked, the same way wherever it
is handed in (`reflection submit` against the database, or uploaded to `cms serve`).
No SQLAlchemy: a client checks the file before it sends it."""

from __future__ import annotations

import json
from pathlib import Path

from cms_cli.core import clock, limits, text
from cms_cli.core.errors import ValidationError
from cms_cli.reflection.public import ReflectionCreate

QUESTIONS = ("question1", "question2", "question3")
LANGUAGES = ("en", "fr")
MAX_ANSWER = limits.ANSWER
MAX_FILE = 1_000_000


def read_bytes(path: Path) -> bytes:
    """The file's bytes (ValidationError, exit 1: missing, unreadable, too large)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read it ({exc.strerror})") from exc
    if len(raw) > MAX_FILE:
        raise ValidationError(f"{path}: too large for a reflection ({len(raw)} bytes)")
    return raw


def read_file(path: Path) -> ReflectionCreate:
    """Parse and check the page's JSON file (ValidationError, exit 1, with the reason)."""
    return parse(read_bytes(path), str(path))


def parse(raw: bytes, path: str) -> ReflectionCreate:
    """The page's JSON document checked; every message starts with ``path`` (the file's
    name, as the person gave it, wherever the bytes are read)."""
    if len(raw) > MAX_FILE:
        raise ValidationError(f"{path}: too large for a reflection ({len(raw)} bytes)")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except ValueError as exc:  # undecodable, not JSON, or a number past int's limit
        raise ValidationError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a JSON object")
    offering = data.get("offering")
    if isinstance(offering, bool) or not (
        isinstance(offering, int)
        or (isinstance(offering, str) and offering.strip().isascii() and offering.strip().isdigit())
    ):
        raise ValidationError(
            f"{path}: 'offering' must be an offering id (got {text.shorten(repr(offering))})"
        )
    number = offering if isinstance(offering, int) else int(offering.strip()[:12] or "0")
    if not 1 <= number <= limits.MAX_INT or len(str(offering).strip()) > 12:
        raise ValidationError(f"{path}: 'offering' {text.shorten(str(offering))} is not an id")
    language = data.get("language")
    if language not in LANGUAGES:
        raise ValidationError(
            f"{path}: 'language' must be en or fr (got {text.shorten(repr(language))})"
        )
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise ValidationError(f"{path}: 'answers' must be an object with question1..question3")
    clean: dict[str, str] = {}
    for question in QUESTIONS:
        value = answers.get(question)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{path}: the answer to {question} is missing or blank")
        try:
            answer = text.multi_line(value, f"the answer to {question}", max_length=MAX_ANSWER)
        except ValidationError as exc:
            raise ValidationError(f"{path}: {exc.message}", hint=exc.hint) from None
        assert answer is not None
        clean[question] = answer
    stamp = data.get("submitted_at")
    if not isinstance(stamp, str):
        raise ValidationError(f"{path}: 'submitted_at' must be an ISO 8601 date-time")
    try:
        submitted = clock.parse_instant(stamp.replace("Z", "+00:00"))
    except ValidationError:
        raise ValidationError(
            f"{path}: 'submitted_at' is not an ISO 8601 date-time ({stamp!r})"
        ) from None
    return ReflectionCreate(
        offering_id=number, language=language, answers=clean, submitted_at=submitted
    )
