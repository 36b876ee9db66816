"""Screenshot of report.html for the README, taken with Debian's headless chromium.

    python docs/screenshot.py mlops-audit/report.html docs/report.png [SCOPE-ID]

SCOPE-ID is a section id such as ``seven_stages--team--platform`` (the page opens on it)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(report: str, out: str, scope: str = "") -> None:
    url = Path(report).resolve().as_uri() + (f"#{scope}" if scope else "")
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 1500})
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page = context.new_page()
        page.goto(url)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=out)
        context.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
