"""Sphinx configuration of the course's website: `make book` builds it into build/book/.

The source folder is the course itself (``sphinx-build -c book . build/book``), so the lecture notes in
``derivations/`` and the solved notebooks in ``solutions/`` are rendered where they are, and the relative links
between them (``../solutions/NN_topic.ipynb``, ``../derivations/NN_topic.md``) stay the ones a Git host shows.
The topics come from the files (``latent_course.topics.topics()``): a new topic needs no edit here.
"""

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform

from latent_course.tools.solutions import ROOT
from latent_course.topics import topics

project = "latent-course"
html_title = "latent-course"
author = "the latent-course authors"
copyright = "the latent-course authors"

extensions = ["myst_nb"]
root_doc = "book/index"
include_patterns = ["book/index.md", "derivations/*.md", "solutions/[0-9][0-9]_*.ipynb"]
exclude_patterns = [".*", "build", "work", "*.egg-info", "node_modules", "book/_static"]

# Solved notebooks are rendered with the outputs they store (nbval verifies those outputs): never executed here.
nb_execution_mode = "off"
nb_merge_streams = True  # what one cell prints shows in one box, even if it came in several writes
nb_ipywidgets_js = {}  # no widget manager scripts from a third-party host
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# Offline by construction: MathJax 3 (tex-chtml-full, Apache-2.0, see _static/mathjax/LICENSE) is served from the
# site's own static folder; a relative mathjax_path is relative to _static/.
mathjax_path = "mathjax/tex-chtml-full.js"
# An unknown macro is an error (typeset as one, which the browser test finds), not red text.
mathjax3_config = {"tex": {"packages": {"[-]": ["noundefined"]}}}
html_static_path = ["_static"]
html_js_files = [("course.js", {"defer": "defer"})]  # equations fitted to their column
html_css_files = ["course.css"]
html_favicon = "_static/favicon.svg"  # without one, browsers ask for /favicon.ico and log its 404
html_extra_path = ["_extra"]  # index.html at the site's root, which leads to the landing page
html_theme = "sphinx_book_theme"
# No header band above the page: the book theme's toggles are the article header's. Since pydata-sphinx-theme 0.16
# a default navbar_persistent (its search field) adds a band with a second, hidden set of sidebar toggles, and the
# themes' scripts bind the first toggle in the page, so the visible ones did nothing at any width.
# The menu's title (the site's name) leads to the landing page, so the menu does not list it a second time.
html_theme_options = {"show_toc_level": 2, "use_download_button": True, "home_page_in_toc": False,
                      "navbar_persistent": []}
html_context = {"default_mode": "light"}  # without it the theme logs an error on a reader's first visit

MARKER = "<!-- course map -->"


def _title(topic: str) -> str:
    """The first heading of the topic's lecture notes, e.g. ``03 · The mean and covariance of a Gaussian mixture``."""
    for line in (ROOT / "derivations" / f"{topic}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError(f"derivations/{topic}.md has no '# ' heading to title the topic with")


def course_map() -> str:
    """The landing page's table of topics and the navigation's per-topic sections, as MyST Markdown."""
    rows = ["| Topic | Lecture notes | Solved, with outputs | To download and fill in |", "|---|---|---|---|"]
    sections = []
    for topic in topics():
        title = _title(topic)
        name = title.partition(" · ")[2] or title
        rows.append(f"| {topic[:2]} | [{name}](../derivations/{topic}.md) "
                    f"| [solved notebook](../solutions/{topic}.ipynb) "
                    f"| [exercise notebook](../notebooks/{topic}.ipynb) |")
        sections.append(f"```{{toctree}}\n:caption: {title}\n:hidden:\n\nLecture notes </derivations/{topic}>\n"
                        f"Solved notebook </solutions/{topic}>\n```")
    sections.append("```{toctree}\n:caption: About the notes\n:hidden:\n\n/derivations/README\n```")
    return "\n".join(rows) + "\n\n" + "\n\n".join(sections) + "\n"


def _insert_course_map(app, docname, source):
    if docname == app.config.root_doc:
        if MARKER not in source[0]:
            raise ValueError(f"{docname}.md lacks the line {MARKER!r} where the course map goes")
        source[0] = source[0].replace(MARKER, course_map())


def _anchor(note: str, label: str) -> str | None:
    """The HTML id of the equation or claim `label` of a note's Markdown text, or None if it has neither."""
    if re.search(rf"\$\$\s*\({re.escape(label)}\)\s*$", note, re.MULTILINE):
        return f"equation-{label}"
    if re.search(rf"^\({re.escape(label)}\)=\s*$", note, re.MULTILINE):
        return label
    return None


class CourseLinks(SphinxTransform):
    """Two kinds of the sources' relative links that MyST does not resolve by itself.

    * A link to a notebook that is not a page of the site (the exercises in notebooks/) becomes a file download.
      MyST takes every link to an ``.ipynb`` file for a link to a page, because ``.ipynb`` is a source suffix; a file
      outside ``include_patterns`` is not one, so it is offered for download instead, as a Git host offers it.
    * A link to a labelled equation or claim of a note,
      ``[the mean](../derivations/03_mixture_moments.md#mixture-mean)`` (how a notebook refers to it: on a Git host it
      opens the note), leads to the equation or the claim itself (older MyST versions look for a claim's target
      among the headings only).
    """

    default_priority = 5  # before Sphinx collects the downloads of the page

    def apply(self):
        for ref in list(self.document.findall(addnodes.pending_xref)):
            if ref.get("refdomain") != "doc" or ref.get("reftype") != "myst":
                continue
            if ref["reftarget"] in self.env.found_docs:
                label = ref.get("reftargetid")
                source = Path(self.env.doc2path(ref["reftarget"]))
                anchor = _anchor(source.read_text(encoding="utf-8"), label) if label else None
                if anchor:
                    uri = f"{self.app.builder.get_relative_uri(ref['refdoc'], ref['reftarget'])}#{anchor}"
                    ref.replace_self(nodes.reference("", "", *ref.children, internal=True, refuri=uri))
                continue
            files = [f"{ref['reftarget']}{suffix}" for suffix in self.config.source_suffix
                     if (Path(self.env.srcdir) / f"{ref['reftarget']}{suffix}").is_file()]
            if files:
                download = addnodes.download_reference(refdomain=None, reftarget=f"/{files[0]}",
                                                       refdoc=ref["refdoc"], reftype="myst",
                                                       refexplicit=ref.get("refexplicit", False))
                download += ref.children
                for inline in download.findall(nodes.inline):
                    inline["classes"].append("download")
                ref.replace_self(download)


# A displayed equation's label, after its closing $$ (MyST's syntax); a reference to it is a link to the label,
# ``[(label)](#label)``, which the site shows as the equation's number and a Git host as the label.
EQUATION_LABEL = re.compile(r"\$\$\s*\((?P<label>[a-z][a-z0-9-]*)\)\s*$", re.MULTILINE)
FENCE = re.compile(r"^\s*(```|~~~)")


def bare_equation_labels(text: str, labels: set[str]) -> list[tuple[int, str]]:
    """The ``(label)`` written as plain text in Markdown `text`, for each of the equation `labels`.

    Such a reference shows the label itself instead of the equation's number, with no link. Code (fenced blocks and
    inline spans), links, the labels after a closing ``$$`` and MyST targets ``(label)=`` are not references.
    Returns ``(line number, label)`` pairs, the line counted from 1.
    """
    found, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        line = EQUATION_LABEL.sub("$$", line)
        line = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)", "", line)
        found += [(number, label) for label in re.findall(r"\(([a-z][a-z0-9-]*)\)(?!=)", line) if label in labels]
    return found


def _refuse_bare_equation_labels(app, docname, source):
    labels = {match["label"] for note in sorted((Path(app.srcdir) / "derivations").glob("*.md"))
              for match in EQUATION_LABEL.finditer(note.read_text(encoding="utf-8"))}
    path = Path(app.env.doc2path(docname))
    if path.suffix == ".ipynb":
        cells = json.loads(source[0])["cells"]
        texts = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    else:
        texts = [source[0]]
    bare = [hit for text in texts for hit in bare_equation_labels(text, labels)]
    if bare:
        where = ", ".join(f"({label}) on line {number}" for number, label in bare)
        raise ExtensionError(f"{path.relative_to(app.srcdir)}: {where}: write a reference to an equation as a link, "
                             "[(label)](#label) (or ../derivations/NN_topic.md#label from another page), so that it "
                             "shows the equation's number")


# What the solved notebooks' code holds for the course's tools, not for a reader: the markers around a solution
# (the exercise generator's) and the "# checks: label" comments that tie an assertion to a claim of the notes.
SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION\b.*\n?", re.MULTILINE)
CHECK_COMMENT = re.compile(r"[ \t]*# checks: [^\n]*$", re.MULTILINE)


def _hide_instructor_markers(app, docname, source):
    """Show a solved notebook's code without solution markers and check comments (its source keeps them)."""
    if Path(app.env.doc2path(docname)).suffix != ".ipynb":
        return
    notebook = json.loads(source[0])
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            code = "".join(cell["source"])
            cell["source"] = CHECK_COMMENT.sub("", SOLUTION_MARKER.sub("", code))
    source[0] = json.dumps(notebook)


def _distinct_titles(app, doctree):
    """Title a topic's two pages apart: "Notes 02 · ..." and "Solved 02 · ..." in the browser's tab, the search results
    and the previous / next links (each page's own heading stays as written)."""
    kind = {"derivations": "Notes", "solutions": "Solved"}.get(app.env.docname.partition("/")[0])
    if kind and re.match(r"\d\d_", app.env.docname.partition("/")[2]):
        for titles in (app.env.titles, app.env.longtitles):
            title = titles[app.env.docname]
            titles[app.env.docname] = nodes.title("", f"{kind} ", *(child.deepcopy() for child in title.children))


def setup(app):
    app.add_transform(CourseLinks)
    app.connect("source-read", _insert_course_map)
    app.connect("source-read", _refuse_bare_equation_labels)
    app.connect("source-read", _hide_instructor_markers)
    app.connect("doctree-read", _distinct_titles, priority=900)  # after Sphinx has collected the titles
    # The course map is read from the topics on disk: rebuild the landing page every time.
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: [app.config.root_doc])
    return {"parallel_read_safe": True}

