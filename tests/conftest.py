"""What the tests share: one headless Chromium per test process, and the marks that group and select tests.

Every browser test (the website's and JupyterLab's) uses the session-scoped ``browser`` fixture, so Chromium starts
once per process. Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``) the browser tests form one group
and run on one worker, so they share that browser and the website built once by ``tests/test_book.py``.

Outside CI, a missing Playwright or Chromium skips the browser tests with a message; in CI (``CI=true``) it fails them.
"""

import os

import pytest

from latent_course.tools.browser import CHROMIUM, CHROMIUM_ARGS

# Test files whose tests take seconds each: left out by `make test-fast` (pytest -m "not slow").
SLOW_FILES = {"test_book.py", "test_lab_browser.py", "test_spark.py", "test_grading.py", "test_progress.py"}
# Test files that use the browser: one xdist group, so that one worker starts Chromium and builds the site once.
BROWSER_FILES = {"test_book.py", "test_lab_browser.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
        if item.path.name in BROWSER_FILES:
            item.add_marker(pytest.mark.xdist_group("browser"))


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (with what to install), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's package) through Playwright, started once per test process."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests need a browser in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
