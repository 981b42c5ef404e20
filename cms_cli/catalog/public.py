"""What the catalog shows, and its fixed vocabularies: plain pydantic, so that a client
of `cms serve` reads them without SQLAlchemy (the tables are in models.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from cms_cli.core.base import Model


class Mode(StrEnum):
    online = "online"
    in_person = "in-person"
    hybrid = "hybrid"


class Intake(StrEnum):
    HT1 = "HT1"
    HT2 = "HT2"
    FT = "FT"


# What the catalog shows (`cms module list` and the others: JSON and CSV fields, in
# order), and what its audit events record: the Public rung of each model's ladder.


class ModulePublic(Model):
    code: str
    name: str
    credits: int
    description: str | None = None
    is_active: bool


class CohortPublic(Model):
    name: str
    start_date: date | None = None
    end_date: date | None = None
    is_active: bool


class ClassGroupPublic(Model):
    code: str
    year: int
    trimester: int
    intake: Intake
    is_active: bool


#: What each kind of the catalog shows, by its entity name (the API's path too).
SHOWN: dict[str, type[BaseModel]] = {
    "module": ModulePublic,
    "cohort": CohortPublic,
    "class": ClassGroupPublic,
}
