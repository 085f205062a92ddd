"""The student edition (``python -m latent_course release``): no answer anywhere, its own tests pass, the student
commands work, a wrong answer is caught with the same hint as in the full course, and two runs are identical."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from latent_course import checks
from latent_course.tools.cli import main
from latent_course.tools.release import release, strip_answers, student_readme
from latent_course.tools.solutions import NOTEBOOKS, ROOT, SOLUTIONS, solution_topics

CODE_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION")
REFERENCE_ESTIMATORS = {"sklearn.cluster", "sklearn.mixture", "sklearn.linear_model", "sklearn.decomposition"}
"""What the full course's checks fit as references (a data generator such as make_blobs may stay)."""


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edition") / "course"
    release(folder)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    """The edition's files (not the bytecode caches that running its commands may have left)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


GENERIC = {"users, items, values = coo.row, coo.col, coo.data", 'with np.errstate(divide="ignore"):',
           "mass = np.bincount(z, weights=weight, minlength=k)"}
"""Solution lines that answer-free code shares: a sparse matrix's triplets, silencing log(0), and the weight of
each cluster, which the k-means check needs for its "no cluster is empty" property."""
PARAMETER_LINE = re.compile(r"^[A-Za-z_][\w, ]* : ")


def _solution_lines() -> dict[str, list[str]]:
    """For each topic, the significant lines of its solution regions and solution-only cells: code, not comments,
    docstring parameter lines or lines that an exercise shows anyway."""
    shown = {line.strip() for path in NOTEBOOKS.glob("[0-9][0-9]_*.py")
             for line in path.read_text(encoding="utf-8").splitlines()}
    found = {}
    for topic in solution_topics():
        inside, only, lines = False, False, []
        for line in (SOLUTIONS / f"{topic}.py").read_text(encoding="utf-8").splitlines():
            if line.startswith("# %%"):
                only, inside = "solution-only" in line, False
                continue
            marker = CODE_MARKER.match(line)
            if marker:
                inside = marker[1] == "BEGIN"
                continue
            text = line.strip()
            if ((inside or only) and len(text) >= 25 and not text.startswith("#") and text not in shown
                    and text not in GENERIC and not PARAMETER_LINE.match(text)):
                lines.append(text)
        found[topic] = lines
    return found


def _run(edition, *command, **kwargs):
    environment = {**os.environ, "PYTHONPATH": str(edition)}
    return subprocess.run([sys.executable, *command], cwd=edition, env=environment, capture_output=True, text=True,
                          timeout=600, **kwargs)


def test_no_solution_code_anywhere_in_the_edition(edition):
    files = {name: content.decode("utf-8", errors="replace") for name, content in _files(edition).items()}
    assert not [name for name in files if name.startswith("solutions/")]
    assert not [name for name in files if name.endswith(".ipynb") and '"outputs": [\n' in files[name]
                and '"output_type"' in files[name]]
    solution_lines = _solution_lines()
    assert sum(map(len, solution_lines.values())) > 100  # the search looks for something
    leaks = [(topic, line, name) for topic, lines in solution_lines.items() for line in lines
             for name, text in files.items() if line in text]
    assert leaks == []


def test_no_answer_function_keeps_a_body_and_no_reference_estimator_is_imported(edition):
    full = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "latent_course" / "checks").glob("*.py")}
    marked = 0
    for path in sorted((edition / "latent_course" / "checks").glob("[a-z]*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(getattr(decorator, "id", "") == "answer"
                                                         for decorator in node.decorator_list):
                marked += 1
                body = node.body[1:] if ast.get_docstring(node) else node.body
                assert [ast.unparse(statement) for statement in body] == ["..."], f"{path.name}: {node.name}"
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & REFERENCE_ESTIMATORS, f"{path.name} still imports a reference estimator"
        assert path.read_text(encoding="utf-8") != full[path.name]
    assert marked >= 4
    assert sorted(path.name for path in (edition / "latent_course" / "checks" / "_stored").iterdir()) == sorted(
        f"{module.__module__.rsplit('.', 1)[-1]}.npz" for module in
        (next(iter(checks.topic_checks(topic).values())) for topic in solution_topics()))


def test_the_readme_is_for_students(edition):
    readme = (edition / "README.md").read_text(encoding="utf-8")
    assert "solutions/" not in readme and "instructor-only" not in readme and "student-only" not in readme
    assert "## Quick start" in readme and "make lab" in readme and "Your instructor has the solved notebooks" in readme
    assert "| # | Topic | Exercise | Derivation |" in readme
    assert readme.count("[notebooks/") == len(solution_topics())


def test_no_file_of_the_edition_points_to_what_it_lacks(edition):
    makefile = (edition / "Makefile").read_text(encoding="utf-8")
    assert "lab:" in makefile and "test:" in makefile
    assert not [target for target in ("exercises:", "execute:", "bench:", "book:", "pdf:") if target in makefile]
    notes = {path.name: path.read_text(encoding="utf-8") for path in (edition / "derivations").glob("*.md")}
    assert len(notes) == len(solution_topics()) + 1
    assert [name for name, text in notes.items() if "](../solutions/" in text] == []
    assert all(f"[notebooks/{name[:-3]}.ipynb]" in text for name, text in notes.items() if name != "README.md")


def test_the_student_commands_work_and_only_the_editions_tests_are_collected(edition):
    checked = _run(edition, "-m", "latent_course", "exercises", "--check")
    assert checked.returncode == 0 and "a student edition" in checked.stdout, checked.stderr
    status = _run(edition, "-m", "latent_course", "status")
    assert status.returncode == 0 and status.stdout.count("new: `make lab` copies it") == len(solution_topics())
    progress = _run(edition, "-m", "latent_course", "progress", "notebooks")
    assert progress.returncode == 0, progress.stderr
    rows = [line for line in progress.stdout.splitlines()[1:-1] if line.strip()]
    assert len(rows) == sum(map(len, checks.REGISTRY.values())) and all(row.endswith("not started") for row in rows)
    tests = {path.name for path in (edition / "tests").glob("test_*.py")}
    assert {"test_architecture.py", "test_workspace.py", "test_checks_framework.py"} <= tests
    assert not tests & {"test_book.py", "test_claims.py", "test_release.py", "test_checks_mixtures.py"}
    assert '-m \\"not full_course\\""' in (edition / "pyproject.toml").read_text(encoding="utf-8")


# A wrong answer per topic, from a student's notebook: the same message (and hint) in both editions.
WRONG = {
    "mixture_mean": "def mixture_mean(pi, mu):\n    return mu.mean(axis=0)\n",
    "mixture_covariance": ("import numpy as np\n\ndef mixture_covariance(pi, mu, sigma):\n"
                           "    return np.einsum('k,kij->ij', pi, sigma)\n"),
}


def test_a_wrong_answer_gets_the_same_message_in_the_student_edition(edition):
    script = "from latent_course import checks\n" + "".join(
        f"{code}\ntry:\n    checks.{task}({task})\nexcept checks.CheckFailure as failure:\n    print(failure)\n"
        for task, code in WRONG.items())
    messages = [subprocess.run([sys.executable, "-c", script], cwd=path, capture_output=True, text=True, timeout=300,
                               env={**os.environ, "PYTHONPATH": str(path)}).stdout for path in (ROOT, edition)]
    for task in WRONG:
        assert f"{task}: " in messages[0]
    assert messages[0].count("Expected") == len(WRONG)
    assert messages[1] == messages[0]


def test_two_releases_are_identical_and_nothing_is_written_over(edition, tmp_path):
    again = tmp_path / "again"
    release(again)
    assert _files(again) == _files(edition)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("a person's file")
    with pytest.raises(FileExistsError, match="nothing is ever written over"):
        release(tmp_path / "taken")
    assert (tmp_path / "taken" / "mine.txt").read_text() == "a person's file"


def test_some_topics_only_without_notes(tmp_path, capsys):
    assert main(["release", str(tmp_path / "week"), "--topics", "3", "--no-notes"]) == 0
    assert "1 topics (03_mixture_moments)" in capsys.readouterr().out
    files = _files(tmp_path / "week")
    assert sorted(name for name in files if name.startswith("notebooks/")) == [
        "notebooks/03_mixture_moments.ipynb", "notebooks/03_mixture_moments.py"]
    assert not [name for name in files if name.startswith("derivations/")]
    assert sorted(name for name in files if name.startswith("latent_course/checks/") and "_" not in name[21:22]) \
        == ["latent_course/checks/mixtures.py"]
    readme = files["README.md"].decode()
    assert "03_mixture_moments.ipynb" in readme and "01_matrix_factorization" not in readme
    assert "Derivation |" not in readme
    for bad in (["release", str(tmp_path / "x"), "--topics", "99"],
                ["release", str(tmp_path / "y"), "--topics", "../x"]):
        assert main(bad) == 2
        assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_strip_answers_keeps_the_layout_and_drops_what_only_answers_used():
    source = '''"""A check module."""

import numpy as np
from sklearn.linear_model import Ridge

from ._answers import answer

__all__ = ["check"]


def _helper(x):
    return Ridge().fit(x, x)


@answer
def _reference(x):
    """The answer."""
    return _helper(x) + np.ones(3)


def check(function):
    return np.allclose(function(1), _reference(1))
'''
    stripped = strip_answers(source)
    assert "Ridge" not in stripped and "_helper" not in stripped and "return _helper" not in stripped
    assert '    """The answer."""\n    ...  # stored' in stripped
    assert "import numpy as np\n" in stripped and "def check(function):" in stripped
    compile(stripped, "<stripped>", "exec")


def test_student_readme_drops_the_solution_column_and_other_topics():
    readme = ("# C\n<!-- instructor-only -->\nsecret\n<!-- /instructor-only -->\n<!-- student-only\nfor you\n-->\n"
              "| # | Topic | Exercise | Solution | Derivation |\n|---|---|---|---|---|\n"
              "| 01 | A | e1 | s1 | d1 |\n| 02 | B | e2 | s2 | d2 |\n")
    text = student_readme(readme, ["02_b"], notes=True)
    assert "secret" not in text and "for you" in text
    assert "| 02 | B | e2 | d2 |" in text and "01" not in text and "s2" not in text
