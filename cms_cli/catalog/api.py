"""The catalog's operations (modules, cohorts, classes), each declared once
(core.operation): the server's routes, the client's calls and the local calls are
derived from these. The three kinds share their list and activation services."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from cms_cli.catalog.public import ClassGroupPublic, CohortPublic, ModulePublic
from cms_cli.core.base import Model
from cms_cli.core.operation import Operation
from cms_cli.core.results import Standing

SERVICE = "cms_cli.catalog.service"


class ModuleCreate(Model):
    code: str
    name: str
    credits: int
    description: str | None = None


class CohortCreate(Model):
    name: str
    start: date | None = None
    end: date | None = None


class ClassCreate(Model):
    code: str
    year: int
    trimester: int
    intake: str


class Active(Model):
    active: bool | None = None


class Activation(Model):
    #: The entry's code (or a cohort's name).
    value: str
    active: bool


def _kind(
    entity: str, plural: str, create: type[BaseModel], shown: type[BaseModel], adds: str
) -> tuple[Operation, ...]:
    """A kind's three operations: add, list, (de)activate."""
    path = f"/catalog/{plural}"
    fixed = (("entity", entity),)
    return (
        Operation(
            name=f"{entity}.add",
            summary=f"Add a {entity} (managers).",
            method="POST",
            path=path,
            input=create,
            output=shown,
            service=f"{SERVICE}:{adds}",
            status_code=201,
        ),
        Operation(
            name=f"{entity}.list",
            summary=f"The {plural}, active or inactive ones only.",
            method="GET",
            path=path,
            input=Active,
            output=list[shown],  # type: ignore[valid-type]
            service=f"{SERVICE}:listing",
            paged=True,
            fixed=fixed,
        ),
        Operation(
            name=f"{entity}.set-active",
            summary=f"Activate or deactivate a {entity} (managers).",
            method="POST",
            path=f"{path}/active",
            input=Activation,
            output=Standing,
            service=f"{SERVICE}:set_active",
            fixed=fixed,
        ),
    )


module_add, module_list, module_active = _kind(
    "module", "modules", ModuleCreate, ModulePublic, "add_module"
)
cohort_add, cohort_list, cohort_active = _kind(
    "cohort", "cohorts", CohortCreate, CohortPublic, "add_cohort"
)
class_add, class_list, class_active = _kind(
    "class", "classes", ClassCreate, ClassGroupPublic, "add_class"
)

OPERATIONS = (
    module_add,
    module_list,
    module_active,
    cohort_add,
    cohort_list,
    cohort_active,
    class_add,
    class_list,
    class_active,
)
#: Each kind's operations by entity name: (add, list, set-active).
BY_ENTITY = {
    "module": (module_add, module_list, module_active),
    "cohort": (cohort_add, cohort_list, cohort_active),
    "class": (class_add, class_list, class_active),
}
