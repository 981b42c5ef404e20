"""The contract's JSON and CSV fields, in order, spelled once: every other test
compares output against the Public models, and this pins the models to the contract
(docs/registry-guide.md, docs/facilitator-guide.md and the CLI reference list them).
A field added, renamed or moved here is a change of the contract: CHANGELOG it."""

from __future__ import annotations

import pytest

from cms_cli.audit.models import AuditEventPublic
from cms_cli.auth.models import UserPublic
from cms_cli.catalog.models import ClassGroupPublic, CohortPublic, ModulePublic
from cms_cli.core.output import columns
from cms_cli.notify.models import InboxItemPublic, NotificationPublic
from cms_cli.offerings.models import OfferingPublic, StudentPublic
from cms_cli.reflection.models import ReflectionPublic
from cms_cli.reflection.public import ResponseRate
from cms_cli.tracker.models import LogPublic, Report, ReportRow

CONTRACT = {
    OfferingPublic: "id module module_name class year trimester intake cohort mode "
    "facilitator manager start_date end_date weeks max_students enrolled status created_at",
    StudentPublic: "email name student_id enrolled_at",
    UserPublic: "email name role employee_id student_id is_active created_at",
    ModulePublic: "code name credits description is_active",
    CohortPublic: "name start_date end_date is_active",
    ClassGroupPublic: "code year trimester intake is_active",
    LogPublic: "offering_id week module facilitator attendance formative_one_grading "
    "formative_two_grading summative_grading course_moderation intranet_sync "
    "grade_book_status notes completion complete due_at submitted_at updated_at",
    Report: "expected submitted complete overdue states offerings",
    ReportRow: "id module facilitator weeks",
    NotificationPublic: "id kind recipient offering_id week status attempts last_error "
    "created_at sent_at",
    InboxItemPublic: "id subject body created_at read_at",
    ReflectionPublic: "student offering_id language answers submitted_at",
    ResponseRate: "offering_id module enrolled submitted rate",
    AuditEventPublic: "at actor action entity entity_id before after",
}


@pytest.mark.parametrize("model", list(CONTRACT), ids=lambda m: m.__name__)
def test_each_public_model_shows_the_contracts_fields_in_order(model: type) -> None:
    from cms_cli.tracker.public import VIEW_FIELDS

    # A report row also carries what only the people's views use; --json leaves it out
    # (tests/tracker/test_report_view.py reads the JSON itself).
    shown = tuple(c for c in columns(model) if not (model is ReportRow and c in VIEW_FIELDS))
    assert shown == tuple(CONTRACT[model].split())


def test_a_model_dumps_under_the_contracts_names() -> None:
    from datetime import UTC, date, datetime

    shown = OfferingPublic.model_validate(
        {
            "id": 1,
            "module": "CS101",
            "module_name": "Intro",
            "class": "2026J",
            "year": 2026,
            "trimester": 1,
            "intake": "FT",
            "cohort": "A",
            "mode": "online",
            "facilitator": None,
            "manager": "dean@uni.edu",
            "start_date": date(2026, 1, 12),
            "end_date": date(2026, 4, 3),
            "weeks": 12,
            "max_students": None,
            "enrolled": 0,
            "status": "active",
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
    )
    assert shown.class_code == "2026J"
    assert list(shown.model_dump(by_alias=True)) == list(columns(OfferingPublic))
