"""The compliance report's page (`cms tracker report --html`) in Chromium: accessible
(axe-core), usable on a 390 px phone (the matrix scrolls in its own box with the id and
module columns kept in view), legible when printed with default settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_reflection_page import (  # noqa: F401 (fixtures)
    axe,
    axe_source,
    browser,
    make_page,
    screenshot,
)

from cms_cli.offerings.service import Filters
from cms_cli.tracker import render

pytestmark = pytest.mark.browser
STATES = ("complete", "missing", "overdue", "incomplete", "upcoming")


@pytest.fixture
def report(tmp_path: Path) -> str:
    offerings = [
        {
            "id": n + 1,
            "module": f"CS{101 + n}",
            "facilitator": f"facilitator.number{n}@uni.example" if n % 5 else None,
            "weeks": {str(w): STATES[(n + w) % 5] for w in range(1, 17)},
        }
        for n in range(30)
    ]
    states = {s: sum(list(o["weeks"].values()).count(s) for o in offerings) for s in STATES}
    data = {
        "expected": 200,
        "submitted": 150,
        "complete": 100,
        "overdue": 100,
        "states": states,
        "offerings": offerings,
    }
    at = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    caption = render.caption(Filters(trimester=1, mode="online"), at)
    page = tmp_path / "compliance.html"
    page.write_text(
        render.page(data, title="Weekly activity compliance", caption=caption), encoding="utf-8"
    )
    return page.as_uri()


def test_the_report_page_is_accessible_and_names_every_cell(
    make_page: Any, axe_source: str, report: str
) -> None:
    page = make_page().page
    page.goto(report)
    assert axe(page, axe_source) == []
    caption = page.inner_text("caption")
    assert caption == (
        "Weekly activity compliance: trimester 1, mode online; as of 2026-11-30 14:05 UTC"
    )
    assert page.locator("main table").count() == 1
    first = page.locator("tbody tr").first
    assert "week 1: missing" in first.inner_text()  # read out, not shown
    assert first.locator("td.count").all_inner_texts() == ["3", "10"]  # complete, due


def test_on_a_phone_the_matrix_scrolls_in_its_box(
    make_page: Any, axe_source: str, report: str
) -> None:
    page = make_page(viewport=(390, 844)).page
    page.goto(report)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no page scroll
    box = page.locator(".scroll")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    before = page.locator("tbody tr th.id").first.bounding_box()
    box.evaluate("e => { e.scrollLeft = 400 }")
    after = page.locator("tbody tr th.id").first.bounding_box()
    module = page.locator("tbody tr td.module").first.bounding_box()
    assert before is not None
    assert after is not None
    assert module is not None
    assert after["x"] == pytest.approx(before["x"], abs=1)  # id stays in view
    assert module["x"] >= after["x"] + after["width"] - 1  # and the module beside it
    legend = page.locator("ul.legend").bounding_box()
    assert legend is not None
    assert legend["width"] <= 390
    assert axe(page, axe_source) == []
    screenshot(page, "report-phone")


def test_printed_the_cells_are_light_with_dark_glyphs(make_page: Any, report: str) -> None:
    page = make_page().page
    page.goto(report)
    page.emulate_media(media="print")
    missing = page.locator("td.missing").first
    colours = missing.evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color,"
        " getComputedStyle(e).printColorAdjust]"
    )
    assert colours == ["rgb(243, 224, 224)", "rgb(74, 0, 0)", "exact"]
    assert page.locator(".scroll").evaluate("e => getComputedStyle(e).overflowX") == "visible"
    screenshot(page, "report-print")
