"""A student's session in a real browser: JupyterLab started the way ``make lab`` starts it, driven in headless
Chromium. Screenshots of each case go to ``build/screenshots/`` (ignored by Git).

The browser is the session's one Chromium (``tests/conftest.py``): outside CI, a missing Chromium or Playwright skips
these tests with a message; in CI (``CI=true``) it fails them.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from latent_course.notebook import read_cells
from latent_course.tools.solutions import ROOT

pytestmark = pytest.mark.full_course  # about the solved notebooks or the repository: not in a student edition

SCREENSHOTS = ROOT / "build" / "screenshots"
TOPIC = "03_mixture_moments"
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    """A copy of the course with no work/ yet, served by ``python -m latent_course lab`` (what ``make lab`` runs)."""
    course = tmp_path_factory.mktemp("course")
    for folder in ("latent_course", "notebooks", "solutions", "derivations"):
        shutil.copytree(ROOT / folder, course / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "jupytext.toml", course)
    settings = course.parent / f"{course.name}-settings"
    # Render every cell (no windowing), so that the page holds the text of every cell.
    path = settings / "user-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"windowingMode": "none"}')
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces"), "JUPYTER_RUNTIME_DIR": str(settings / "runtime"),
           "JUPYTER_CONFIG_DIR": str(settings / "config")}
    port, token = _free_port(), uuid.uuid4().hex
    log = (course.parent / f"{course.name}-lab.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "latent_course", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--allow-root"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"JupyterLab did not start:\n{log.read()}")
                time.sleep(0.5)
        log.seek(0)
        yield {"course": course, "url": url, "token": token, "printed": log.read()}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_make_lab_copies_the_exercises_into_work_and_prints_their_status(lab):
    work = lab["course"] / "work"
    for suffix in (".ipynb", ".py"):
        copied, exercise = work / f"{TOPIC}{suffix}", lab["course"] / "notebooks" / f"{TOPIC}{suffix}"
        assert copied.read_bytes() == exercise.read_bytes(), suffix
    assert f"copied {TOPIC} into work/" in lab["printed"]
    assert any(line.split() == [TOPIC, "up", "to", "date"] for line in lab["printed"].splitlines())
    assert "/lab/tree/work" in lab["printed"], "the printed address opens the file browser in work/"


def _open(browser, lab):
    """work/03 opened in JupyterLab, its kernel started."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{lab['url']}/lab/tree/work/{TOPIC}.ipynb?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    return page


def _answer(page, lab, body: str, screenshot: str, *, from_the_top: bool):
    """Type `body` in place of mixture_mean's TODO (or of the last answer) and run the code cells down to its
    self-check (`from_the_top`), or only the function's cell and the check's, as a student does after a correction;
    return the check's cell."""
    from playwright.sync_api import expect

    task = page.locator(".jp-CodeCell", has_text="def mixture_mean(pi, mu)")
    cells = read_cells(lab["course"] / "work" / f"{TOPIC}.ipynb")
    position = next(index for index, (_, source) in enumerate(cells) if source.startswith("def mixture_mean("))
    lines = [line for line in cells[position][1].splitlines()
             if not line.strip().startswith(("# TODO", "raise NotImplementedError", "return"))]
    task.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text("\n".join([*lines, f"    {body}"]))
    page.keyboard.press("Escape")
    # Run the cells one by one, each to its end (its prompt shows a new execution count): on a loaded machine a click
    # or a key press can be lost, and then the cell never starts (its prompt keeps its old text, where a started one
    # shows [*] or its new count), so press again.
    code_cells, task_cell = page.locator(".jp-CodeCell"), sum(kind == "code" for kind, _ in cells[:position])
    for index in range(task_cell + 2) if from_the_top else (task_cell, task_cell + 1):
        prompt = code_cells.nth(index).locator(".jp-InputPrompt")
        before = prompt.inner_text().strip()
        changed = re.compile(rf"^(?!{re.escape(before)}$)\[(\*|\d+)\]:?$")
        for attempt in range(5):
            prompt.click()
            page.keyboard.press("Control+Enter")
            try:
                expect(prompt).to_have_text(changed, timeout=5_000)
                break
            except AssertionError:
                if attempt == 4:
                    raise
        expect(prompt).to_have_text(re.compile(r"^\[\d+\]:?$"), timeout=TIMEOUT_MS)
    check = page.locator(".jp-CodeCell", has_text="checks.mixture_mean(mixture_mean)")
    expect(check.locator(".jp-OutputArea-output")).to_have_count(1, timeout=TIMEOUT_MS)
    check.scroll_into_view_if_needed()
    # No pop-up over the outputs (JupyterLab asks about Jupyter's news once the lab is restored, unless configured).
    assert page.locator(".Toastify__toast").count() == 0, page.locator(".Toastify").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / screenshot)
    return check


def test_a_wrong_answer_shows_the_checks_message_and_the_corrected_one_passes_and_is_saved(browser, lab):
    """As a student works: a wrong answer, run from the top, shows the check's message without a traceback; the
    corrected function, run again with its check, passes; saving writes it into the .py twin."""
    page = _open(browser, lab)
    check = _answer(page, lab, "return mu.sum(axis=0)  # adds the means up", "lab_failed.png", from_the_top=True)
    shown = check.locator(".jp-OutputArea-output").inner_text()
    assert shown.startswith("CheckFailure: mixture_mean:"), shown
    assert "Expected" in shown and "Traceback" not in shown and 'File "' not in shown
    check = _answer(page, lab, "return pi @ mu  # weighted average of the means", "lab_passed.png",
                    from_the_top=False)
    shown = check.locator(".jp-OutputArea-output").inner_text().strip()
    assert re.fullmatch(r"mixture_mean passed \d+ checks\.", shown), shown
    page.keyboard.press("Control+s")
    twin = lab["course"] / "work" / f"{TOPIC}.py"
    deadline = time.monotonic() + 60
    while "return pi @ mu  # weighted average of the means" not in twin.read_text():
        assert time.monotonic() < deadline, f"the .py twin was not saved:\n{twin.read_text()}"
        time.sleep(0.5)
    page.close()


def test_the_courses_own_files_are_read_only_and_work_is_the_students(lab):
    """JupyterLab serves the course's notebooks read-only (a `git pull` never meets a change there); work/ is the
    student's."""
    def contents(path, method="GET", body=None):
        request = urllib.request.Request(f"{lab['url']}/api/contents/{path}?token={lab['token']}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    course_copy = lab["course"] / "notebooks" / f"{TOPIC}.ipynb"
    before = course_copy.read_bytes()
    status, model = contents(f"notebooks/{TOPIC}.ipynb")
    assert status == 200 and model["writable"] is False
    status, answer = contents(f"notebooks/{TOPIC}.ipynb", "PUT", {"type": "notebook", "content": model["content"]})
    assert status >= 400 and "work on your copy in work/" in answer["message"], answer
    assert course_copy.read_bytes() == before
    status, answer = contents("derivations/README.md", "DELETE")
    assert status >= 400 and (lab["course"] / "derivations" / "README.md").is_file()
    status, model = contents(f"work/{TOPIC}.ipynb")
    assert status == 200 and model["writable"] is True
    status, saved = contents("work/scratch.txt", "PUT", {"type": "file", "format": "text", "content": "mine"})
    assert status in (200, 201) and (lab["course"] / "work" / "scratch.txt").read_text() == "mine"

