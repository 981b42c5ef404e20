"""Text that people type, and text that reaches a terminal or a spreadsheet.

At input, names, codes and free text refuse control characters (C0 and C1, ESC, DEL;
CR/LF except the newlines of notes and answers) and bidirectional overrides, and are
held to the documented maximum length of their field (docs/limits.md), the same on
SQLite and MySQL, before the database sees them (ValidationError, exit 1).

At output, text stored before these checks (or arriving by another way) is shown with
those characters made visible (``\\x1b``), so a value can never clear a screen, recolour
it, hide a link or rewrite a line. CSV cells that a spreadsheet would run as a formula
get a leading ``'`` (OWASP's advice); JSON stays exact.
"""

from __future__ import annotations

import re

from cms_cli.core import limits
from cms_cli.core.errors import ValidationError

# C0 controls, DEL, C1 controls; Unicode line/paragraph separators; bidirectional
# embeddings, overrides and isolates ("Trojan Source"); lone surrogates (U+D800-DFFF:
# a JSON "\ud800" or an argument's undecodable byte, which no database or terminal can
# take). Tab and newline are listed: single-line fields refuse them too, multi-line ones
# allow them (below).
_OTHERS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL = "\x00-\x1f" + _OTHERS
_ANY_CONTROL = re.compile(f"[{_CONTROL}]")
# The same less tab (0x09) and newline (0x0a): what free text may hold.
_MULTILINE_BAD = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")

#: Spreadsheet formula triggers at the start of a CSV cell (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def refuse_controls(text: str, field: str) -> None:
    """ValidationError when a one-line value holds a control character (tab and
    newline included); the caller applies its own length rules."""
    _refuse(_ANY_CONTROL, text, field, "type it on one line, without tabs or escape sequences")


_SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_surrogates(text: str, field: str) -> None:
    """ValidationError when ``text`` holds a lone surrogate (not text: no database can
    store it); for values that may otherwise hold anything (a password)."""
    _refuse(_SURROGATE, text, field, "it holds bytes that are not text (UTF-8)")


def _refuse(pattern: re.Pattern[str], text: str, field: str, hint: str) -> None:
    bad = pattern.search(text)
    if bad:
        raise ValidationError(
            f"{field} must not contain control characters (found U+{ord(bad.group()):04X})",
            hint=hint,
        )


def single_line(
    value: str | None, field: str, *, max_length: int, min_length: int = 1
) -> str | None:
    """A one-line value, trimmed: None when blank (and min_length allows it), else
    checked for control characters and length. Inner runs of spaces are kept."""
    if value is None:
        return None
    text = value.strip(" ")
    refuse_controls(text, field)
    if not text:
        if min_length > 0:
            raise ValidationError(f"{field} must not be empty")
        return None
    check_length(text, field, max_length=max_length, min_length=min_length)
    return text


def multi_line(value: str | None, field: str, *, max_length: int) -> str | None:
    """Free text (notes, answers): newlines and tabs allowed (CRLF becomes LF), other
    control characters refused, at most ``max_length`` characters; None when blank."""
    if value is None:
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    _refuse(_MULTILINE_BAD, text, field, "plain text only: no terminal escape sequences")
    if not text:
        return None
    check_length(text, field, max_length=max_length)
    return text


def check_length(text: str, field: str, *, max_length: int, min_length: int = 1) -> None:
    if not min_length <= len(text) <= max_length:
        if min_length <= 1:
            raise ValidationError(
                f"{field} is too long: {len(text)} characters, at most {max_length}"
            )
        raise ValidationError(
            f"{field} must have {min_length} to {max_length} characters (got {len(text)})"
        )


#: ``name@domain.tld`` (or ``name@host`` on a campus network): one @, no spaces.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@[A-Za-z0-9-]+$")


def normalize_email(email: str) -> str:
    """One identity per address: NFC, trimmed, lower-case, shaped like ``name@domain``;
    an invisible character (a zero-width space, a soft hyphen, a byte-order mark: any
    "format" character) or a part that mixes scripts (a Cyrillic a, U+0430, among Latin
    letters) is refused, since it would read exactly like another account's address
    (ValidationError, exit 1; docs/limits.md)."""
    import unicodedata

    invisible = ("Cf", "Mn", "Me", "Zs", "Zl", "Zp")
    value = unicodedata.normalize("NFC", email.strip()).lower()
    local, at, domain = value.rpartition("@")
    if at and domain.endswith(".") and not domain.endswith(".."):
        domain = domain[:-1]  # the root's dot: the same mailbox
    if at and "xn--" in domain:
        import contextlib

        # A domain in its ASCII (punycode) form is the same as in its own letters; one
        # that is not valid punycode is left to the shape check below.
        with contextlib.suppress(UnicodeError, ValueError):
            domain = domain.encode("ascii").decode("idna")
    value = f"{local}{at}{domain}"
    shown = shorten(
        "".join(
            f"\\u{ord(c):04x}" if unicodedata.category(c) in invisible else c
            for c in neutralise(email.strip())
        )
    )
    if len(value) > limits.EMAIL or not EMAIL_RE.match(value) or has_control(value):
        raise ValidationError(f"not an e-mail address: {shown}", hint="use name@domain")
    if any(unicodedata.category(c) in invisible for c in value):
        raise ValidationError(
            f"not an e-mail address: {shown} holds an invisible character",
            hint="type the address again, without copying it from a document",
        )
    for part in value.split("@"):
        if len(_scripts(part)) > 1:
            raise ValidationError(
                f"not an e-mail address: {shown} mixes alphabets "
                f"({', '.join(sorted(_scripts(part))).lower()})",
                hint="an address is written in one alphabet",
            )
    return value


def _scripts(text: str) -> set[str]:
    """The scripts of ``text``'s letters (LATIN, CYRILLIC, GREEK...), from their names."""
    import unicodedata

    found = set()
    for char in text:
        if char.isalpha() and not char.isascii():
            name = unicodedata.name(char, "")
            found.add(name.split(" ")[0] if name else "UNKNOWN")
        elif char.isalpha():
            found.add("LATIN")
    return found


def has_control(text: str) -> bool:
    return _ANY_CONTROL.search(text) is not None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralise(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), so that
    printing it cannot drive the terminal. Newlines stay when ``keep_newlines``."""
    pattern = _MULTILINE_BAD if keep_newlines else _ANY_CONTROL
    return pattern.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` with control characters as spaces and runs of spaces made one (a display
    name in a mail header)."""
    return " ".join(_ANY_CONTROL.sub(" ", text).split())


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet will show, never run: formula triggers get a ``'``."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def shorten(text: str, limit: int = 80) -> str:
    """At most ``limit`` characters of a value for a message, neutralised."""
    shown = neutralise(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def percent(value: float) -> str:
    """One percentage format for people everywhere (terminal, HTML, mail): whole
    percents, rounded half up (62.5 is "63%"), no space: "53%". JSON keeps the number."""
    return f"{int(value + 0.5) if value >= 0 else -int(-value + 0.5)}%"


def share(part: int, whole: int, *, none: str = "n/a") -> str:
    """``part`` of ``whole`` as a ``percent``; ``none`` of nothing."""
    return percent(100 * part / whole) if whole else none


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word`` in agreement: "1 week", "2 weeks" (``many``: an irregular
    plural)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
