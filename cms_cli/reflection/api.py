"""The reflection operations, each declared once (core.operation): the server's routes,
the client's calls and the local calls are derived from these."""

from __future__ import annotations

from cms_cli.core.base import Model
from cms_cli.core.operation import Operation, Upload
from cms_cli.offerings.public import Filters
from cms_cli.reflection.files import MAX_FILE, MAX_IMPORT
from cms_cli.reflection.public import ImportedReflections, ReflectionPublic, ResponseRate, Submitted

SERVICE = "cms_cli.reflection.service"


class ReflectionFile(Model):
    """The JSON file the reflection page downloaded, and the name messages give it."""

    raw: bytes = b""
    name: str = "the uploaded file"


class Bundle(Model):
    """`reflection import`'s files in one upload (ReflectionUpload's JSON)."""

    bundle: bytes = b""


class OfferingRef(Model):
    offering_id: int


class SummaryQuery(Model):
    filters: Filters = Filters()


submit = Operation(
    name="reflection.submit",
    summary="Hand in one's reflection (students enrolled in its offering).",
    method="POST",
    path="/reflections",
    input=ReflectionFile,
    output=Submitted,
    service=f"{SERVICE}:submit",
    upload=Upload(field="raw", media_type="application/json", limit=MAX_FILE, as_bytes=True),
)
listing = Operation(
    name="reflection.list",
    summary="The reflections of an offering (its facilitator, managers).",
    method="GET",
    path="/reflections",
    input=OfferingRef,
    output=list[ReflectionPublic],
    service=f"{SERVICE}:list_reflections",
    paged=True,
)
rate = Operation(
    name="reflection.rate",
    summary="The response rate of one offering.",
    method="GET",
    path="/reflections/rate",
    input=OfferingRef,
    output=ResponseRate,
    service=f"{SERVICE}:response_rate",
    needs=("today",),
)
importing = Operation(
    name="reflection.import",
    summary="Store the reflections a course team collected, all or nothing.",
    method="POST",
    path="/reflections/import",
    input=Bundle,
    output=ImportedReflections,
    service=f"{SERVICE}:import_upload",
    check=f"{SERVICE}:may_import",
    # base64 is 4/3 of the bytes, and the names and the JSON around them.
    upload=Upload(
        field="bundle",
        media_type="application/json",
        limit=MAX_IMPORT * 4 // 3 + 1_000_000,
        as_bytes=True,
    ),
)
summary = Operation(
    name="reflection.summary",
    summary="The response rate per offering (facilitators theirs, managers all).",
    method="GET",
    path="/reflections/summary",
    input=SummaryQuery,
    body="filters",
    output=list[ResponseRate],
    service=f"{SERVICE}:response_rates",
    needs=("today",),
    paged=True,
)

OPERATIONS = (submit, listing, rate, importing, summary)
