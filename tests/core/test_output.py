"""The JSON layout every --json shares: one document, objects indented, arrays one
compact item per line at any depth, dates and enums as plain values."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from cms_cli.catalog.models import Mode
from cms_cli.core.output import write_json


def written(data: object, capsys: pytest.CaptureFixture[str]) -> str:
    write_json(data)
    return capsys.readouterr().out


def test_an_object_with_an_array_inside(capsys: pytest.CaptureFixture[str]) -> None:
    report = {
        "expected": 2,
        "offerings": [
            {"id": 1, "weeks": {"1": "complete"}},
            {"id": 2, "weeks": {"1": "overdue"}},
        ],
        "empty": [],
        "none": {},
        "when": {"day": date(2026, 1, 12), "at": datetime(2026, 1, 12, 9, tzinfo=UTC)},
    }
    out = written(report, capsys)
    assert out == (
        "{\n"
        '  "expected": 2,\n'
        '  "offerings": [\n'
        '    {"id": 1, "weeks": {"1": "complete"}},\n'
        '    {"id": 2, "weeks": {"1": "overdue"}}\n'
        "  ],\n"
        '  "empty": [],\n'
        '  "none": {},\n'
        '  "when": {\n'
        '    "day": "2026-01-12",\n'
        '    "at": "2026-01-12T09:00:00+00:00"\n'
        "  }\n"
        "}\n"
    )
    assert json.loads(out)["offerings"][1]["weeks"] == {"1": "overdue"}


def test_a_listing_and_its_edge_cases(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"mode": Mode.in_person, "name": "Élodie « ok »"}, {"mode": Mode.online, "name": None}]
    out = written(rows, capsys)
    assert out.splitlines()[1] == '  {"mode": "in-person", "name": "Élodie « ok »"},'
    assert json.loads(out) == [
        {"mode": "in-person", "name": "Élodie « ok »"},
        {"mode": "online", "name": None},
    ]
    assert written([], capsys) == "[]\n"
    assert written({}, capsys) == "{}\n"
    assert written(Mode.hybrid, capsys) == '"hybrid"\n'
