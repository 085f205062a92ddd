"""``python -m latent_course new``: every piece a topic needs, nothing overwritten, each missing piece named."""

import importlib.util

import jupytext
import pytest
from test_course_structure import orphan_problems, topic_problems

from latent_course import checks
from latent_course.tools.cli import main
from latent_course.tools.exercises import generate
from latent_course.tools.scaffold import add_course_map_row, new_topic
from latent_course.tools.solutions import load_solution

README = """\
# A course

## Course map

| # | Topic | Exercise | Solution | Derivation |
|---|-------|----------|----------|------------|
| 01 | First | [notebooks/01_first.ipynb](notebooks/01_first.ipynb) | ... | ... |
| 09 | Last | [notebooks/09_last.ipynb](notebooks/09_last.ipynb) | ... | ... |

More text.
"""
NAME = "07_scaffolded"  # a name no real topic uses: the check package must not have it
PIECES = [f"solutions/{NAME}.py", f"solutions/{NAME}.ipynb", f"notebooks/{NAME}.py", f"notebooks/{NAME}.ipynb",
          f"derivations/{NAME}.md", "latent_course/checks/scaffolded.py", "tests/test_checks_scaffolded.py"]


def _snapshot(root):
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def course(tmp_path):
    (tmp_path / "README.md").write_text(README)
    return tmp_path


@pytest.fixture
def scaffolded(course):
    written = new_topic(NAME, "Scaffolded", root=course, execute=False)
    # Stands in for the execution, which needs the check module installed in the kernel's environment.
    jupytext.write(jupytext.read(course / "solutions" / f"{NAME}.py"), course / "solutions" / f"{NAME}.ipynb")
    return course, written


def test_writes_every_piece_the_structure_test_requires(scaffolded):
    course, written = scaffolded
    assert sorted(str(path.relative_to(course)) for path in written) == sorted(
        ["README.md", "latent_course/topics.json", *[piece for piece in PIECES if piece != f"solutions/{NAME}.ipynb"]])
    assert topic_problems(course, NAME) == []
    assert not [problem for problem in orphan_problems(course) if "07" in problem]
    assert generate(course / "solutions", course / "notebooks", check=True) == []


@pytest.mark.parametrize("piece", PIECES)
def test_deleting_any_piece_makes_the_structure_test_name_it(scaffolded, piece):
    course, _ = scaffolded
    (course / piece).unlink()
    problems = topic_problems(course, NAME)
    assert any(piece in problem for problem in problems), problems


def test_deleting_the_readme_row_or_a_link_is_named(scaffolded):
    course, _ = scaffolded
    readme = (course / "README.md").read_text()
    (course / "README.md").write_text(readme.replace(f"[derivations/{NAME}.md](derivations/{NAME}.md)", "notes"))
    assert topic_problems(course, NAME) == [f"README.md: the course-map row of 07 should link derivations/{NAME}.md"]
    (course / "README.md").write_text("\n".join(line for line in readme.splitlines() if not line.startswith("| 07")))
    assert any(f"README.md has no course-map row for {NAME}" in problem for problem in topic_problems(course, NAME))


@pytest.mark.parametrize("source, link", [(f"solutions/{NAME}.py", f"../derivations/{NAME}.md"),
                                          (f"derivations/{NAME}.md", f"../solutions/{NAME}.ipynb")])
def test_a_missing_link_between_notebook_and_notes_is_named(scaffolded, source, link):
    course, _ = scaffolded
    path = course / source
    path.write_text(path.read_text().replace(f"]({link})", "]()"))
    assert topic_problems(course, NAME) == [f"{source} does not link {link}: edit it to add the link "
                                            f"[{link[3:]}]({link})"]


def test_a_renamed_topic_leaves_orphans_that_are_named(scaffolded):
    course, _ = scaffolded
    for suffix in (".py", ".ipynb"):
        (course / "solutions" / f"{NAME}{suffix}").rename(course / "solutions" / f"08_renamed{suffix}")
    problems = orphan_problems(course)
    assert any(f"derivations/{NAME}.md belongs to no topic" in problem for problem in problems), problems
    assert any("checks/scaffolded.py declares TOPIC = '07_scaffolded'" in problem for problem in problems), problems
    assert any("course-map row 07 belongs to no topic" in problem for problem in problems), problems


def test_the_readme_row_goes_in_course_order(scaffolded):
    course, _ = scaffolded
    numbers = [line[2:4] for line in (course / "README.md").read_text().splitlines() if line.startswith("| 0")]
    assert numbers == ["01", "07", "09"]
    assert "| 07 | Scaffolded | [notebooks/07_scaffolded.ipynb](notebooks/07_scaffolded.ipynb) |" in (
        course / "README.md").read_text()


def test_a_course_map_without_rows_gets_its_first_row():
    table = "| # | Topic | Exercise | Solution | Derivation |\n|---|---|---|---|---|\n\nText.\n"
    assert add_course_map_row(table, "01_first", "First").splitlines()[2].startswith("| 01 | First | [notebooks/")
    with pytest.raises(ValueError, match="no course map table"):
        add_course_map_row("# No table\n", "01_first", "First")


def test_the_generated_check_passes_the_solution_and_catches_a_mutant_and_the_stub(scaffolded):
    course, _ = scaffolded
    spec = importlib.util.spec_from_file_location("latent_course.checks.scaffolded",
                                                  course / "latent_course" / "checks" / "scaffolded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TOPIC == NAME and module.__all__ == ["scaffolded_column_means"]
    check = module.scaffolded_column_means
    check(load_solution(NAME, directory=course / "solutions").scaffolded_column_means)
    with pytest.raises(checks.CheckFailure, match="divide by the number of rows"):
        check(lambda X: X.sum(axis=0))
    with pytest.raises(checks.NotImplementedYet, match="scaffolded_column_means: not implemented yet"):
        check(load_solution(NAME, directory=course / "notebooks").scaffolded_column_means)


def test_the_exercise_has_the_stub_and_no_solution(scaffolded):
    course, _ = scaffolded
    exercise = (course / "notebooks" / f"{NAME}.py").read_text()
    assert "raise NotImplementedError" in exercise and "X.mean(axis=0)" not in exercise
    assert "checks.scaffolded_column_means(scaffolded_column_means)" in exercise


def test_refuses_to_overwrite_and_writes_nothing(scaffolded):
    course, _ = scaffolded
    (course / "derivations" / f"{NAME}.md").write_text("# The maintainer's notes\n")
    before = _snapshot(course)
    with pytest.raises(FileExistsError, match=rf"derivations/{NAME}\.md.*nothing was written"):
        new_topic(NAME, "Scaffolded", root=course, execute=False)
    assert _snapshot(course) == before


def test_refuses_when_a_single_piece_exists(course):
    (course / "tests").mkdir()
    (course / "tests" / "test_checks_scaffolded.py").write_text("# someone's tests\n")
    before = _snapshot(course)
    with pytest.raises(FileExistsError, match="tests/test_checks_scaffolded.py"):
        new_topic(NAME, "Scaffolded", root=course, execute=False)
    assert _snapshot(course) == before


def test_refuses_a_number_in_use(course):
    (course / "solutions").mkdir()
    (course / "solutions" / "07_other.py").write_text("# %%\n")
    with pytest.raises(ValueError, match="topic number 07 is taken by 07_other"):
        new_topic(NAME, "Scaffolded", root=course, execute=False)


def test_refuses_a_readme_row_in_use(course):
    (course / "README.md").write_text(README.replace("| 09 | Last", "| 07 | Last"))
    with pytest.raises(ValueError, match="already has a course-map row for topic 07"):
        new_topic(NAME, "Scaffolded", root=course, execute=False)
    assert not (course / "solutions").exists()


def test_refuses_a_name_the_checks_package_uses(course):
    with pytest.raises(ValueError, match="already has a module or name 'mixtures'"):
        new_topic("08_mixtures", "Mixtures again", root=course, execute=False)


@pytest.mark.parametrize("name", ["7_example", "07-example", "07_Example", "07_", "007_x", "07_example.py", 7,
                                  "07_example\n", "07_example\r\n"])
def test_rejects_malformed_names(course, name):
    with pytest.raises(ValueError, match="name must look like 07_topic_name"):
        new_topic(name, "Example", root=course, execute=False)


@pytest.mark.parametrize("title", ["", "  ", "a | b", "two\nlines", "a\ttab", None])
def test_rejects_titles_that_break_the_readme_table(course, title):
    with pytest.raises(ValueError, match="title must be one non-empty line"):
        new_topic(NAME, title, root=course, execute=False)


@pytest.mark.parametrize("title", ['The """ mixture', "A \\N{x} title"])
def test_rejects_titles_that_break_the_check_modules_docstring_and_writes_nothing(course, title):
    before = sorted(path.relative_to(course) for path in course.rglob("*"))
    with pytest.raises(ValueError, match="docstring"):
        new_topic(NAME, title, root=course, execute=False)
    assert sorted(path.relative_to(course) for path in course.rglob("*")) == before


def test_the_command_reports_a_bad_name_without_writing(capsys):
    assert main(["new", "7_example", "Example"]) == 1
    assert "error: name must look like 07_topic_name" in capsys.readouterr().err
