"""Make the screenshots the docs show, from the demo's term: `python docs/screenshots.py`.

It runs `cms demo` in a temporary home, writes `cms tracker report --html` (and the
league table, `--by facilitator --html`), and photographs them in Debian's Chromium
through Playwright (what the browser tests use): docs/images/report.png and
docs/images/report-by-facilitator.png. The terminal view is in docs/registry-guide.md
as text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CMS_HOME": tmp}
        env.pop("CMS_DATABASE_URL", None)
        cms = [sys.executable, "-m", "cms_cli"]
        subprocess.run([*cms, "demo"], env=env, check=True, capture_output=True)
        pages = {
            "report.png": Path(tmp) / "report.html",
            "report-by-facilitator.png": Path(tmp) / "league.html",
        }
        subprocess.run(
            [*cms, "tracker", "report", "--html", str(pages["report.png"])], env=env, check=True
        )
        subprocess.run(
            [
                *cms,
                "tracker",
                "report",
                "--by",
                "facilitator",
                "--html",
                str(pages["report-by-facilitator.png"]),
            ],
            env=env,
            check=True,
        )
        out = HERE / "images"
        out.mkdir(exist_ok=True)
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            for name, source in pages.items():
                page.goto(source.as_uri())
                page.screenshot(path=str(out / name), full_page=True)
                print(f"wrote {out / name}")
            browser.close()


if __name__ == "__main__":
    main()
