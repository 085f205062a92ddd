"""The course as a website, tested as a reader would use it.

The site is built the way ``make book`` builds it (fresh, warnings as errors) into ``build/book/``, served on
localhost and opened page by page in headless Chromium: no console error, every image loaded, every equation typeset,
every internal link resolves, nothing fetched from another host. With ``--screenshots``, a screenshot of each whole
page goes to ``build/screenshots/book/`` (ignored by Git) for a maintainer to look at.

The site is built once per test process and shared by every test here, as is the session's one Chromium
(``tests/conftest.py``). Outside CI, a missing book extra, Playwright or Chromium skips these tests with a message; in
CI (``CI=true``) it fails them.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from latent_course.tools.browser import CHROMIUM
from latent_course.tools.solutions import ROOT
from latent_course.topics import topics

pytestmark = pytest.mark.full_course  # about the solved notebooks or the repository: not in a student edition

SITE = ROOT / "build" / "book"
SCREENSHOTS = ROOT / "build" / "screenshots" / "book"
# The command `make book` runs, with the same options (the Makefile's `book` target).
BUILD = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-c", "book", ".", str(SITE)]
TIMEOUT_MS = 60_000
# Every equation is typeset: MathJax put its output into each of Sphinx's math elements, with no TeX error, and no
# TeX source is left in the visible text (outside code, where a notebook may print anything).
PAGE_REPORT = """async () => {
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    await Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null)));
    const math = Array.from(document.querySelectorAll('.math'));
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: node =>
        node.parentElement.closest('pre, code, script, style, mjx-container, .highlight')
            ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
    const raw = [];
    while (walker.nextNode()) {
        const text = walker.currentNode.textContent;
        if (text.includes('$$') || text.includes('\\\\begin') || text.includes('\\\\(') || text.includes('\\\\['))
            raw.push(text.trim().slice(0, 80));
    }
    return {
        math: math.length,
        untypeset: math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80)),
        tex_errors: Array.from(document.querySelectorAll('mjx-merror')).map(el => el.getAttribute('data-mjx-error')),
        raw_tex: raw,
        images: document.images.length,
        broken_images: Array.from(document.images).filter(img => !img.complete || img.naturalWidth === 0)
            .map(img => img.getAttribute('src')),
        // Punctuation right after inline math, which a line break could leave alone at the start of a line.
        loose_marks: Array.from(document.querySelectorAll('span.math')).filter(math => math.nextSibling
            && getComputedStyle(math.parentElement).whiteSpace !== 'nowrap'
            && math.nextSibling.nodeType === Node.TEXT_NODE && /^[.,;:!?)\\]]/.test(math.nextSibling.data))
            .map(math => math.textContent.slice(0, 40) + math.nextSibling.data.slice(0, 1)),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
        ids: Array.from(document.querySelectorAll('[id]')).map(el => el.id),
    };
}"""


def _need(what: str, reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"the book's tests need {what} in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def book_extra():
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            __import__(module)
        except ImportError:
            _need("the book extra", f"{module} is not installed (pip install -e '.[book]')")


@pytest.fixture(scope="session")
def site(book_extra) -> Path:
    """The site, built afresh as `make book` builds it; the build fails on any warning."""
    shutil.rmtree(SITE, ignore_errors=True)
    built = subprocess.run(BUILD, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, f"the book's build failed or warned:\n{built.stdout[-3000:]}{built.stderr[-3000:]}"
    return SITE


def _pages(site: Path) -> list[Path]:
    """Every HTML page of the site, except the root's index.html, which only leads to the landing page."""
    return sorted(path for path in site.rglob("*.html")
                  if not path.relative_to(site).parts[0].startswith("_") and path != site / "index.html")


class _References(HTMLParser):
    """The URLs a page loads as a script, stylesheet, font, image or frame (not the links a reader may follow)."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and attrs.get("rel", "") not in ("canonical", "alternate"):
            self.urls.append(attrs["href"])
        if tag == "style" or (attrs.get("style") and "url(" in attrs["style"]):
            self.urls.append(attrs.get("style", ""))


def _external(url: str) -> bool:
    return bool(re.match(r"^\s*([a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE))


def test_no_page_loads_anything_from_another_host(site):
    offenders = []
    for page in [*_pages(site), site / "index.html"]:
        parser = _References()
        parser.feed(page.read_text(encoding="utf-8"))
        offenders += [f"{page.relative_to(site)}: {url}" for url in parser.urls if _external(url)]
        offenders += [f"{page.relative_to(site)}: inline style {url}" for url in parser.urls
                      if re.search(r"url\(\s*['\"]?([a-z]+:)?//", url)]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{sheet.relative_to(site)}: {match}"
                      for match in re.findall(r"(?:url\(|@import)\s*['\"]?(?:[a-z]+:)?//[^)'\"\s]+", text)]
    assert not offenders, "the site must be readable offline, but these load from another host:\n" + "\n".join(
        offenders)
    # The math renderer is the site's own copy, with its licence.
    assert (site / "_static" / "mathjax" / "tex-chtml-full.js").is_file()
    assert (site / "_static" / "mathjax" / "LICENSE").is_file()


def test_every_topic_has_its_notes_its_solved_notebook_and_its_exercise_download(site):
    landing = (site / "book" / "index.html").read_text(encoding="utf-8")
    for topic in topics():
        assert (site / "derivations" / f"{topic}.html").is_file(), topic
        assert (site / "solutions" / f"{topic}.html").is_file(), topic
        assert f'href="../derivations/{topic}.html"' in landing, topic
        assert f'href="../solutions/{topic}.html"' in landing, topic
        downloads = re.findall(rf'href="\.\./(_downloads/[0-9a-f]+/{topic}\.ipynb)"', landing)
        assert downloads and (site / downloads[0]).read_bytes() == (ROOT / "notebooks" / f"{topic}.ipynb").read_bytes()
    # The notes' own link to the exercise (../notebooks/NN_topic.ipynb) is a download too, not a missing page.
    notes = (site / "derivations" / f"{topics()[0]}.html").read_text(encoding="utf-8")
    assert re.search(rf'href="\.\./_downloads/[0-9a-f]+/{topics()[0]}\.ipynb"', notes)


def test_solved_pages_show_the_code_without_the_instructors_markers(site):
    """The solution markers and "# checks:" comments stay in the sources, for the tools, and out of the reader's way;
    what a cell prints in several writes (a loop) shows in one box."""
    for topic in topics():
        cells = json.loads((ROOT / "solutions" / f"{topic}.ipynb").read_text(encoding="utf-8"))["cells"]
        printouts = sum(1 for cell in cells for before, output in zip([None, *cell.get("outputs", [])],
                                                                        cell.get("outputs", []), strict=False)
                        if output["output_type"] == "stream" and (before or {}).get("name") != output["name"])
        html = (site / "solutions" / f"{topic}.html").read_text(encoding="utf-8")
        assert html.count('<div class="output stream') == printouts, topic
        source = (ROOT / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
        page = re.sub(r"<!--.*?-->", "", (site / "solutions" / f"{topic}.html").read_text(encoding="utf-8"), flags=re.S)
        for marker in ("### BEGIN SOLUTION", "### END SOLUTION", "# checks:"):
            assert marker not in page, f"solutions/{topic}.html shows {marker!r}"
        assert "### BEGIN SOLUTION" in source, topic  # what the page leaves out is there to leave out


def test_labelled_equations_are_numbered_and_labelled_claims_are_anchors(site):
    equation = re.compile(r"\$\$\s*\((?P<label>[a-z][a-z0-9-]*)\)\s*$", re.MULTILINE)
    target = re.compile(r"^\((?P<label>[a-z][a-z0-9-]*)\)=\s*$", re.MULTILINE)
    checked = 0
    for topic in topics():
        note = (ROOT / "derivations" / f"{topic}.md").read_text(encoding="utf-8")
        page = (site / "derivations" / f"{topic}.html").read_text(encoding="utf-8")
        numbers = re.findall(r'<span class="eqno">\((\d+)\)', page)
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)], f"{topic}: equations numbered {numbers}"
        for label in equation.findall(note):
            assert re.search(rf'id="equation-{label}"[^>]*>\s*<span class="eqno">\(\d+\)', page), (topic, label)
            checked += 1
        for label in target.findall(note):
            assert f'id="{label}"' in page, (topic, label)
            checked += 1
    assert checked, "no labelled equation or claim found in the notes"


def _demo_site(folder: Path, notebook_text: str) -> subprocess.CompletedProcess:
    """Build a one-topic site in `folder`: notes with a labelled claim and equation, and a page that refers to them."""
    (folder / "derivations").mkdir()
    (folder / "derivations" / "99_demo.md").write_text(
        "# 99 · Demo\n\nA claim:\n\n(demo-claim)=\nIt holds.\n\n$$x = 1$$ (demo-eq)\n\nBy [(demo-eq)](#demo-eq).\n",
        encoding="utf-8")
    (folder / "solutions").mkdir()
    (folder / "solutions" / "99_demo.md").write_text(f"# Demo notebook\n\n{notebook_text}\n", encoding="utf-8")
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "99_demo.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    (folder / "book").mkdir()
    (folder / "book" / "index.md").write_text(
        "# Demo\n\n<!-- course map -->\n\n```{toctree}\n/derivations/99_demo\n/solutions/99_demo\n```\n",
        encoding="utf-8")
    # The course map lists the course's real topics, absent here: their links warn, so no -W in this build.
    return subprocess.run([sys.executable, "-m", "sphinx", "-E", "-q", "-c", str(ROOT / "book"),
                           "-D", "include_patterns=book/index.md,derivations/*.md,solutions/*.md",
                           str(folder), str(folder / "out")], capture_output=True, text=True, timeout=600)


def test_links_from_a_notebook_to_an_equation_a_claim_and_an_exercise_resolve(book_extra, tmp_path):
    """The relative links a notebook writes (they open the files on a Git host) lead to the right places on the site."""
    built = _demo_site(tmp_path, "[the equation](../derivations/99_demo.md#demo-eq), "
                       "[the claim](../derivations/99_demo.md#demo-claim), [the exercise](../notebooks/99_demo.ipynb)")
    assert built.returncode == 0, built.stderr[-3000:]
    page = (tmp_path / "out" / "solutions" / "99_demo.html").read_text(encoding="utf-8")
    assert 'href="../derivations/99_demo.html#equation-demo-eq"' in page
    assert 'href="../derivations/99_demo.html#demo-claim"' in page
    assert re.search(r'href="\.\./_downloads/[0-9a-f]+/99_demo\.ipynb"', page)
    assert "99_demo.md#demo-eq" not in built.stderr  # resolved, not reported as a missing target
    # Within the notes, [(label)](#label) shows the equation's number, linked.
    notes = (tmp_path / "out" / "derivations" / "99_demo.html").read_text(encoding="utf-8")
    assert re.search(r'By <a class="reference internal" href="#equation-demo-eq">\(1\)</a>', notes), notes[-2000:]


def test_a_bare_equation_label_fails_the_build(book_extra, tmp_path):
    """``(demo-eq)`` as plain text would show the label where the equation's number belongs: the build stops."""
    built = _demo_site(tmp_path, "As (demo-eq) says; `(demo-eq)` in code and (demo-claim), a claim, are no references.")
    assert built.returncode != 0
    assert "solutions/99_demo.md: (demo-eq) on line 3:" in built.stderr, built.stderr[-3000:]
    assert "[(label)](#label)" in built.stderr and "demo-claim" not in built.stderr


@pytest.fixture(scope="session")
def served(site):
    """The site on an HTTP server on localhost, as a reader (or a static host) serves it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the base class prints every request
        pass


def _resolves(site: Path, base: str, url: str) -> bool:
    path = unquote(urlsplit(url).path)[len(urlsplit(base).path):]
    target = site / path
    return (target / "index.html").is_file() if target.is_dir() else target.is_file()


# A phone, a tablet (both below the theme's 992 px, where the sidebars become pop-ups) and a laptop.
WIDTHS = {"phone": 390, "tablet": 800, "laptop": 1366}
# What is wider than its column: a displayed equation (its box would scroll, or its number overlap it), a table, and
# the page itself (it would scroll sideways).
OVERFLOWS = """async () => {
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    // The layout has settled (the article kept its width for five frames: no sidebar sliding), and then refitted.
    const article = document.querySelector('article.bd-article');
    const frame = () => new Promise(done => requestAnimationFrame(done));
    for (let width = -1, same = 0; same < 5; ) {
        await frame();
        const now = article.getBoundingClientRect().width;
        same = now === width ? same + 1 : 0;
        width = now;
    }
    await frame();
    await frame();
    const right = article.getBoundingClientRect().right - parseFloat(getComputedStyle(article).paddingRight);
    const wide = [];
    for (const box of document.querySelectorAll('div.math mjx-container')) {
        const math = box.firstElementChild.getBoundingClientRect(), own = box.getBoundingClientRect();
        if (box.scrollWidth > box.clientWidth + 1 || math.left < own.left - 1 || math.right > own.right + 1)
            wide.push(`equation ${box.closest('div.math').id}: ${Math.round(math.width)} px in ${box.clientWidth} px`);
    }
    for (const table of article.querySelectorAll('table')) {
        const box = table.getBoundingClientRect();
        if (box.right > right + 1)
            wide.push(`table "${table.rows[0].cells[0].innerText}": ends ${Math.round(box.right - right)} px too far`);
    }
    if (document.documentElement.scrollWidth > innerWidth)
        wide.push(`the page: ${document.documentElement.scrollWidth} px in ${innerWidth} px`);
    return wide;
}"""


def test_every_page_reads_well_in_a_browser(site, served, browser, request):
    screenshots = request.config.getoption("--screenshots")
    if screenshots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.jpg"):
            old.unlink()
    context = browser.new_context(viewport={"width": WIDTHS["laptop"], "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    foreign = []
    context.route(lambda url: not url.startswith(served),
                  lambda route: (foreign.append(route.request.url), route.abort()))
    problems, ids, anchors, pages = [], {}, [], _pages(site)
    # One tab goes from page to page, as a reader clicks (a new tab per page takes about twice as long to load).
    page, errors = context.new_page(), []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and errors.append(f"{response.status} {response.url}"))
    for path in pages:
        name = path.relative_to(site).as_posix()
        url = urljoin(served, name)
        page.set_viewport_size({"width": WIDTHS["laptop"], "height": 900})
        errors.clear()
        page.goto(url, wait_until="load")
        report = page.evaluate(PAGE_REPORT)
        if name == "book/index.html" or name.startswith("derivations/0"):  # the pages with wide tables and equations
            # As loaded at a laptop's width, then as a window resized or a phone turned: the page fits itself again.
            for width in (WIDTHS["laptop"], WIDTHS["phone"], WIDTHS["tablet"]):
                if width != WIDTHS["laptop"]:
                    page.set_viewport_size({"width": width, "height": 900})
                problems += [f"{name} at {width} px: {item}" for item in page.evaluate(OVERFLOWS)]
        if screenshots:  # the whole page, as JPEG: about half the time of a PNG of a long notebook
            page.screenshot(path=str(SCREENSHOTS / f"{name[:-len('.html')].replace('/', '--')}.jpg"),
                            full_page=True, type="jpeg", quality=70)
        for kind, found in [("console", errors), ("image not loaded", report["broken_images"]),
                            ("equation not typeset", report["untypeset"]), ("TeX error", report["tex_errors"]),
                            ("raw TeX in the text", report["raw_tex"]),
                            ("punctuation that can wrap away from its math", report["loose_marks"])]:
            problems += [f"{name}: {kind}: {item}" for item in dict.fromkeys(found[:3])]
            problems += [f"{name}: {kind}: ... and {len(found) - 3} more"] if len(found) > 3 else []
        ids[urlsplit(url).path] = set(report["ids"])
        for link in report["links"]:
            if not link.startswith(served):
                continue
            if not _resolves(site, served, link):
                problems.append(f"{name}: link to a missing file: {link}")
            elif urlsplit(link).fragment and urlsplit(link).path.endswith(".html"):
                anchors.append((name, link))
        if name.startswith("derivations/0"):
            assert report["math"] > 0, f"{name}: lecture notes without any equation"
    problems += [f"{name}: link to a missing anchor: {link}" for name, link in anchors
                 if urlsplit(link).path in ids and unquote(urlsplit(link).fragment) not in ids[urlsplit(link).path]]
    context.close()
    problems += [f"asked another host for: {url}" for url in sorted(set(foreign))]
    assert not problems, "\n".join(dict.fromkeys(problems))
    assert not screenshots or len(list(SCREENSHOTS.glob("*.jpg"))) == len(pages)


# The links of `selector` that a reader can click: shown, inside the window once scrolled to, and not covered.
CLICKABLE = """selector => Array.from(document.querySelectorAll(selector)).filter(link => {
    link.scrollIntoView({block: 'center'});
    const box = link.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= 0 || box.left >= innerWidth) return false;
    const hit = document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2);
    return hit !== null && (hit === link || link.contains(hit));
}).map(link => new URL(link.href).pathname.split('/').slice(-2).join('/'))"""


# Resolves once what a click started has moved into place: the CSS transitions (a sidebar's slide) have ended.
SETTLED = """() => new Promise(frame => requestAnimationFrame(() => requestAnimationFrame(frame))).then(() =>
    Promise.all(document.getAnimations().filter(animation => animation.effect.getComputedTiming().endTime < Infinity)
        .map(animation => animation.finished.catch(() => null))))"""


# The menus are the same on every page: test them on the shortest notes, which load fastest.
SHORT_NOTES = "derivations/{}.html".format(
    min(topics(), key=lambda topic: (ROOT / "derivations" / f"{topic}.md").stat().st_size))


def _topic_pages() -> list[str]:
    return [f"{folder}/{topic}.html" for topic in topics() for folder in ("derivations", "solutions")]


@pytest.mark.parametrize("width", [WIDTHS["phone"], WIDTHS["tablet"]], ids=["phone", "tablet"])
def test_on_a_phone_and_a_tablet_the_menu_and_the_contents_open(served, browser, width):
    """Under 992 px both sidebars are hidden; their buttons open them, and the menu lists every topic's two pages."""
    page = browser.new_page(viewport={"width": width, "height": 844})
    page.goto(urljoin(served, SHORT_NOTES))
    menu, contents = ".bd-sidebar-primary a[href]", ".bd-sidebar-secondary a[href]"
    assert not page.evaluate(CLICKABLE, menu) and not page.evaluate(CLICKABLE, contents)
    page.locator(".primary-toggle:visible").click()
    page.evaluate(SETTLED)  # the slide-in
    links = page.evaluate(CLICKABLE, menu)
    assert set(_topic_pages()) <= set(links), "the menu does not list every topic's pages"
    assert links.count("book/index.html") == 1, f"the menu leads to the landing page more than once: {links}"
    page.screenshot(path=str(SCREENSHOTS.parent / f"menu-{width}px.png"))
    page.keyboard.press("Escape")
    page.goto(page.url)
    page.locator(".secondary-toggle:visible").click()
    page.evaluate(SETTLED)
    sections = page.evaluate(CLICKABLE, contents)
    assert len(sections) == len(page.locator("article h2").all()), sections
    page.close()


def test_on_a_laptop_the_menu_button_collapses_and_restores_the_sidebar(served, browser):
    page = browser.new_page(viewport={"width": WIDTHS["laptop"], "height": 900})
    page.goto(urljoin(served, SHORT_NOTES))
    menu = ".bd-sidebar-primary a[href]"
    assert set(_topic_pages()) <= set(page.evaluate(CLICKABLE, menu))
    page.locator(".primary-toggle:visible").click()
    page.evaluate(SETTLED)
    assert not page.evaluate(CLICKABLE, menu), "the sidebar stays after its button was pressed"
    page.locator(".primary-toggle:visible").click()
    page.evaluate(SETTLED)
    assert set(_topic_pages()) <= set(page.evaluate(CLICKABLE, menu))
    page.close()


def test_search_results_have_distinct_titles_and_quote_the_article(site, served, browser):
    """A topic's notes and solved notebook are told apart ("Notes 03 · ...", "Solved 03 · ...") in the browser's tab
    and in the results, and a result's snippet is the page's text: not the frame's buttons, not raw TeX."""
    titles = [re.search(r"<title>(.*?)</title>", path.read_text(encoding="utf-8"), re.DOTALL)[1]
              for path in _pages(site)]
    assert len(set(titles)) == len(titles), sorted(titles)
    topic = topics()[2]
    page = browser.new_page(viewport={"width": WIDTHS["laptop"], "height": 900})
    page.goto(urljoin(served, "search.html?q=covariance"))
    page.locator("#search-results li p.context").nth(2).wait_for(timeout=TIMEOUT_MS)
    results = page.eval_on_selector_all("#search-results li", "items => items.map(item => item.innerText)")
    page.close()
    heads = [result.splitlines()[0] for result in results]
    assert f"Notes {_title(topic)}" in heads and f"Solved {_title(topic, 'solutions')}" in heads, heads
    frame = [result for result in results if re.search(r"Light Dark|Contents\b|\\\(|\\math", result)]
    assert not frame, frame[:3]


def _title(topic: str, folder: str = "derivations") -> str:
    """The first heading of a topic's notes (or of its solved notebook)."""
    if folder == "derivations":
        return (ROOT / folder / f"{topic}.md").read_text(encoding="utf-8").splitlines()[0].removeprefix("# ")
    return next(line.removeprefix("# # ") for line in (ROOT / folder / f"{topic}.py").read_text(encoding="utf-8")
                .splitlines() if line.startswith("# # "))


def test_the_site_root_leads_to_the_landing_page(site, served, browser):
    page = browser.new_page()
    page.goto(served)
    page.wait_for_url(urljoin(served, "book/index.html"), timeout=TIMEOUT_MS)
    assert page.locator("h1").first.inner_text().startswith("latent-course")
    page.close()


def test_the_folder_reads_without_a_server_math_and_search_included(site, browser):
    """Opened from disk (file://), as from a USB stick: the math is typeset with its fonts, and search finds pages.

    Over file://, Chromium refuses what a page fetches from a file (the search's fetches of result pages for their
    text snippets; with the older theme that Python 3.10 gets, its icon font): it logs these refusals as console
    errors, so here only uncaught script errors count. The pages' consoles are checked over HTTP above.
    """
    topic = topics()[0]
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((site / "derivations" / f"{topic}.html").as_uri())
    report = page.evaluate(PAGE_REPORT)
    fonts = page.evaluate("async () => { await document.fonts.ready; return Array.from(document.fonts)"
                          ".filter(font => font.family.startsWith('MJX') && font.status === 'loaded').length; }")
    assert report["math"] > 0 and not report["untypeset"] and not report["tex_errors"], report["untypeset"][:5]
    assert fonts > 0, "MathJax's fonts did not load from the site's folder"
    assert not errors, errors
    word = re.findall(r"\w+", page.locator("h1").first.inner_text())[-1]  # a word of the notes' title
    page.goto((site / "search.html").as_uri() + f"?q={word}")
    page.locator("#search-results li").first.wait_for(timeout=TIMEOUT_MS)
    found = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.href)")
    assert (site / "derivations" / f"{topic}.html").as_uri() in found, (word, found)
    page.close()


def test_the_notes_print_as_one_pdf_with_a_bookmark_per_topic(site, tmp_path):
    """`make pdf`: a title page, one contents, every topic's notes, then the conventions as an appendix, typeset and
    numbered across the file; no equation wider than the printed column; links stay in the PDF."""
    try:
        import playwright  # noqa: F401 - book/pdf.py prints through it
        from pypdf import PdfReader
    except ImportError as error:
        _need("the book extra", f"{error.name} is not installed (pip install -e '.[book]')")
    if not CHROMIUM.exists():
        _need("a browser", f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    out = tmp_path / "notes.pdf"
    printed = subprocess.run([sys.executable, "book/pdf.py", "--out", str(out), "--chromium", str(CHROMIUM)],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr[-3000:]
    # Measured on each page as it is printed (the page laid out as wide as the printed column): every displayed
    # equation fits, and the widest fills most of the column (the measure saw the equations).
    widest = float(re.search(r"widest displayed equation: ([\d.]+)% of the printed column", printed.stdout)[1])
    assert 50 < widest <= 100, printed.stdout
    reader = PdfReader(out)
    pages = [" ".join(page.extract_text().split()).replace("’", "'") for page in reader.pages]
    notes = [ROOT / "derivations" / f"{topic}.md" for topic in topics()] + [ROOT / "derivations" / "README.md"]
    titles = [path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# ") for path in notes]
    assert [item.title for item in reader.outline] == titles
    starts = [reader.get_destination_page_number(item) for item in reader.outline] + [len(reader.pages)]
    assert starts[0] == 2 and starts == sorted(starts) and len(set(starts)) == len(starts), f"parts start on {starts}"
    # The title page, then one contents that gives every part's first page as the footers number it.
    assert "latent-course" in pages[0] and "Lecture notes" in pages[0]
    assert pages[1].startswith("Contents") and not any(page.startswith("Contents") for page in pages[2:])
    for title, start in zip(titles, starts, strict=False):
        assert re.search(rf"{re.escape(title)} [._ ]*{start + 1}\b", pages[1]), (title, start + 1, pages[1])
    # Page numbers run across the whole file (the title page has none).
    for number, text in enumerate(pages[1:], start=2):
        assert f"page {number} of {len(pages)}" in text, f"page {number} is not numbered as such: {text[-120:]}"
    for title, path, first, stop in zip(titles, notes, starts[:-1], starts[1:], strict=True):
        text = " ".join(pages[first:stop])
        headings = [line[3:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]
        assert all(" ".join(heading.replace("`", "").split()) in text for heading in headings if "$" not in heading), \
            f"{title}: a section is missing from its pages"
        if path.name != "README.md":  # the conventions show the notes' source, $$ included, as code
            assert not re.search(r"\$\$|\\(mathbf|frac|begin|sum)\b", text), f"{title}: TeX source printed as text"
    # Links: within a part to its own anchors, to another part's first page (the conventions, another topic's
    # notes), and from the contents to every part; nothing into the build folder or to a placeholder address.
    part_of = {page: part for part, (first, stop) in enumerate(zip(starts[:-1], starts[1:], strict=True))
               for page in range(first, stop)}
    page_numbers = {page.indirect_reference.idnum: number for number, page in enumerate(reader.pages)}
    destinations, within, across, contents = reader.named_destinations, 0, set(), []
    for number, page in enumerate(reader.pages):
        for annotation in (annotation.get_object() for annotation in page.get("/Annots") or []):
            uri = str((annotation.get("/A") or {}).get("/URI", ""))
            assert not uri.startswith("file:") and ".invalid" not in uri, f"page {number + 1}: a link to {uri}"
            if (name := annotation.get("/Dest")) is None:
                continue
            if isinstance(name, str):
                target = reader.get_destination_page_number(destinations[name])
                assert part_of[target] == part_of[number], f"page {number + 1}: {name} leads to another topic"
                within += 1
                continue
            target = page_numbers[name[0].idnum]
            assert target in starts, f"page {number + 1}: a link to page {target + 1}, inside a part"
            if number == 1:
                contents.append(target)
            else:
                across.add((part_of[number], target))
    assert contents == starts[:-1], "the contents do not link every part"
    assert within >= len(titles), "the notes' own contents lists' links are missing"
    assert (0, starts[-2]) in across, "the first topic's notes do not link the conventions (the appendix)"
    assert str(ROOT).encode() not in out.read_bytes()


def _pdf_module():
    """book/pdf.py, loaded as a module (the book folder is configuration, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_pdf", ROOT / "book" / "pdf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_printing_the_notes_says_what_is_missing(tmp_path):
    pytest.importorskip("pypdf")
    pdf = _pdf_module()
    with pytest.raises(FileNotFoundError, match=r"make book.*derivations/01_matrix_factorization\.html"):
        pdf.notes_pages(tmp_path)
    printed = subprocess.run([sys.executable, "book/pdf.py", "--chromium", str(tmp_path / "no-chromium")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 1
    assert "no Chromium at" in printed.stderr and "apt-get install chromium" in printed.stderr


def test_a_wrapped_line_of_code_continues_further_in_and_copies_as_one_line(site, served, browser):
    page = browser.new_page(viewport={"width": WIDTHS["phone"], "height": 844})
    page.goto(urljoin(served, f"solutions/{topics()[0]}.html"))
    report = page.evaluate("""() => {
        // The left end of each visual line of a line of code, from its text's boxes.
        const starts = line => {
            const range = document.createRange();
            range.selectNodeContents(line);
            const left = new Map();
            for (const box of range.getClientRects())
                if (box.width) left.set(Math.round(box.top), Math.min(box.left, left.get(Math.round(box.top)) ?? 1e9));
            return Array.from(left.entries()).sort((a, b) => a[0] - b[0]).map(entry => entry[1]);
        };
        const wrapped = Array.from(document.querySelectorAll('div.cell_input pre span.code-line'))
            .map(starts).filter(lefts => lefts.length > 1);
        const pre = document.querySelector('div.cell_input pre');
        return {wrapped: wrapped.slice(0, 20),
                lines: pre.querySelectorAll('span.code-line').length,
                newlines: pre.textContent.split('\\n').length - 1};
    }""")
    page.close()
    assert report["wrapped"], "no line of code wraps on a phone: nothing was measured"
    assert all(min(lefts[1:]) > lefts[0] for lefts in report["wrapped"]), report["wrapped"]
    assert report["newlines"] == report["lines"] > 1  # each line still ends in a newline, for copying
