"""What the tests share: one headless Chromium per test process, and the `slow` mark that `make test-fast` leaves out.

Every browser test (the website's and JupyterLab's) uses the session-scoped ``browser`` fixture, so Chromium starts
once per test process. Under pytest-xdist (``make test`` runs ``-n 2 --dist loadfile``) a test file runs on one
worker, so all of ``tests/test_book.py`` shares that browser and the one build of the website.

Outside CI, a missing Playwright or Chromium skips the browser tests with a message; in CI (``CI=true``) it fails them.
"""

import os

import pytest
from threadpoolctl import threadpool_limits

from latent_course.tools.browser import CHROMIUM, CHROMIUM_ARGS

# One BLAS and OpenMP thread per test process and in the processes the tests start: pytest-xdist runs one worker per
# core, and the small matrix products and solves of the tests get slower, not faster, when split over threads
# (solutions/conftest.py does the same for the notebooks' kernels).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
threadpool_limits(1)

# Test files whose tests take seconds each: left out by `make test-fast` (pytest -m "not slow").
SLOW_FILES = {"test_book.py", "test_lab_browser.py", "test_spark.py", "test_grading.py", "test_progress.py",
              "test_release.py", "test_bad_input_cli.py", "test_gradebook.py"}


def pytest_addoption(parser):
    parser.addoption("--screenshots", action="store_true",
                     help="save a screenshot of every whole page of the website into build/screenshots/book/")


def pytest_itemcollected(item):
    if item.path.name in SLOW_FILES:  # marked as collected, so that `-m "not slow"` sees the mark
        item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)  # after solutions/conftest.py has marked the notebooks' cells slow
def pytest_collection_modifyitems(config, items):
    # The slow files first (each file keeps its order): pytest-xdist hands out whole files in this order (`make test`
    # turns its own reordering off), so the long ones start early and the many short ones fill in at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
