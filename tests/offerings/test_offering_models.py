"""The offering ladder's rules, checked where the models are made: `offering create`
and each row of `offering import` build the same OfferingCreate; `offering update`
builds an OfferingUpdate. Errors are cms's (exit 1), in the words of the input."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cms_cli.catalog.models import Mode
from cms_cli.core.errors import ValidationError
from cms_cli.offerings.models import OfferingCreate, OfferingUpdate

GOOD: dict[str, Any] = {
    "module": "CS101",
    "class_code": "2026J",
    "cohort": "Cohort A",
    "mode": " In Person ",
    "start_date": date(2026, 1, 12),
    "end_date": date(2026, 4, 3),
}
COLUMNS = {"names": ("start_date", "end_date")}


def test_a_create_reads_the_mode_as_people_write_it() -> None:
    assert OfferingCreate.model_validate(GOOD).mode is Mode.in_person


@pytest.mark.parametrize(
    ("change", "context", "message"),
    [
        ({"mode": "bus"}, None, "mode must be online, in-person or hybrid (got 'bus')"),
        ({"max_students": 0}, None, "max_students must be at least 1 (got 0)"),
        (
            {"end_date": date(2026, 1, 1)},
            None,
            "--end 2026-01-01 is before --start 2026-01-12",
        ),
        (
            {"end_date": date(2026, 1, 1)},
            COLUMNS,
            "end_date 2026-01-01 is before start_date 2026-01-12",
        ),
    ],
)
def test_a_create_is_refused_with_the_inputs_words(
    change: dict[str, Any], context: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        OfferingCreate.model_validate({**GOOD, **change}, context=context)
    assert caught.value.message == message
    assert caught.value.exit_code == 1


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "nothing to change"),
        ({"no_facilitator": False, "mode": None}, "nothing to change"),
        (
            {"facilitator": "ana@uni.edu", "no_facilitator": True},
            "--facilitator and --no-facilitator cannot be used together",
        ),
        ({"status": "paused"}, "status must be one of planned, active, completed, cancelled"),
        ({"max_students": 100_000}, "max_students must be 1 to"),
    ],
)
def test_an_update_is_refused_before_any_database_work(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OfferingUpdate.model_validate(given)
    assert caught.value.message.startswith(message)


def test_an_update_keeps_only_what_was_given() -> None:
    update = OfferingUpdate.model_validate({"no_facilitator": True})
    assert update.no_facilitator
    assert update.facilitator is None
    assert update.mode is None
    assert OfferingUpdate.model_validate({"status": " Cancelled "}).status == "cancelled"
