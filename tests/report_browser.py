"""Open a report in a real headless Chromium: images, console errors, Findings text, and a
full-page screenshot under test-artifacts/ (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert browser and driver, (
        "Chromium and chromedriver are installed by `make test` (Debian chromium, chromium-driver)"
    )
    return browser, driver


def open_report(report: Path, screenshot: str) -> dict[str, Any]:
    """Load ``report`` and return its images (alt, complete, width, height), the browser's
    SEVERE/ERROR log entries, the Findings section's text and the screenshot's path."""
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium look for drivers online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,2000",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        drv.get(report.resolve().as_uri())
        images = drv.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);"
        )
        findings = drv.execute_script(
            "const h = Array.from(document.querySelectorAll('h2')).find(e => e.textContent === 'Findings');"
            "if (!h) return null; let t = ''; let e = h.nextElementSibling;"
            "while (e && e.tagName !== 'H2') { t += e.innerText + '\\n'; e = e.nextElementSibling; }"
            "return t;"
        )
        errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        height = int(drv.execute_script("return document.documentElement.scrollHeight"))
        drv.set_window_size(1280, min(height + 200, 30000))
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{screenshot}.png"
        assert drv.save_screenshot(str(shot))
        return {"images": images, "errors": errors, "findings": findings, "screenshot": shot}
    finally:
        drv.quit()
