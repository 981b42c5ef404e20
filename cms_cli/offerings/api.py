"""The offering operations, each declared once (core.operation): the server's routes,
the client's calls and the local calls are derived from these."""

from __future__ import annotations

from cms_cli.core.base import Model
from cms_cli.core.csvfile import CsvImport, ImportReport
from cms_cli.core.operation import CSV, Operation
from cms_cli.core.results import Account, Standing
from cms_cli.offerings.public import (
    Closed,
    CloseRequest,
    Copied,
    CopyRequest,
    EnrolReport,
    Filters,
    OfferingCreate,
    OfferingPublic,
    OfferingUpdate,
    StudentPublic,
)

SERVICE = "cms_cli.offerings.service"


class NewOffering(Model):
    data: OfferingCreate


class OfferingRef(Model):
    offering_id: int


class OfferingEdit(Model):
    offering_id: int
    changes: OfferingUpdate


class OfferingQuery(Model):
    filters: Filters = Filters()


class CopyCall(Model):
    request: CopyRequest
    dry_run: bool = False


class CloseCall(Model):
    request: CloseRequest
    dry_run: bool = False


class Enrolment(Model):
    offering_id: int
    emails: list[str] = []


class Unenrolment(Model):
    offering_id: int
    student: str


create = Operation(
    name="offering.create",
    summary="Create an offering (managers).",
    method="POST",
    path="/offerings",
    input=NewOffering,
    body="data",
    output=OfferingPublic,
    service=f"{SERVICE}:create",
    needs=("max_load", "today"),
    status_code=201,
)
listing = Operation(
    name="offering.list",
    summary="The offerings you may see, filtered.",
    method="GET",
    path="/offerings",
    input=OfferingQuery,
    body="filters",
    output=list[OfferingPublic],
    service=f"{SERVICE}:offerings_page",
    needs=("today", "page"),
    paged=True,
)
show = Operation(
    name="offering.show",
    summary="One offering.",
    method="GET",
    path="/offerings/{offering_id}",
    input=OfferingRef,
    output=OfferingPublic,
    service=f"{SERVICE}:show",
    needs=("today",),
)
update = Operation(
    name="offering.update",
    summary="Change an offering; only the fields given (managers).",
    method="PATCH",
    path="/offerings/{offering_id}",
    input=OfferingEdit,
    body="changes",
    output=OfferingPublic,
    service=f"{SERVICE}:update",
    needs=("max_load", "today"),
)
cancel = Operation(
    name="offering.cancel",
    summary="Cancel an offering: kept, hidden from lists, never swept (managers).",
    method="POST",
    path="/offerings/{offering_id}/cancel",
    input=OfferingRef,
    output=Standing,
    service=f"{SERVICE}:cancel",
    check=f"{SERVICE}:managed",
    needs=("today",),
)
importing = Operation(
    name="offering.import",
    summary="Create offerings from a CSV file, all rows or none (managers).",
    method="POST",
    path="/imports/offerings",
    input=CsvImport,
    output=ImportReport,
    service="cms_cli.offerings.importer:import_file",
    check="cms_cli.offerings.importer:may_import",
    needs=("max_load", "progress"),
    upload=CSV,
)
copy = Operation(
    name="offering.copy",
    summary="Copy a class's offerings into another class (managers).",
    method="POST",
    path="/offerings/copy",
    input=CopyCall,
    output=Copied,
    service="cms_cli.offerings.rollover:copy_class",
    needs=("max_load", "today"),
)
close = Operation(
    name="offering.close",
    summary="End a term: its offerings are completed and never swept again (managers).",
    method="POST",
    path="/offerings/close",
    input=CloseCall,
    output=Closed,
    service="cms_cli.offerings.rollover:close_term",
    check="cms_cli.offerings.rollover:may_close",
    needs=("today",),
)
enrol = Operation(
    name="offering.enrol",
    summary="Enrol students, all of them or none (managers).",
    method="POST",
    path="/offerings/{offering_id}/enrol",
    input=Enrolment,
    output=EnrolReport,
    service=f"{SERVICE}:enrol",
    check=f"{SERVICE}:managed",
)
unenrol = Operation(
    name="offering.unenrol",
    summary="Remove a student from an offering (managers).",
    method="POST",
    path="/offerings/{offering_id}/unenrol",
    input=Unenrolment,
    output=Account,
    service=f"{SERVICE}:unenrol",
)
students = Operation(
    name="offering.students",
    summary="The students of an offering (managers and its facilitator).",
    method="GET",
    path="/offerings/{offering_id}/students",
    input=OfferingRef,
    output=list[StudentPublic],
    service=f"{SERVICE}:students",
    paged=True,
)

OPERATIONS = (
    create,
    listing,
    show,
    update,
    cancel,
    importing,
    copy,
    close,
    enrol,
    unenrol,
    students,
)
