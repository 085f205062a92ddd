"""The exercise generator: markers become stubs, misplaced markers are errors, output is deterministic."""

import subprocess
import sys
import textwrap

import pytest

from latent_course.tools.exercises import MarkerError, exercise_text, generate, render_pair
from latent_course.tools.solutions import NOTEBOOKS

SOLUTION = textwrap.dedent('''\
    # %% [markdown]
    # # A topic
    #
    # Why is the sky blue?
    #
    # <!-- ### BEGIN SOLUTION -->
    # Rayleigh scattering.
    # <!-- ### END SOLUTION -->

    # %%
    import numpy as np


    # %%
    def double(x):
        """Twice x."""
        x = np.asarray(x)
        ### BEGIN SOLUTION: multiply by two.
        result = 2 * x
        return result
        ### END SOLUTION


    # %%
    print(double(3))
''')


def test_code_region_becomes_an_indented_stub_with_its_todo():
    text = exercise_text(SOLUTION)
    assert "    # TODO: multiply by two.\n    raise NotImplementedError\n" in text
    assert "2 * x" not in text and "SOLUTION" not in text


def test_markdown_answer_becomes_your_answer_here():
    text = exercise_text(SOLUTION)
    assert "# *Your answer here.*" in text
    assert "Rayleigh" not in text


def test_everything_outside_the_regions_is_unchanged():
    text = exercise_text(SOLUTION)
    for line in ["# Why is the sky blue?", "import numpy as np", '    """Twice x."""', "print(double(3))"]:
        assert line in text.splitlines()


def test_marker_without_hint_gets_a_default_todo():
    text = exercise_text("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n")
    assert "    # TODO: write your code here.\n    raise NotImplementedError" in text


def test_stub_raises_not_implemented_error():
    namespace = {}
    exec(exercise_text(SOLUTION).replace("print(double(3))", ""), namespace)
    with pytest.raises(NotImplementedError):
        namespace["double"](1)


@pytest.mark.parametrize("source, line, message", [
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n", 3, "never closed"),
    ("# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n\n# %%\nx = 1\n", 3, "not closed before the next cell"),
    ("# %%\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", 3, "nested"),
    ("# %%\nx = 1\n### END SOLUTION\n", 3, "without a matching BEGIN"),
    ("# %% [raw]\n### BEGIN SOLUTION\n### END SOLUTION\n", 2, "outside a code or Markdown cell"),
    ("### BEGIN SOLUTION\n### END SOLUTION\n", 1, "outside a code or Markdown cell"),
    ("# %% [markdown]\n# ### BEGIN SOLUTION\n", 2, "looks like a solution marker but is not exactly one; in a mark"),
    ("# %%\nx = 1  ### BEGIN SOLUTION\n", 2, "looks like a solution marker but is not exactly one; in a code"),
])
def test_misplaced_markers_name_file_and_line(source, line, message):
    with pytest.raises(MarkerError, match=rf"^topic\.py:{line}: .*{message}"):
        exercise_text(source, filename="topic.py")


def test_rendering_is_deterministic_and_round_trips():
    first, second = render_pair(exercise_text(SOLUTION)), render_pair(exercise_text(SOLUTION))
    assert first == second
    assert '"id": "cell-000"' in first[".ipynb"]
    assert first[".py"] == exercise_text(SOLUTION)


@pytest.fixture
def course(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    (solutions / "01_topic.py").write_text(SOLUTION)
    return solutions, notebooks


def test_generate_writes_the_pair_and_is_idempotent(course):
    solutions, notebooks = course
    written = generate(solutions, notebooks)
    assert sorted(path.name for path in written) == ["01_topic.ipynb", "01_topic.py"]
    assert generate(solutions, notebooks) == []
    assert generate(solutions, notebooks, check=True) == []


def test_check_detects_hand_edits_forgotten_regeneration_and_orphans(course):
    solutions, notebooks = course
    generate(solutions, notebooks)
    notebook = notebooks / "01_topic.ipynb"
    notebook.write_text(notebook.read_text().replace("Why is the sky blue?", "Why?"))
    assert generate(solutions, notebooks, check=True) == [notebook]
    generate(solutions, notebooks)
    (solutions / "01_topic.py").write_text(SOLUTION.replace("Why is the sky blue?", "Why not?"))
    assert {path.name for path in generate(solutions, notebooks, check=True)} == {"01_topic.py", "01_topic.ipynb"}
    generate(solutions, notebooks)
    (notebooks / "02_old.py").write_text("# %%\n")
    assert generate(solutions, notebooks, check=True) == [notebooks / "02_old.py"]


def test_check_writes_nothing(course):
    solutions, notebooks = course
    assert len(generate(solutions, notebooks, check=True)) == 2
    assert not notebooks.exists()


def test_command_line_check_passes_on_the_course():
    result = subprocess.run([sys.executable, "-m", "latent_course", "exercises", "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_cells_tagged_solution_only_are_left_out_of_the_exercise():
    solution = SOLUTION + textwrap.dedent('''\

        # %% [markdown] tags=["solution-only"]
        # ## Going further: a faster double

        # %% tags=["solution-only"]
        def fast_double(x):
            return x + x
    ''')
    exercise = exercise_text(solution)
    assert "fast_double" not in exercise and "Going further" not in exercise
    assert render_pair(exercise) == render_pair(exercise_text(SOLUTION))


def test_students_see_no_check_labels():
    exercise = exercise_text("# %%\nassert 1 + 1 == 2  # checks: arithmetic\nx = 1\n")
    assert "checks:" not in exercise and "assert 1 + 1 == 2\n" in exercise
    assert not [path.name for path in NOTEBOOKS.glob("*.py") if "# checks:" in path.read_text(encoding="utf-8")]
