"""The lecture notes as one PDF, ``build/notes.pdf``, printed from the built book (``make book``) by Chromium.

Each topic's notes page, then the notes' conventions, is opened in headless Chromium, its equations typeset by the
book's own MathJax, and printed for A4 paper with the book theme's print style. Links to other pages of the site
become plain text, since the PDF holds only the notes; links within a page and to the web stay links. The pages are
joined with one bookmark per page, titled as the page is.

Run: ``make pdf`` (or ``python book/pdf.py [--chromium PATH]``). Needs the book extra and a Chromium: Debian's
``chromium`` package (``/usr/bin/chromium``, the default), or one Playwright installed (``--chromium ""``).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from latent_course.tools.browser import CHROMIUM, CHROMIUM_ARGS
from latent_course.tools.solutions import ROOT
from latent_course.topics import topics

SITE = ROOT / "build" / "book"
OUT = ROOT / "build" / "notes.pdf"
# Keep an equation with its number, a heading with what follows it, and a code block in one piece; fit a wide table
# to the page (on screen it scrolls), wrapping its cells, code included.
PRINT_CSS = """
div.math, mjx-container[display="true"], tr, pre, figure { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
.pst-scrollable-table-container { overflow: visible !important; }
table { width: 100% !important; table-layout: auto; }
th, td, td code, th code { white-space: normal !important; overflow-wrap: anywhere; }
"""
# Unwrap the links that lead to another page of the site (the PDF has no other pages). Give the targets of the links
# within the page the page's own prefix, so that two pages' "#references" stay apart in the joined PDF. Wait for the
# equations; return the page's title.
PREPARE = """async (prefix) => {
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    for (const link of Array.from(document.querySelectorAll('a[href]'))) {
        const url = new URL(link.href, document.baseURI);
        const samePage = url.origin === location.origin && url.pathname === location.pathname;
        const target = samePage && url.hash ? document.getElementById(decodeURIComponent(url.hash.slice(1))) : null;
        if (target) {
            if (!target.id.startsWith(prefix)) { target.id = prefix + target.id; }
            link.setAttribute('href', '#' + target.id);
        } else if (!samePage && !['http:', 'https:', 'mailto:'].includes(url.protocol)) {
            link.replaceWith(...link.childNodes);
        }
    }
    return document.querySelector('h1').textContent.replace(/#$/, '').trim();
}"""


def notes_pages(site: Path = SITE) -> list[Path]:
    """The notes' pages in course order, then the conventions page."""
    pages = [site / "derivations" / f"{topic}.html" for topic in topics()] + [site / "derivations" / "README.html"]
    missing = [str(page.relative_to(site)) for page in pages if not page.is_file()]
    if missing:
        raise FileNotFoundError(f"build the book first (make book); missing: {', '.join(missing)}")
    return pages


def print_notes(out: Path = OUT, site: Path = SITE, chromium: str | None = str(CHROMIUM)) -> list[str]:
    """Print every notes page and join them into `out`; return the pages' titles, in order."""
    from playwright.sync_api import sync_playwright

    writer, titles = PdfWriter(), []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.emulate_media(media="print")
        for number, path in enumerate(notes_pages(site), start=1):
            page.goto(path.as_uri(), wait_until="load")
            page.add_style_tag(content=PRINT_CSS)
            title = page.evaluate(PREPARE, f"part{number}-")
            footer = (f'<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">{title} · page '
                      '<span class="pageNumber"></span> of <span class="totalPages"></span></div>')
            pdf = page.pdf(format="A4", scale=0.85,  # the web's type size is large on paper; wide equations fit
                           margin={"top": "16mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                           display_header_footer=True, header_template="<div></div>", footer_template=footer)
            writer.append(PdfReader(io.BytesIO(pdf)), outline_item=title)
            titles.append(title)
        browser.close()
    writer.add_metadata({"/Title": "latent-course: lecture notes", "/Author": "The latent-course developers"})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as file:
        writer.write(file)
    return titles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", str(CHROMIUM)),
                        help="the Chromium to print with; empty for Playwright's own (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the PDF (default: build/notes.pdf)")
    args = parser.parse_args(argv)
    if args.chromium and not Path(args.chromium).is_file():
        print(f"error: no Chromium at {args.chromium} (Debian: apt-get install chromium; or --chromium '' for "
              "Playwright's own)", file=sys.stderr)
        return 1
    try:
        titles = print_notes(args.out, chromium=args.chromium)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({len(titles)} parts: {', '.join(titles)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
