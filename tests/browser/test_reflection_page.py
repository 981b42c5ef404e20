"""The pages cms ships, in Chromium. The reflection page: language, drafts,
validation, the dialogs, downloads, accessibility (axe-core), over HTTP and from
file://. The compliance report's page: on a phone, in print, with axe.

Debian's Chromium driven by Playwright (never a downloaded browser), the page served on
127.0.0.1, axe-core from the npm package in this folder (npm ci --prefix tests/browser).
Every page records console errors and uncaught exceptions; any one fails the test.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from servers import free_port, missing

from cms_cli.offerings.service import Filters
from cms_cli.tracker import render
from cms_cli.tracker.models import Report

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "reflection_site"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def site_url() -> Iterator[str]:
    port = free_port()
    handler = functools.partial(_Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/index.html"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = (
        os.environ.get("CMS_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    if not Path(executable).exists():
        missing("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        missing("axe-core is not installed (npm ci --prefix tests/browser)")
    return AXE.read_text(encoding="utf-8")


def clocked(make_page: Any, url: str) -> Any:
    """A page opened at ``url`` on a fake clock (``page.clock.run_for`` moves it)."""
    page = make_page().page
    page.clock.install()
    page.goto(url)
    page.wait_for_selector("html[data-ready='true']")
    return page


class Page:
    """A Playwright page that records console errors and uncaught exceptions."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("html[data-ready='true']")
        return self.page


@pytest.fixture
def make_page(browser: Any) -> Iterator[Any]:
    """Pages in fresh contexts (own storage); no console error may happen in any."""
    made: list[tuple[Any, Page]] = []

    def make(locale: str = "en-GB", viewport: tuple[int, int] = (1280, 800)) -> Page:
        context = browser.new_context(
            locale=locale,
            accept_downloads=True,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        wrapped = Page(context.new_page())
        made.append((context, wrapped))
        return wrapped

    yield make
    errors = [e for _, page in made for e in page.errors]
    for context, _ in made:
        context.close()
    assert errors == [], f"console errors: {errors}"


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


QUESTIONS_FR = [
    "Qu\u2019avez-vous le plus apprécié dans ce cours\u202f?",
    "Quelle a été la partie la plus difficile du cours\u202f?",
    "Quelles suggestions avez-vous pour améliorer ce cours\u202f?",
]
EMAIL = "sam.student@uni.example"
QUESTIONS_EN = [
    "What did you enjoy most about this course?",
    "What was the most challenging part of the course?",
    "What suggestions do you have for improving this course?",
]


def with_course(url: str, offering: str = "12", course: str = "Intro to Programming") -> str:
    return f"{url}?offering={offering}&course={course.replace(' ', '%20')}"


def labels(page: Any) -> list[str]:
    return [
        page.inner_text(f"label[for=question{i}] span[data-i18n=question{i}]") for i in (1, 2, 3)
    ]


def axe(page: Any, source: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def fill_all(page: Any) -> None:
    page.fill("#question1", "The labs")
    page.fill("#question2", "Recursion")
    page.fill("#question3", "More worked examples")
    page.fill("#email", EMAIL)


def active(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement.id"))


def draft_of(page: Any, offering: str = "12") -> Any:
    raw = page.evaluate(f"() => localStorage.getItem('cms.reflection.draft.{offering}')")
    return None if raw is None else json.loads(raw)


def test_loads_in_english_with_the_course(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    assert page.get_attribute("html", "lang") == "en"
    assert page.title() == "Course reflection"
    assert labels(page) == QUESTIONS_EN
    assert page.inner_text("#course-name") == "Intro to Programming"
    assert page.inner_text("#course-offering") == "(offering 12)"
    assert page.get_attribute("button[data-lang=en]", "aria-pressed") == "true"
    assert page.get_attribute("button[data-lang=fr]", "lang") == "fr"
    assert page.inner_text("button[data-lang=fr]") == "Français"


def test_switching_language_changes_everything_and_is_remembered(
    make_page: Any, site_url: str
) -> None:
    wrapped = make_page()
    page = wrapped.open(with_course(site_url))
    page.click("button[data-lang=fr]")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert page.title() == "Bilan du cours"
    assert labels(page) == QUESTIONS_FR
    assert page.get_attribute("button[data-lang=fr]", "aria-pressed") == "true"
    assert page.get_attribute("button[data-lang=en]", "aria-pressed") == "false"
    assert page.inner_text("#submit") == "Télécharger mon fichier de bilan"
    assert page.inner_text("#course-offering") == "(session 12)"
    assert page.inner_text("#question1-count") == "0 caractères"
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.get_attribute("html", "lang") == "fr"
    page.click("button[data-lang=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert labels(page) == QUESTIONS_EN


def test_a_french_browser_gets_french(make_page: Any, site_url: str) -> None:
    page = make_page(locale="fr-FR").open(with_course(site_url))
    assert page.get_attribute("html", "lang") == "fr"
    assert labels(page) == QUESTIONS_FR


def test_autosave_after_typing_and_restore(make_page: Any, site_url: str) -> None:
    page = clocked(make_page, with_course(site_url))
    page.type("#question1", "Great labs")
    assert page.inner_text("#question1-count") == "10 characters"
    assert page.inner_text("#save-status") == "Not saved yet"
    page.clock.run_for(3100)
    assert page.inner_text("#save-status").startswith("Draft saved at ")
    assert page.get_attribute("#save-announce", "aria-live") == "polite"
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == "Great labs"
    assert page.inner_text("#save-status").startswith("Draft restored (saved at ")


def test_autosave_every_30_seconds_and_on_hide(make_page: Any, site_url: str) -> None:
    page = clocked(make_page, with_course(site_url))
    page.evaluate("() => { const t = document.getElementById('question2'); t.value = 'x'; }")
    page.dispatch_event("#question2", "input")
    page.evaluate("() => localStorage.clear()")
    page.clock.run_for(30_100)
    assert "x" in (page.evaluate("() => localStorage.getItem('cms.reflection.draft.12')") or "")
    page.fill("#question3", "hidden tab")
    page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState',"
        " {value: 'hidden', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    assert "hidden tab" in page.evaluate("() => localStorage.getItem('cms.reflection.draft.12')")


def test_ctrl_s_saves_at_once(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    page.fill("#question2", "Pointers")
    page.press("#question2", "Control+s")
    assert page.inner_text("#save-status").startswith("Draft saved at ")
    draft = json.loads(page.evaluate("() => localStorage.getItem('cms.reflection.draft.12')"))
    assert draft["answers"]["question2"] == "Pointers"


def test_one_draft_per_offering(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url, "12"))
    page.fill("#question1", "For twelve")
    page.click("#save")
    page.goto(with_course(site_url, "13", "Calculus"))
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == ""
    page.goto(with_course(site_url, "12"))
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == "For twelve"


def summary_items(page: Any) -> list[str]:
    return [str(text) for text in page.locator("#error-list a").all_inner_texts()]


def test_validation_lists_each_problem_as_a_link_to_its_field(
    make_page: Any, site_url: str
) -> None:
    page = make_page().open(with_course(site_url))
    page.fill("#question1", "Something")
    page.fill("#question3", "   ")
    page.click("#submit")
    assert page.get_attribute("#question1", "aria-invalid") is None
    for i in (2, 3):
        assert page.get_attribute(f"#question{i}", "aria-invalid") == "true"
        assert page.is_visible(f"#question{i}-error")
        assert page.inner_text(f"#question{i}-error") == "Please write an answer to this question."
        assert f"question{i}-error" in page.get_attribute(f"#question{i}", "aria-describedby")
    # The summary comes first (focused, read out), one link per problem, by its question.
    assert active(page) == "error-summary"
    assert page.inner_text("#error-summary-title") == "Before you download your file, please fix:"
    assert summary_items(page) == [
        f"{QUESTIONS_EN[1]} — Please write an answer to this question.",
        f"{QUESTIONS_EN[2]} — Please write an answer to this question.",
        "Your institutional e-mail — Enter your institutional e-mail, like name@university.edu.",
    ]
    assert page.get_attribute("#email", "aria-invalid") == "true"
    assert page.inner_text("#email-error") == (
        "Enter your institutional e-mail, like name@university.edu."
    )
    assert page.is_hidden("#ready-dialog")
    address = page.url
    page.click("#error-list a >> nth=1")
    assert active(page) == "question3"
    assert page.url == address  # no "#question3" written into the address
    page.fill("#question2", "Now filled")
    assert page.get_attribute("#question2", "aria-invalid") is None
    assert len(summary_items(page)) == 2  # the summary follows the answers
    # The summary stays while anything is wrong, and goes as soon as nothing is. An
    # address typed wrong is not "missing": it is said to be no e-mail address.
    page.fill("#question3", "Filled too")
    page.fill("#email", "sam@")
    assert page.is_visible("#error-summary")
    assert summary_items(page) == [
        "Your institutional e-mail — This is not an e-mail address: write it like "
        "name@university.edu."
    ]
    # the message under the field says the same at once, not after the next click
    assert page.inner_text("#email-error") == (
        "This is not an e-mail address: write it like name@university.edu."
    )
    page.fill("#email", EMAIL)
    assert page.is_hidden("#error-summary")
    assert page.get_attribute("#email", "aria-invalid") is None


def test_submit_keeps_the_answers_until_the_student_says_the_file_is_saved(
    make_page: Any, site_url: str, tmp_path: Path
) -> None:
    page = make_page().open(with_course(site_url))
    fill_all(page)
    with page.expect_download() as info:
        page.click("#submit")
    download = info.value
    assert download.suggested_filename == "reflection-offering-12.json"
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    data = json.loads(target.read_text())
    assert data["offering"] == 12
    assert data["email"] == EMAIL
    assert data["language"] == "en"
    assert data["answers"] == {
        "question1": "The labs",
        "question2": "Recursion",
        "question3": "More worked examples",
    }
    assert data["submitted_at"].endswith("Z")
    assert set(data) == {"offering", "email", "language", "answers", "submitted_at"}
    # The dialog: labelled, modal, focus inside and trapped, no CLI jargon.
    dialog = page.locator("#ready-dialog")
    assert dialog.is_visible()
    assert dialog.get_attribute("role") == "dialog"
    assert dialog.get_attribute("aria-modal") == "true"
    title = page.inner_text("#" + dialog.get_attribute("aria-labelledby"))
    assert title == "Your file is ready — hand it in"
    assert "reflection-offering-12.json" in page.inner_text("#ready-text")
    assert "cms " not in dialog.inner_text()
    assert active(page) == "download-again"
    page.keyboard.press("Shift+Tab")
    assert active(page) == "saved-it"
    page.keyboard.press("Tab")
    assert active(page) == "download-again"
    # Not yet (or Escape): the answers and the draft stay; a reload asks again.
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert active(page) == "submit"
    assert page.input_value("#question1") == "The labs"
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.locator("#ready-dialog").is_visible()
    assert [page.input_value(f"#question{i}") for i in (1, 2, 3)] == [
        "The labs",
        "Recursion",
        "More worked examples",
    ]
    with page.expect_download() as again:
        page.click("#download-again")
    again_file = tmp_path / "again.json"
    again.value.save_as(str(again_file))
    assert json.loads(again_file.read_text()) == data  # the same file as handed over
    # "I have saved it": only now the answers and the draft go; the e-mail is remembered.
    # The top of the page says so, and that the page may be closed; no empty form that
    # looks like starting over.
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.click("#saved-it")
    assert page.locator("#ready-dialog").is_hidden()
    assert [page.input_value(f"#question{i}") for i in (1, 2, 3)] == ["", "", ""]
    assert draft_of(page) is None
    banner = page.locator("#done-banner")
    assert banner.is_visible()
    assert active(page) == "done-banner"
    assert page.inner_text("#done-title") == "Done: your reflection file is saved"
    assert "You may close this page." in banner.inner_text()
    assert page.evaluate("() => window.scrollY") == 0
    box = banner.bounding_box()
    assert box["y"] + box["height"] < 800  # above the fold
    assert page.locator("#reflection-form").is_hidden()
    assert page.locator("#done-handin").is_hidden()  # this link names no hand-in page
    page.click("#start-again")
    assert banner.is_hidden()
    assert page.locator("#reflection-form").is_visible()
    assert active(page) == "question1"
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == ""
    assert page.locator("#ready-dialog").is_hidden()
    assert page.input_value("#email") == EMAIL


#: What a blocked download looks like to the page: the link's click does nothing (once).
BLOCK_ONE_DOWNLOAD = """() => {
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
        if (!this.download) { return click.call(this); }
        HTMLAnchorElement.prototype.click = click;
    };
}"""


def test_a_blocked_download_loses_nothing(make_page: Any, site_url: str, tmp_path: Path) -> None:
    """The browser blocks the first download (a pop-up blocker, a question dismissed):
    the answers are all there, and "Download again" hands the file over."""
    page = make_page().open(with_course(site_url))
    fill_all(page)
    page.evaluate(BLOCK_ONE_DOWNLOAD)
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#submit")
    assert page.locator("#ready-dialog").is_visible()
    assert downloads == []
    assert page.input_value("#question2") == "Recursion"
    with page.expect_download() as again:
        page.click("#download-again")
    target = tmp_path / "r.json"
    again.value.save_as(str(target))
    assert json.loads(target.read_text())["answers"]["question2"] == "Recursion"
    # Changing an answer after the download: the file is out of date, so no dialog on reload.
    page.keyboard.press("Escape")
    page.fill("#question2", "Recursion, and pointers")
    assert draft_of(page)["pending"] is None
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.locator("#ready-dialog").is_hidden()
    assert page.input_value("#question2") == "Recursion, and pointers"


def test_the_downloaded_file_is_what_cms_reflection_submit_takes(
    make_page: Any, site_url: str, tmp_path: Path
) -> None:
    from cms_cli.reflection.files import read_file

    page = make_page(locale="fr-FR").open(with_course(site_url, "7"))
    fill_all(page)
    # Pasted from a PDF or a word processor: separators and stray control characters.
    page.fill("#question2", "Recursion\u2028and pointers\u000b\u202e")
    with page.expect_download() as info:
        page.click("#submit")
    target = tmp_path / "r.json"
    info.value.save_as(str(target))
    parsed = read_file(target)
    assert (parsed.offering_id, parsed.language, parsed.email) == (7, "fr", EMAIL)
    assert parsed.answers["question2"] == "Recursion\nand pointers"
    assert parsed.answers["question3"] == "More worked examples"


def test_an_answer_cms_would_refuse_is_caught_on_the_page(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    fill_all(page)
    page.fill("#question1", "x" * 10_001)
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.click("#submit")
    assert page.inner_text("#question1-error") == (
        "This answer is too long: at most 10,000 characters."
    )
    assert active(page) == "error-summary"
    assert summary_items(page) == [
        f"{QUESTIONS_EN[0]} — This answer is too long: at most 10,000 characters."
    ]
    assert downloads == []
    page.fill("#question1", "x" * 10_000)
    assert page.get_attribute("#question1", "aria-invalid") is None
    assert page.is_hidden("#error-summary")


def test_clear_asks_first(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    page.fill("#question1", "Keep me")
    page.click("#save")
    page.click("#clear")
    dialog = page.locator("#confirm-dialog")
    assert dialog.is_visible()
    assert page.evaluate("() => document.activeElement.id") == "confirm-cancel"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "confirm-yes"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "confirm-cancel"  # trapped
    page.click("#confirm-cancel")
    assert dialog.is_hidden()
    assert page.input_value("#question1") == "Keep me"
    assert page.evaluate("() => document.activeElement.id") == "clear"
    page.click("#clear")
    page.click("#confirm-yes")
    assert page.input_value("#question1") == ""
    assert page.evaluate("() => localStorage.getItem('cms.reflection.draft.12')") is None
    assert page.inner_text("#save-status") == "The form was cleared and the draft removed."


def test_nothing_goes_into_the_url(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    fill_all(page)
    page.press("#question1", "Enter")
    with page.expect_download():
        page.click("#submit")
    assert "The%20labs" not in page.url
    assert "question1" not in page.url
    assert page.get_attribute("#submit", "type") == "button"


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_axe_finds_no_violations(
    make_page: Any, site_url: str, axe_source: str, locale: str
) -> None:
    page = make_page(locale=locale).open(with_course(site_url))
    assert axe(page, axe_source) == []
    page.click("#submit")  # validation errors shown
    assert axe(page, axe_source) == []
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    assert page.locator("#ready-dialog").is_visible()
    assert axe(page, axe_source) == []
    page.click("#saved-it")  # handed in: the banner
    assert axe(page, axe_source) == []
    page.click("#start-again")
    page.click("#clear")  # the other dialog
    assert page.locator("#confirm-dialog").is_visible()
    assert axe(page, axe_source) == []
    page.keyboard.press("Escape")
    page.goto(site_url + "?offering=12abc&course=Algebra")  # a bad link: Submit disabled
    page.wait_for_selector("html[data-ready='true']")
    assert axe(page, axe_source) == []
    page.emulate_media(media="print")
    assert axe(page, axe_source) == []


def test_screenshots(make_page: Any, site_url: str) -> None:
    for name, size in (("desktop-1280x800", (1280, 800)), ("mobile-390x844", (390, 844))):
        page = make_page(viewport=size).open(with_course(site_url))
        fill_all(page)
        path = screenshot(page, f"reflection-{name}")
        assert path.stat().st_size > 5000
    page = make_page(locale="fr-FR").open(with_course(site_url))
    page.click("#submit")
    screenshot(page, "reflection-fr-validation")
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    screenshot(page, "reflection-fr-ready")
    page = make_page(viewport=(390, 844)).open(site_url + "?offering=12abc&course=Algebra")
    screenshot(page, "reflection-mobile-bad-link")


HANDIN = "https://lms.uni.example/course/12/dropbox?tab=files"


def test_a_hand_in_link_says_where_the_file_goes(make_page: Any, site_url: str) -> None:
    """``&handin=URL``: the dialog and the final banner name the page and open it."""
    page = make_page().open(with_course(site_url) + "&handin=" + quote(HANDIN, safe=""))
    assert page.inner_text("#submit") == "Download my reflection file"
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    assert page.inner_text("#ready-text") == (
        "Your answers are in the file reflection-offering-12.json, in your downloads. "
        "Hand this file in on your course\u2019s hand-in page (lms.uni.example)."
    )
    link = page.locator("#ready-handin")
    assert link.is_visible()
    assert link.get_attribute("href") == HANDIN
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")
    assert link.inner_text() == "Open the hand-in page (lms.uni.example)"
    page.click("#saved-it")
    done = page.locator("#done-handin")
    assert done.is_visible()
    assert done.get_attribute("href") == HANDIN
    page.click("button[data-lang=fr]")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert done.inner_text() == "Ouvrir la page de dépôt (lms.uni.example)"


def test_a_very_long_hand_in_address_stays_on_a_phone_screen(make_page: Any, site_url: str) -> None:
    long = "https://" + "very-long-faculty-name." * 8 + "uni.example/dropbox"
    page = make_page(viewport=(360, 740)).open(
        with_course(site_url) + "&handin=" + quote(long, safe="")
    )
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    page.click("#saved-it")
    assert page.locator("#done-handin").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360


@pytest.mark.parametrize(
    "handin", ["javascript:alert(1)", "data:text/html,hi", "lms.uni.example/drop", "ftp://x.y/z"]
)
def test_a_hand_in_link_that_is_not_a_web_page_is_ignored(
    make_page: Any, site_url: str, handin: str
) -> None:
    page = make_page().open(with_course(site_url) + "&handin=" + quote(handin, safe=""))
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    assert page.locator("#ready-handin-row").is_hidden()
    assert "drop box, or by e-mail" in page.inner_text("#ready-text")
    page.click("#saved-it")
    assert page.locator("#done-handin").is_hidden()
    assert page.get_attribute("#done-handin", "href") == "about:blank"


def test_works_from_file_in_english(make_page: Any) -> None:
    wrapped = make_page(locale="fr-FR")
    page = wrapped.open((SITE / "index.html").as_uri() + "?offering=5&course=Algebra")
    assert page.get_attribute("html", "lang") == "en"  # the translation cannot be fetched here
    assert page.is_visible("#translation-note")  # said in French, to a French reader
    assert page.get_attribute("#translation-note", "lang") == "fr"
    assert page.inner_text("#translation-note").startswith("La traduction ne peut pas")
    assert labels(page) == QUESTIONS_EN
    page.fill("#question1", "Offline")
    page.click("#save")
    assert page.inner_text("#save-status").startswith("Draft saved at ")
    fill_all(page)
    with page.expect_download() as info:
        page.click("#submit")
    assert info.value.suggested_filename == "reflection-offering-5.json"


@pytest.mark.parametrize(
    ("query", "course"),
    [
        ("", None),
        ("?course=Algebra", "Algebra"),
        ("?offering=12abc&course=Algebra", "Algebra"),
        ("?offering=0&course=Algebra", "Algebra"),
        ("?offering=99999999999&course=Algebra", "Algebra"),
    ],
)
def test_a_bad_link_explains_and_disables_submit(
    make_page: Any, site_url: str, query: str, course: str | None
) -> None:
    page = make_page().open(site_url + query)
    assert page.is_visible("#link-problem")
    assert page.inner_text("#link-problem").startswith("This link is incomplete")
    if course:
        assert page.inner_text("#course-name") == course
    assert page.is_disabled("#submit")
    assert page.get_attribute("#submit", "aria-describedby") == "link-problem"
    fill_all(page)
    page.click("#save")  # drafts still work
    assert page.inner_text("#save-status").startswith("Draft saved at ")


def test_drafts_of_bad_links_are_never_shared(make_page: Any, site_url: str) -> None:
    page = make_page().open(site_url + "?course=Algebra")
    page.fill("#question1", "About algebra")
    page.click("#save")
    page.goto(site_url + "?course=Calculus")
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == ""
    page.goto(site_url + "?course=Algebra")
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == "About algebra"


def test_a_draft_written_on_an_incomplete_link_comes_to_the_right_one(
    make_page: Any, site_url: str
) -> None:
    page = make_page().open(site_url + "?offering=12abc&course=Algebra")
    page.fill("#question1", "Written before the right link came")
    page.click("#save")
    page.goto(site_url + "?offering=13&course=Calculus")  # another course: not there
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == ""
    page.goto(site_url + "?offering=12&course=Algebra")
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#question1") == "Written before the right link came"
    keys = page.evaluate("() => Object.keys(localStorage)")
    assert "cms.reflection.draft.12" in keys
    assert not [k for k in keys if k.startswith("cms.reflection.draft.link:")]


def test_print_shows_every_answer_whole(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    long = " ".join(f"sentence{n:04d}" for n in range(273))[:3000]
    assert len(long) == 3000
    page.fill("#question1", long)
    page.fill("#question2", "Short")
    page.click("#submit")  # an error summary and a focus ring, neither of which may print
    page.emulate_media(media="print")
    answer = page.locator("#question1-print")
    assert answer.is_visible()
    assert answer.inner_text() == long
    assert answer.evaluate("e => e.scrollHeight <= e.clientHeight + 1")  # nothing cut off
    assert page.locator("#question1").is_hidden()
    assert page.locator("#error-summary").is_hidden()
    assert page.locator("#question3-error").is_hidden()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "none"
    screenshot(page, "reflection-print")


def test_skip_link_and_focus_ring(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    page.keyboard.press("Tab")
    assert active(page) == "skip"
    assert page.inner_text("#skip") == "Skip to the questions"
    page.keyboard.press("Enter")
    assert active(page) == "question1"
    # The focus ring against white: at least 3:1 (WCAG 2.2, 1.4.11).
    ratio = page.evaluate(
        """() => {
        const style = getComputedStyle(document.activeElement);
        const rgb = style.outlineColor.match(/\\d+/g).map(Number);
        const lin = c => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        };
        const l = 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
        return 1.05 / (l + 0.05);
    }"""
    )
    assert ratio >= 3
    page.click("button[data-lang=fr]")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    assert page.inner_text("#skip") == "Aller aux questions"


def test_clear_is_not_undone_by_a_late_autosave(make_page: Any, site_url: str) -> None:
    page = clocked(make_page, with_course(site_url))
    page.type("#question1", "Soon gone")
    page.click("#clear")
    page.click("#confirm-yes")
    page.clock.run_for(3100)
    assert page.inner_text("#save-status") == "The form was cleared and the draft removed."


def test_a_changed_email_makes_the_file_stale(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    page.click("#ready-later")
    page.fill("#email", "sam.other@uni.example")
    assert draft_of(page)["pending"] is None
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert page.locator("#ready-dialog").is_hidden()
    assert page.input_value("#email") == "sam.other@uni.example"  # kept without leaving it


def test_autosave_is_announced_at_most_once_a_minute(make_page: Any, site_url: str) -> None:
    page = clocked(make_page, with_course(site_url))
    page.type("#question1", "First")
    page.clock.run_for(3100)
    first = page.inner_text("#save-announce")
    assert first.startswith("Draft saved at ")
    for n in range(5):  # typing on, a save every few seconds: shown, not announced
        page.type("#question1", f" more{n}")
        page.clock.run_for(3100)
        assert page.inner_text("#save-status").startswith("Draft saved at ")
        assert page.inner_text("#save-announce") == first
    page.clock.run_for(60_000)
    page.type("#question1", " later")
    page.clock.run_for(3100)
    assert page.evaluate("() => document.getElementById('save-announce').textContent") != first
    page.evaluate("() => { document.getElementById('save-announce').textContent = ''; }")
    page.click("#save")  # asked for: announced at once
    assert page.inner_text("#save-announce").startswith("Draft saved at ")


def test_french_typography() -> None:
    """Every French string: the typographic apostrophe, and a non-breaking space (never
    a plain one) before : ; ? !"""
    import re

    words = json.loads((SITE / "i18n" / "fr.json").read_text(encoding="utf-8"))
    english = json.loads((SITE / "i18n" / "en.json").read_text(encoding="utf-8"))
    assert set(words) == set(english)
    for key, text in words.items():
        assert "'" not in text, key
        assert not re.search(r"(^|[^\u00a0\u202f])[:;?!]", text.replace("Ctrl+S", "")), key
    html = (SITE / "index.html").read_text(encoding="utf-8")
    french = re.findall(r'lang="fr">([^<]*)<', html)
    assert french
    for text in french:
        assert "'" not in text
        assert not re.search(r" [:;?!]", text)


def test_the_email_is_remembered_per_browser(make_page: Any, site_url: str) -> None:
    page = make_page().open(with_course(site_url))
    fill_all(page)
    with page.expect_download():
        page.click("#submit")
    page.click("#saved-it")
    page.goto(with_course(site_url, "13", "Calculus"))
    page.wait_for_selector("html[data-ready='true']")
    assert page.input_value("#email") == EMAIL
    other = make_page().open(with_course(site_url))  # another browser knows nobody
    assert other.input_value("#email") == ""


def test_no_external_resources() -> None:
    html = (SITE / "index.html").read_text()
    css = (SITE / "styles.css").read_text()
    script = (SITE / "app.js").read_text()
    for text in (html, css, script):
        assert "http://" not in text
        assert "https://" not in text
        assert "@import" not in text
    assert '<script defer src="app.js"></script>' in html
    assert 'type="module"' not in html
    assert "<noscript>" in html
    assert "@media print" in css


# -- the compliance report's page (cms tracker report --html) -----------------------------
# Accessible (axe-core), usable on a 390 px phone (the matrix scrolls in its own box with
# the id and module columns kept in view), legible when printed with default settings.
# Here beside the reflection page: the two share one Chromium (a session fixture).

STATES = ("complete", "missing", "overdue", "incomplete", "upcoming")


def made_report(
    offerings: list[dict[str, Any]], *, expected: int, submitted: int, complete: int
) -> Report:
    """A report of ``offerings`` as given, its state counts taken from their cells."""
    states = {s: sum(list(o["weeks"].values()).count(s) for o in offerings) for s in STATES}
    return Report.model_validate(
        {
            "expected": expected,
            "submitted": submitted,
            "complete": complete,
            "overdue": expected - complete,
            "states": states,
            "offerings": offerings,
        }
    )


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
    data = made_report(offerings, expected=200, submitted=150, complete=100)
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
    cell = first.locator("td.missing").first
    assert cell.locator(".word").inner_text() == "missing"  # read out, copied
    assert cell.locator(".glyph").get_attribute("aria-hidden") == "true"
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


def test_printed_the_cells_keep_the_screens_palette(make_page: Any, report: str) -> None:
    """One palette for screen and paper (printed exactly): what a meeting saw on the
    projector is what its minutes show."""
    page = make_page().page
    page.goto(report)
    style = (
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color,"
        " getComputedStyle(e).printColorAdjust]"
    )
    on_screen = {s: page.locator(f"td.{s}").first.evaluate(style) for s in STATES}
    page.emulate_media(media="print")
    printed = {s: page.locator(f"td.{s}").first.evaluate(style) for s in STATES}
    assert printed == on_screen
    assert printed["missing"] == ["rgb(61, 0, 0)", "rgb(255, 255, 255)", "exact"]
    assert printed["complete"] == ["rgb(227, 241, 229)", "rgb(27, 94, 32)", "exact"]
    assert page.locator(".scroll").evaluate("e => getComputedStyle(e).overflowX") == "visible"
    screenshot(page, "report-print")


# -- the report as a meeting reads it: headline figures, trend, quiet when fine ----------


def _png_luminance(png: bytes) -> float:
    """The mean relative luminance (0..1) of an 8-bit RGB(A) PNG, decoded here (no
    imaging library): the rendered pixels, after any emulation of the eye."""
    import struct
    import zlib

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            chunks.append(data)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    offset = 0
    for _ in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        previous = line
    total = 0.0
    for line in rows:
        for x in range(0, stride, channels):
            r, g, b = (line[x + k] / 255 for k in range(3))
            total += 0.2126 * r + 0.7152 * g + 0.0722 * b
    return total / (width * height)


@pytest.fixture
def meeting_page(tmp_path: Path) -> str:
    """A report as `tracker report --html` writes it for people: figures, the trend,
    this week (week 4) marked."""
    from cms_cli.tracker import headline

    offerings = [
        {
            "id": n + 1,
            "module": f"CS{101 + n}",
            "facilitator": f"f{n}@uni.example",
            "weeks": {str(w): STATES[(n + w) % 5] for w in range(1, 13)},
            "class_code": "2026J",
            "mode": "online" if n % 2 else "hybrid",
            "status": "active",
        }
        for n in range(8)
    ]
    data = made_report(offerings, expected=10, submitted=6, complete=5)
    data = headline.ranked(headline.subset(data, data.offerings))
    points = headline.trend(data)
    page = tmp_path / "meeting.html"
    page.write_text(
        render.page(
            data,
            title="Weekly activity compliance",
            caption="Weekly activity compliance: running offerings; as of 2026-11-30 14:05 UTC",
            figures=headline.figures(data),
            notes=[headline.headline(data, "Running offerings", 4), "2 completed hidden: --all"],
            week=4,
            trend_svg=headline.svg(points),
        ),
        encoding="utf-8",
    )
    return page.as_uri()


def test_the_headline_comes_first_with_the_trend(
    make_page: Any, axe_source: str, meeting_page: str
) -> None:
    page = make_page().page
    page.goto(meeting_page)
    assert axe(page, axe_source) == []
    figures = page.locator("ul.figures li").all_inner_texts()
    assert len(figures) == 4
    assert figures[0].split("\n")[0].endswith("%")
    assert page.locator("p.note").first.inner_text().startswith("Running offerings, week 4: ")
    trend = page.locator("svg.trend")
    assert trend.count() == 1
    assert trend.get_attribute("aria-label").startswith("Share of due weeks complete: week 1 ")
    assert page.locator("svg.trend polyline").count() == 1
    assert page.locator("th.now").inner_text() == "4"
    assert page.locator("th.now").get_attribute("aria-label") == "week 4, this week"
    # Above the matrix: figures, then the trend, then the table.
    tops = [
        page.locator(sel).first.bounding_box()["y"] for sel in ("ul.figures", "svg.trend", "table")
    ]
    assert tops == sorted(tops)
    screenshot(page, "report-meeting")


def test_copying_the_matrix_gives_the_state_words(make_page: Any, meeting_page: str) -> None:
    page = make_page().page
    page.goto(meeting_page)
    copied = page.evaluate(
        """() => { const r = document.createRange();
        r.selectNodeContents(document.querySelector('tbody'));
        const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
        return s.toString(); }"""
    )
    assert "missing" in copied
    assert "complete" in copied
    for glyph in ("✓", "✗", "!", "◐", "·"):
        assert glyph not in copied


@pytest.mark.parametrize("media", ["screen", "print"])
def test_without_colour_complete_and_overdue_differ_in_lightness(
    make_page: Any, meeting_page: str, media: str
) -> None:
    """Chromium's achromatopsia emulation (no colour at all): complete is light,
    overdue and missing dark, in that order, on screen and on paper."""
    page = make_page().page
    page.goto(meeting_page)
    page.emulate_media(media=media)
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setEmulatedVisionDeficiency", {"type": "achromatopsia"})
    seen = {
        s: _png_luminance(page.locator(f"td.{s}").first.screenshot())
        for s in ("complete", "incomplete", "overdue", "missing")
    }
    assert seen["complete"] - seen["overdue"] > 0.3
    assert seen["complete"] > seen["incomplete"] > seen["overdue"] > seen["missing"]
    screenshot(page, f"report-achromatopsia-{media}")


def test_on_a_phone_the_headline_fits(make_page: Any, meeting_page: str) -> None:
    page = make_page(viewport=(390, 844)).page
    page.goto(meeting_page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("ul.figures").bounding_box()
    assert box is not None
    assert box["width"] <= 390
    screenshot(page, "report-meeting-phone")
