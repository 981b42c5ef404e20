"""The documented limits of every field (docs/limits.md), the same on SQLite and MySQL.

Services check these before the database sees a value (ValidationError, exit 1); the
column lengths of the models agree with them.
"""

from __future__ import annotations

from datetime import date

EMAIL = 254
PERSON_NAME = 200
PERSON_ID = 50  # employee and student ids
CODE_MIN, CODE_MAX = 3, 20  # module and class codes
MODULE_NAME = 200
DESCRIPTION = 2_000
COHORT_MIN, COHORT_MAX = 3, 50
NOTES = 10_000
ANSWER = 10_000  # each reflection answer

#: Offerings: a year within this range, at most this many weeks long, at most this
#: many students. A course that runs longer is two offerings.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_WEEKS = 104
MAX_STUDENTS = 10_000

#: Any whole number given on the command line (ids, weeks, counts): a signed 32-bit
#: value, what MySQL's INT holds. Larger ones are refused before any lookup.
MAX_INT = 2**31 - 1


def check_year(day: date, field: str) -> None:
    from cms_cli.core.errors import ValidationError

    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            f"{field} {day} is out of range: the year must be {FIRST_YEAR} to {LAST_YEAR}"
        )
