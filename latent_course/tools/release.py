"""The student edition: ``python -m latent_course release DEST [--topics 01 03] [--no-notes]``.

It writes, into a new folder, a course that students clone and use with the README's two commands, and that holds
no answer: the exercise notebooks (``notebooks/``), the lecture notes (``derivations/``), the package whose
self-checks judge against stored expected values (:mod:`latent_course.checks._answers`), a README for students,
the tests of what the edition contains, and the files that install and test it. Left out: ``solutions/``, the
solved notebooks' outputs, ``solution-only`` cells (already absent from the exercises), the check modules of topics
not released, and every answer function's body. Two runs over the same course write byte-identical trees.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import sys
from pathlib import Path

from ..checks import _answers
from ..notebook import TOPIC_NAME
from ..topics import resolve
from .solutions import NOTEBOOKS, ROOT, SOLUTIONS, load_solution, require_course, solution_topics

__all__ = ["COPIED", "release", "resolve_topics", "strip_answers", "student_makefile", "student_notes",
           "student_readme", "main"]

COPIED = ["LICENSE", "environment.yml", "jupytext.toml", ".gitignore", ".ci/constraints.txt"]
INSTRUCTOR_TARGETS = ("exercises", "execute", "bench", "book", "pdf", "$(VENV)/.book-installed")
"""Make targets that need the solutions, the benchmarks or the website's sources, none of which an edition has."""
"""Files copied as they are."""

INSTRUCTOR_ONLY = re.compile(r"^<!-- instructor-only -->\n.*?^<!-- /instructor-only -->\n", re.MULTILINE | re.DOTALL)
STUDENT_ONLY = re.compile(r"^<!-- student-only\n(.*?)^-->\n", re.MULTILINE | re.DOTALL)
ANSWER_DECORATOR = "answer"
NEEDS_SOLUTIONS = {"SOLUTIONS", "load_solution", "execute_solution", "solution_topics", "require_course"}
"""What a test imports from ``latent_course.tools.solutions`` when it needs the solutions (then it stays out)."""
FULL_COURSE_MARK = "pytest.mark.full_course"
"""The mark of a test that needs the full course: a file marked as a whole stays out, a marked test is deselected."""


def resolve_topics(names: list[str] | None, available: list[str]) -> list[str]:
    """The topics named by `names` (numbers such as ``03`` or full names), in course order; all if None."""
    if not names:
        return list(available)
    chosen = {resolve(name) for name in names}
    return [topic for topic in available if topic in chosen]


# --- the answers: recorded from the solutions, stored, and stripped from the check modules ------------------------


def _record(topics: list[str]) -> dict[str, dict[str, object]]:
    """Run every check of `topics` on the solved notebooks' functions; return, per check module, what each answer
    function returned for each input (by digest)."""
    from .. import checks

    stored: dict[str, dict[str, object]] = {}
    for topic in topics:
        solution = load_solution(topic)
        with _answers.recording() as calls, contextlib.redirect_stdout(io.StringIO()):
            for task, check in checks.topic_checks(topic).items():
                check(getattr(solution, task))
        module = sys.modules[next(iter(checks.topic_checks(topic).values())).__module__].__name__
        stored[module.rsplit(".", 1)[-1]] = {key: value for _, key, value in calls}
    return stored


def _decorated_as_answer(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef) and any(
        isinstance(decorator, ast.Name) and decorator.id == ANSWER_DECORATOR for decorator in node.decorator_list)


def _used_names(tree: ast.Module, skip: set[int]) -> set[str]:
    """The names read anywhere in `tree`, outside the nodes whose ids are in `skip`."""
    used = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in skip:
            continue
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name):
                used.add(root.id)
        stack.extend(ast.iter_child_nodes(node))
    for node in tree.body:  # the public names are used by whoever imports the module
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "__all__"
                                                for target in node.targets):
            used.update(item.value for item in ast.walk(node.value) if isinstance(item, ast.Constant))
    return used


def strip_answers(source: str) -> str:
    """The check module `source` without the bodies of its answer functions (each keeps its docstring and
    ``...``), without the private functions and the imports that only those bodies used.

    The module keeps its layout: lines are removed or replaced, never reformatted.
    """
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    replaced: dict[int, list[str]] = {}  # first line index -> new lines, for a removed range
    removed: set[int] = set()
    bodies = set()
    for node in ast.walk(tree):
        if _decorated_as_answer(node):
            first = node.body[1] if ast.get_docstring(node) and len(node.body) > 1 else node.body[0]
            if first is node.body[0] and ast.get_docstring(node):
                continue  # a docstring alone
            indent = " " * first.col_offset
            start, end = first.lineno - 1, node.end_lineno
            removed.update(range(start, end))
            replaced[start] = [f"{indent}...  # stored: a student edition keeps this answer as data\n"]
            bodies.update(id(statement) for statement in node.body[node.body.index(first):])
    # Private functions and imports that nothing left uses (repeat: removing one may orphan another).
    dropped: set[int] = set()
    while True:
        used = _used_names(tree, bodies | dropped)
        orphans = [node for node in tree.body if id(node) not in dropped and (
            (isinstance(node, ast.FunctionDef) and node.name.startswith("_") and node.name not in used)
            or (isinstance(node, ast.Import | ast.ImportFrom) and node.names[0].name != "annotations"
                and not any((alias.asname or alias.name.split(".")[0]) in used for alias in node.names)))]
        if not orphans:
            break
        dropped.update(id(node) for node in orphans)
    used = _used_names(tree, bodies | dropped)
    for node in tree.body:
        if id(node) in dropped:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1
            end = node.end_lineno
            while end < len(lines) and not lines[end].strip():
                end += 1  # the blank lines after it
            removed.update(range(start, end))
        elif isinstance(node, ast.Import | ast.ImportFrom) and node.names[0].name != "annotations":
            kept = [alias for alias in node.names if (alias.asname or alias.name.split(".")[0]) in used]
            if len(kept) < len(node.names):
                statement = type(node)(names=kept, **({"module": node.module, "level": node.level}
                                                       if isinstance(node, ast.ImportFrom) else {}))
                removed.update(range(node.lineno - 1, node.end_lineno))
                replaced[node.lineno - 1] = [ast.unparse(statement) + "\n"]
    out = []
    for index, line in enumerate(lines):
        out.extend(replaced.get(index, []))
        if index not in removed:
            out.append(line)
    text = "".join(out)
    return re.sub(r"\n{4,}", "\n\n\n", text)


# --- the edition's files --------------------------------------------------------------------------------------


def student_readme(readme: str, topics: list[str], notes: bool) -> str:
    """The README for students: instructor-only blocks left out, student-only blocks shown, and the course map
    without its Solution column and without the topics not released (nor the notes, without them)."""
    text = STUDENT_ONLY.sub(lambda match: match[1], INSTRUCTOR_ONLY.sub("", readme))
    out, drop = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = line.strip().strip("|").split("|")
            if cells[0].strip() == "#":
                drop = [i for i, cell in enumerate(cells)
                        if cell.strip() == "Solution" or (not notes and cell.strip() == "Derivation")]
            elif cells[0].strip().isdigit() and not any(topic.startswith(cells[0].strip() + "_") for topic in topics):
                continue
            line = "|" + "|".join(cell for i, cell in enumerate(cells) if i not in drop) + "|"
        out.append(line)
    return "\n".join(out) + "\n"


def student_makefile(makefile: str) -> str:
    """The Makefile without the instructor's targets (their rules and their names in ``.PHONY``)."""
    rules = makefile.split("\n\n")
    kept = [rule for rule in rules if not any(rule.startswith(f"{target}:") for target in INSTRUCTOR_TARGETS)]
    text = "\n\n".join(kept)
    phony = re.search(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)
    if phony:
        names = [name for name in phony[1].split() if name not in INSTRUCTOR_TARGETS]
        text = text.replace(phony[0], ".PHONY: " + " ".join(names))
    return text


def student_notes(note: str) -> str:
    """A topic's lecture notes for students: the opening line names the exercise, not the solved notebook."""
    return re.sub(r"\*Lecture notes for the notebook \[solutions/[^]]*\]\([^)]*\)\s*\(exercise version: "
                  r"(\[notebooks/[^]]*\]\([^)]*\))\)",
                  r"*Lecture notes for the notebook \1", note, count=1)


def _manifest(topics: list[str]) -> str:
    from ..topics import manifest

    entries = {topic: entry for topic, entry in manifest().items() if topic in topics}
    return json.dumps({"edition": "student", "topics": entries}, indent=1, ensure_ascii=False) + "\n"


def _pyproject(text: str) -> str:
    """The edition's pytest settings: its tests only, without those marked as needing the full course."""
    text = text.replace('testpaths = ["tests", "solutions"]', 'testpaths = ["tests"]')
    return re.sub(r'^(addopts = ".*)"$', r'\1 -m \"not full_course\""', text, count=1, flags=re.MULTILINE)


def _needs_solutions(path: Path) -> bool:
    """Whether the test file at `path` imports the solutions' loader or folder from ``latent_course.tools``, or is
    marked as a whole ``pytestmark = pytest.mark.full_course``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    marked = any(isinstance(node, ast.Assign) and any(getattr(target, "id", "") == "pytestmark"
                                                      for target in node.targets)
                 and FULL_COURSE_MARK in ast.unparse(node.value) for node in tree.body)
    return marked or any(isinstance(node, ast.ImportFrom) and node.module == "latent_course.tools.solutions"
                         and {alias.name for alias in node.names} & NEEDS_SOLUTIONS for node in ast.walk(tree))


def _tests() -> list[Path]:
    """The course's tests that need no solution (they never import the solutions' loader or folder)."""
    return sorted(path for path in (ROOT / "tests").iterdir()
                  if path.is_file() and not (path.suffix == ".py" and _needs_solutions(path)))


def planned_files(topics: list[str], *, notes: bool = True) -> dict[str, bytes]:
    """Every file of the student edition of `topics`, by path relative to the edition's root."""
    from .. import checks

    files: dict[str, bytes] = {}
    for name in COPIED:
        files[name] = (ROOT / name).read_bytes()
    files["README.md"] = student_readme((ROOT / "README.md").read_text(encoding="utf-8"), topics, notes).encode()
    files["Makefile"] = student_makefile((ROOT / "Makefile").read_text(encoding="utf-8")).encode()
    files["pyproject.toml"] = _pyproject((ROOT / "pyproject.toml").read_text(encoding="utf-8")).encode()
    for topic in topics:
        for suffix in (".py", ".ipynb"):
            files[f"notebooks/{topic}{suffix}"] = (NOTEBOOKS / f"{topic}{suffix}").read_bytes()
        if notes:
            note = (ROOT / "derivations" / f"{topic}.md").read_text(encoding="utf-8")
            files[f"derivations/{topic}.md"] = student_notes(note).encode()
    if notes and (ROOT / "derivations" / "README.md").is_file():
        files["derivations/README.md"] = (ROOT / "derivations" / "README.md").read_bytes()
    package = ROOT / "latent_course"
    released_modules = {checks.topic_checks(topic)[task].__module__.rsplit(".", 1)[-1]
                        for topic in topics for task in checks.topic_checks(topic)}
    all_modules = {check.__module__.rsplit(".", 1)[-1] for topic in checks.REGISTRY
                   for check in checks.topic_checks(topic).values()}
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or "_stored" in path.parts:
            continue
        if path.parent == package / "checks" and path.stem in all_modules:
            if path.stem in released_modules:
                files[relative] = strip_answers(path.read_text(encoding="utf-8")).encode()
            continue
        files[relative] = path.read_bytes()
    files["latent_course/topics.json"] = _manifest(topics).encode()
    for module, values in _record(topics).items():
        files[f"latent_course/checks/_stored/{module}.npz"] = _answers.values_bytes(values)
    for path in _tests():
        files[f"tests/{path.name}"] = path.read_bytes()
    return files


def release(destination: Path, topics: list[str] | None = None, *, notes: bool = True) -> list[Path]:
    """Write the student edition of `topics` (default: all) into `destination`, a new or empty folder.

    Returns
    -------
    written : list of Path
        The files written.

    Raises
    ------
    FileExistsError
        If `destination` exists and is not an empty folder: nothing is ever written over.
    ValueError
        If a topic is not one of the course's.
    """
    require_course()
    destination = Path(destination)
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise FileExistsError(f"{destination} exists and is not an empty folder: give a new folder for the "
                              "student edition (nothing is ever written over)")
    chosen = resolve_topics(topics, solution_topics())
    files = planned_files(chosen, notes=notes)
    if SOLUTIONS.resolve() in destination.resolve().parents:
        raise ValueError("the student edition cannot be written inside solutions/")
    written = []
    for relative, content in sorted(files.items()):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as handle:
            handle.write(content)
        written.append(target)
    return written


def main(destination: str, topics: list[str] | None, notes: bool) -> int:
    """The ``release`` command: write the edition, say what it holds; return the exit status."""
    if topics:
        bad = [name for name in topics if not (name.isdigit() or TOPIC_NAME.fullmatch(name))]
        if bad:
            print(f"error: give topics by number or name (03 or 03_mixture_moments), got {bad[0]!r}", file=sys.stderr)
            return 2
    try:
        written = release(Path(destination), topics, notes=notes)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    chosen = resolve_topics(topics, solution_topics())
    size = sum(path.stat().st_size for path in written)
    print(f"wrote the student edition of {len(chosen)} topics ({', '.join(chosen)}) into {destination}: "
          f"{len(written)} files, {size / 2**20:.1f} MiB, no solution")
    return 0
