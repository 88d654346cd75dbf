"""Real headless Chromium (Debian's ``chromium``) driven by Playwright for Python, for the
dashboard's browser tests; each test saves screenshots under ``test-artifacts/<module>/`` at
the repository root (ignored by git), so a person can look at what the test saw.

Playwright's own browser download cannot reach the internet here: the system browser is
started through ``executable_path``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def chromium_path() -> str:
    """The system Chromium (scripts/setup.sh installs Debian's ``chromium``)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "no chromium: run scripts/setup.sh as root (it installs Debian's chromium)"
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        # --no-sandbox: the tests run as root, where Chromium's own sandbox refuses to start
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> Page:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(20_000)
    return page


def screenshot(page: Page, module: str, name: str) -> Path:
    """Save what ``page`` shows as ``test-artifacts/<module>/<name>.png``."""
    path = ARTIFACTS / module / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=False)
    return path
