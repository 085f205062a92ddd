"""The lecture notes as one PDF, ``build/notes.pdf``, printed from the built book (``make book``) by Chromium.

The PDF opens with a title page and one contents with page numbers; then come the topics' notes, one part each, and
the notes' conventions as an appendix. Each part is a page of the site, opened in headless Chromium as wide as the
printed column (so the site's own script fits every equation to it), its equations typeset by the book's MathJax,
and printed for A4 paper with the book theme's print style. Links within a part stay links; a link to another part
leads to that part's first page; links to the web stay; links to the rest of the site (the notebooks) become plain
text. Pages are numbered across the whole file, and every part has a bookmark titled as the page is.

Run: ``make pdf`` (or ``python book/pdf.py [--chromium PATH]``). Needs the book extra and a Chromium: Debian's
``chromium`` package (``/usr/bin/chromium``, the default), or one Playwright installed (``--chromium ""``).
"""

from __future__ import annotations

import argparse
import html
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.generic import ArrayObject, NameObject

from latent_course.tools.browser import CHROMIUM, CHROMIUM_ARGS
from latent_course.tools.solutions import ROOT
from latent_course.topics import topics

SITE = ROOT / "build" / "book"
OUT = ROOT / "build" / "notes.pdf"
TITLE = "latent-course: lecture notes"
AUTHOR = "the latent-course authors"  # as the site's footer says (book/conf.py)
# A4, with the margins and the scale (the web's type size is large on paper) of every page.
PAPER_MM = (210, 297)
MARGIN_MM = {"top": 16, "bottom": 18, "left": 16, "right": 16}
SCALE = 0.85
PX_PER_MM = 96 / 25.4  # CSS pixels
PT_PER_MM = 72 / 25.4  # PDF points
# The printed column's width in CSS pixels: a page opened this wide is laid out as it is printed.
COLUMN_PX = round((PAPER_MM[0] - MARGIN_MM["left"] - MARGIN_MM["right"]) * PX_PER_MM / SCALE)
# While printing, a link to another part points here (a reserved domain, never resolved); afterwards it is made a
# link to that part's first page.
OTHER_PART = "https://part.invalid/"
# Keep an equation with its number, a heading with what follows it, and a code block in one piece; fit a wide table
# to the page (on screen it scrolls), wrapping its cells (the site's script lets long names in code break).
PRINT_CSS = """
div.math, mjx-container[display="true"], tr, pre, figure { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
.pst-scrollable-table-container { overflow: visible !important; }
table { width: 100% !important; table-layout: auto; }
th, td, td code, th code { white-space: normal !important; }
"""
# Wait for the equations (the site's script fits them to the column once they are typeset). Point the links within
# the page at ids given the part's own prefix, so that two parts' "#references" stay apart in the joined PDF; a link
# to another part at OTHER_PART + its number; unwrap the links to the rest of the site. Title the printed page with
# its heading (not the browser tab's "Notes NN · ..."). Return that title and the widest displayed equation's width
# as a share of its column's (1 at most: it fits).
PREPARE = """async ([prefix, parts, otherPart]) => {
    if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    for (const link of Array.from(document.querySelectorAll('a[href]'))) {
        const url = new URL(link.href, document.baseURI);
        const samePage = url.origin === location.origin && url.pathname === location.pathname;
        const target = samePage && url.hash ? document.getElementById(decodeURIComponent(url.hash.slice(1))) : null;
        const part = url.origin === location.origin ? parts[url.pathname.split('/').pop()] : undefined;
        if (target) {
            if (!target.id.startsWith(prefix)) { target.id = prefix + target.id; }
            link.setAttribute('href', '#' + target.id);
        } else if (!samePage && part !== undefined) {
            link.setAttribute('href', otherPart + part);
        } else if (!samePage && !['http:', 'https:', 'mailto:'].includes(url.protocol)) {
            link.replaceWith(...link.childNodes);
        }
    }
    const widths = Array.from(document.querySelectorAll('div.math mjx-container'),
                              box => box.firstElementChild.getBoundingClientRect().width / box.clientWidth);
    const title = document.querySelector('article.bd-article h1').textContent.replace(/#$/, '').trim();
    const printTitle = document.querySelector('#jb-print-docs-body h1');  // the page's title, as the tab shows it
    if (printTitle) { printTitle.textContent = title; }
    return [title, Math.max(0, ...widths)];
}"""
# The title page, then the contents (a page of its own, whose entries' boxes give the links to the parts).
FRONT_CSS = """
body { font-family: sans-serif; color: #222; margin: 0; }
.title { height: 230mm; display: flex; flex-direction: column; justify-content: center; }
.title h1 { font-size: 34pt; font-weight: 600; margin: 0 0 6mm; }
.title p { font-size: 14pt; margin: 0 0 3mm; line-height: 1.4; max-width: 140mm; }
.title .by { margin-top: 14mm; color: #555; font-size: 11pt; }
h2 { font-size: 20pt; font-weight: 600; margin: 0 0 10mm; }
ol { list-style: none; padding: 0; margin: 0; font-size: 12pt; }
li { display: flex; gap: 3mm; align-items: baseline; padding: 2.2mm 0; }
li .dots { flex: 1; border-bottom: 1px dotted #888; }
li.appendix { margin-top: 6mm; }
"""


@dataclass
class Part:
    """One printed page of the site: its title, its first page in the PDF (from 0), its length, its widest equation."""

    title: str
    start: int
    pages: int
    widest_equation: float


def notes_pages(site: Path = SITE) -> list[Path]:
    """The notes' pages in course order, then the conventions page."""
    pages = [site / "derivations" / f"{topic}.html" for topic in topics()] + [site / "derivations" / "README.html"]
    missing = [str(page.relative_to(site)) for page in pages if not page.is_file()]
    if missing:
        raise FileNotFoundError(f"build the book first (make book); missing: {', '.join(missing)}")
    return pages


def _title_page(description: str) -> str:
    return (f"<style>{FRONT_CSS}</style><div class='title'><h1>latent-course</h1><p>Lecture notes on latent-variable "
            f"models</p><p style='color:#555'>{html.escape(description)}</p><p class='by'>By {AUTHOR}. The notes of "
            "the course's website, with its solved and exercise notebooks beside them.</p></div>")


def _contents_page(titles: list[str], first_pages: list[int]) -> str:
    """The contents: every part's title and its page number as printed in the footers (counted from 1)."""
    rows = []
    for number, (title, page) in enumerate(zip(titles, first_pages, strict=True)):
        appendix = number == len(titles) - 1
        label = f"Appendix · {title}" if appendix else title
        rows.append(f"<li class='{'appendix' if appendix else ''}'><span>{html.escape(label)}</span>"
                    f"<span class='dots'></span><span>{page + 1}</span></li>")
    return f"<style>{FRONT_CSS}</style><h2>Contents</h2><ol>{''.join(rows)}</ol>"


def _footers(labels: list[str | None]) -> str:
    """One A4 sheet per label, blank but for the label at the foot: laid over the printed pages, it numbers them."""
    sheets = "".join(
        f"<div class='sheet'>{'' if label is None else f'<p>{html.escape(label)}</p>'}</div>" for label in labels)
    return ("<style>@page { size: A4; margin: 0; } body { margin: 0; } .sheet { height: 297mm; position: relative; "
            "break-after: page; } .sheet p { position: absolute; bottom: 8mm; width: 100%; margin: 0; text-align: "
            f"center; font: 8pt sans-serif; color: #555; }}</style>{sheets}")


def _pdf(page, **options) -> PdfReader:
    margin = {side: f"{mm}mm" for side, mm in MARGIN_MM.items()}
    return PdfReader(io.BytesIO(page.pdf(format="A4", scale=SCALE, margin=margin, **options)))


def print_notes(out: Path = OUT, site: Path = SITE, chromium: str | None = str(CHROMIUM)) -> list[Part]:
    """Print the title page, the contents and every notes page, and join them into `out`; return the parts."""
    from playwright.sync_api import sync_playwright

    paths = notes_pages(site)
    numbers = {path.name: number for number, path in enumerate(paths, start=1)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": COLUMN_PX, "height": 1000})
        page.emulate_media(media="print")
        printed, parts = [], []
        for number, path in enumerate(paths, start=1):
            page.goto(path.as_uri(), wait_until="load")
            page.add_style_tag(content=PRINT_CSS)
            if number == len(paths):  # the appendix: short, without a contents list of its own, so that it fits
                page.add_style_tag(content="#jb-print-toc { display: none; }")
            title, widest = page.evaluate(PREPARE, [f"part{number}-", numbers, OTHER_PART])
            printed.append(_pdf(page))
            parts.append(Part(title, 0, len(printed[-1].pages), widest))
        page.set_content(_title_page(_description()))
        front = [_pdf(page)]
        start = len(front[0].pages) + 1  # the contents take one page (checked below)
        for part in parts:
            part.start, start = start, start + part.pages
        page.set_content(_contents_page([part.title for part in parts], [part.start for part in parts]))
        entries = page.eval_on_selector_all("li", "items => items.map(item => { const box = "
                                            "item.getBoundingClientRect(); return [box.left, box.top, box.right, "
                                            "box.bottom]; })")
        front.append(_pdf(page))
        if len(front[1].pages) != 1:
            raise RuntimeError(f"the contents take {len(front[1].pages)} pages; the page numbers assume one")
        total = start
        labels = [None, f"Contents · page 2 of {total}"] + [f"{part.title} · page {part.start + offset + 1} of {total}"
                                                             for part in parts for offset in range(part.pages)]
        page.set_content(_footers(labels))
        footers = PdfReader(io.BytesIO(page.pdf(format="A4", margin={side: "0" for side in MARGIN_MM})))
        browser.close()

    writer = PdfWriter()
    for reader in front:
        writer.append(reader)
    for reader, part in zip(printed, parts, strict=True):
        writer.append(reader, outline_item=part.title)
    for sheet, footer in zip(writer.pages, footers.pages, strict=True):
        sheet.merge_page(footer)
    _link_the_parts(writer, parts, entries, contents_page=len(front[0].pages))
    writer.add_metadata({"/Title": TITLE, "/Author": AUTHOR})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as file:
        writer.write(file)
    return parts


def _description() -> str:
    """The landing page's first paragraph (book/index.md): what the course is."""
    text = (ROOT / "book" / "index.md").read_text(encoding="utf-8").split("\n\n")[1]
    return " ".join(text.split())


def _link_the_parts(writer: PdfWriter, parts: list[Part], entries: list[list[float]], contents_page: int) -> None:
    """Turn the links to OTHER_PART into links to the part's first page, and link the contents' entries."""
    starts = [writer.pages[part.start].indirect_reference for part in parts]
    for sheet in writer.pages:
        for annotation in (annotation.get_object() for annotation in sheet.get("/Annots") or []):
            uri = str((annotation.get("/A") or {}).get("/URI", ""))
            if uri.startswith(OTHER_PART):
                number = int(uri[len(OTHER_PART):].partition("#")[0])
                del annotation[NameObject("/A")]
                annotation[NameObject("/Dest")] = ArrayObject([starts[number - 1], NameObject("/Fit")])
    height = PAPER_MM[1] * PT_PER_MM
    to_pt = 0.75 * SCALE  # CSS pixels, at the print scale, in points
    for (left, top, right, bottom), part in zip(entries, parts, strict=True):
        x, y = MARGIN_MM["left"] * PT_PER_MM, height - MARGIN_MM["top"] * PT_PER_MM
        writer.add_annotation(contents_page, Link(rect=(x + left * to_pt, y - bottom * to_pt, x + right * to_pt,
                                                        y - top * to_pt), target_page_index=part.start))


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
        parts = print_notes(args.out, chromium=args.chromium)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    pages = parts[-1].start + parts[-1].pages
    print(f"wrote {args.out} ({pages} pages; a title page, the contents and {len(parts)} parts: "
          f"{', '.join(part.title for part in parts)})")
    widest = max(parts, key=lambda part: part.widest_equation)
    print(f"widest displayed equation: {widest.widest_equation:.1%} of the printed column ({widest.title})")
    wide = [f"{part.title} ({part.widest_equation:.1%} of the column)" for part in parts if part.widest_equation > 1]
    if wide:
        print(f"error: an equation is wider than the printed column in {'; '.join(wide)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
