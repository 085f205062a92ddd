"""Every topic has all its pieces, linked to each other; each failure names the file to add or edit.

A topic is a solution ``solutions/NN_topic.py`` (``course.topics()`` lists them); everything else is required of it
here. ``python -m latent_course new NN_topic "Title"`` writes all of these pieces at once.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from latent_course import checks
from latent_course.tools.solutions import ROOT, solution_topics
from latent_course.topics import topics

MAP_ROW = re.compile(r"^\| (?P<number>\d\d) \|.*$", re.MULTILINE)
USES_HELPER = re.compile(r"^(from checking import|import checking)\b", re.MULTILINE)
LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?:#[^)]*)?\)")


def check_modules(root: Path) -> dict[str, Path]:
    """The check modules by the ``TOPIC`` they declare (read from the source, so any course folder works)."""
    found = {}
    for path in sorted((root / "latent_course" / "checks").glob("[!_]*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            if any(getattr(target, "id", None) == "TOPIC" for target in targets) and node.value is not None:
                found[ast.literal_eval(node.value)] = path
    return found


def course_map(root: Path) -> dict[str, str]:
    """The README course-map rows by topic number."""
    return {row["number"]: row[0] for row in MAP_ROW.finditer((root / "README.md").read_text(encoding="utf-8"))}


def _links(text: str) -> list[str]:
    return [link["target"] for link in LINK.finditer(text) if "://" not in link["target"]]


def topic_problems(root: Path, name: str) -> list[str]:
    """What is missing or unlinked for topic `name` in the course at `root`, one sentence per file to fix."""
    problems = []

    def need(relative: str, what: str, fix: str):
        if not (root / relative).is_file():
            problems.append(f"{relative} is missing ({what}): {fix}")

    need(f"solutions/{name}.py", "the solution, the single source", "every other piece follows from it")
    need(f"solutions/{name}.ipynb", "the executed solved notebook", f"python -m latent_course execute {name}")
    for suffix in (".py", ".ipynb"):
        need(f"notebooks/{name}{suffix}", "the generated exercise", "python -m latent_course exercises")
    need(f"derivations/{name}.md", "the lecture notes", f"write them, linking ../solutions/{name}.ipynb")

    module = check_modules(root).get(name)
    if module is None:
        problems.append(f"no check module declares TOPIC = {name!r}: add latent_course/checks/{name[3:]}.py "
                        "that sets TOPIC and lists its checks in __all__")
    else:
        test = f"tests/test_checks_{module.stem}.py"
        need(test, f"the tests of latent_course/checks/{module.name}", "test each check against mutants")

    row = course_map(root).get(name[:2])
    wanted = [f"notebooks/{name}.ipynb", f"solutions/{name}.ipynb", f"derivations/{name}.md"]
    if row is None:
        problems.append(f"README.md has no course-map row for {name}: add "
                        f"'| {name[:2]} | Title | {' | '.join(f'[{path}]({path})' for path in wanted)} |'")
    else:
        problems += [f"README.md: the course-map row of {name[:2]} should link {path}"
                     for path in wanted if path not in _links(row)]
        problems += [f"README.md: the course-map row of {name[:2]} links {target}, which does not exist"
                     for target in _links(row) if not (root / target).exists()]

    pairs = [(f"solutions/{name}.py", f"../derivations/{name}.md"),
             (f"derivations/{name}.md", f"../solutions/{name}.ipynb")]
    for source, target in pairs:
        if (root / source).is_file() and target not in _links((root / source).read_text(encoding="utf-8")):
            problems.append(f"{source} does not link {target}: edit it to add the link [{target[3:]}]({target})")
    return problems


def orphan_problems(root: Path) -> list[str]:
    """Pieces whose topic has no solution (left behind by a rename or a removal)."""
    names = solution_topics(root / "solutions")
    numbers = {name[:2] for name in names}
    problems = [f"derivations/{path.name} belongs to no topic: rename or remove it (no solutions/{path.stem}.py)"
                for path in sorted((root / "derivations").glob("[0-9][0-9]_*.md")) if path.stem not in names]
    problems += [f"latent_course/checks/{path.name} declares TOPIC = {topic!r}, a topic without a solution: "
                 "edit or remove it"
                 for topic, path in check_modules(root).items() if topic not in names]
    problems += [f"README.md: the course-map row {number} belongs to no topic: edit or remove it"
                 for number in course_map(root) if number not in numbers]
    problems += [f"topic number {number} is used by {len(same)} topics ({', '.join(same)}): renumber one"
                 for number in sorted(numbers) for same in [[name for name in names if name[:2] == number]]
                 if len(same) > 1]
    return problems


@pytest.mark.parametrize("name", topics())
def test_each_topic_has_every_piece_linked(name):
    problems = topic_problems(ROOT, name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", topics())
def test_the_checks_are_tested_with_the_shared_helper(name):
    module = check_modules(ROOT).get(name)
    test = ROOT / "tests" / f"test_checks_{module.stem if module else name[3:]}.py"
    assert test.is_file(), f"{test.relative_to(ROOT)} is missing (see test_each_topic_has_every_piece_linked)"
    assert USES_HELPER.search(test.read_text(encoding="utf-8")), (
        f"{test.relative_to(ROOT)}: test the checks with tests/checking.py (mutant_params, assert_catches, "
        "assert_passes) instead of a copy of it")


def test_no_piece_is_left_without_its_topic():
    problems = orphan_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_the_check_registry_holds_exactly_the_topics():
    assert sorted(checks.REGISTRY) == topics()
    assert all(checks.REGISTRY.values()), "a check module lists no checks in __all__"


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md", *sorted(
    str(path.relative_to(ROOT)) for path in (ROOT / "derivations").glob("*.md"))])
def test_relative_links_in_the_documents_work(document):
    path = ROOT / document
    broken = [target for target in _links(path.read_text(encoding="utf-8")) if not (path.parent / target).exists()]
    assert not broken, f"{document} links to files that do not exist: {', '.join(broken)}"


def test_the_readme_links_the_maintaining_guide():
    assert "(CONTRIBUTING.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quick_run_leaves_out_every_slow_file_and_the_full_run_starts_with_them(request):
    """`make test-fast` (`-m "not slow"`) collects no notebook and no file of SLOW_FILES; in this run, the slow items
    come first (pytest-xdist hands files out in this order)."""
    tests_conftest = next(plugin for plugin in request.config.pluginmanager.get_plugins()
                          if getattr(plugin, "__file__", None) == str(Path(__file__).with_name("conftest.py")))
    slow_files = tests_conftest.SLOW_FILES
    # Collected from the slow files, the notebooks and one quick file (the whole course takes seconds more).
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-m", "not slow",
               *[f"tests/{name}" for name in sorted(slow_files)], "solutions", "tests/test_ratings.py"]
    listing = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    quick = {line.split("::")[0] for line in listing.splitlines() if "::" in line}
    assert quick == {"tests/test_ratings.py"}, listing[-2000:]
    marked = [item.get_closest_marker("slow") is not None for item in request.session.items]
    assert marked == sorted(marked, reverse=True), "a slow test is collected after a quick one"
