"""An instructor's typo never puts solution text into an exercise: marker look-alikes, Jupytext's cell syntax, odd
characters and code that stops compiling are errors naming the file and line."""

import textwrap

import pytest

from latent_course.notebook import load_notebook
from latent_course.tools.exercises import ExerciseError, MarkerError, exercise_text, generate, read_notebook
from latent_course.tools.solutions import load_solution

SECRET = "secret_answer = 42"
CODE = textwrap.dedent(f"""\
    # %% [markdown]
    # A question.

    # %%
    def task():
        {{begin}}
        {SECRET}
        return secret_answer
        {{end}}
""")
MARKDOWN = textwrap.dedent("""\
    # %% [markdown]
    # Why?
    #
    {begin}
    # The secret reason.
    {end}

    # %%
    x = 1
""")


@pytest.mark.parametrize("begin", [
    "###BEGIN SOLUTION", "## BEGIN SOLUTION", "# BEGIN SOLUTION", "#### BEGIN SOLUTION", "### begin solution",
    "### Begin Solution", "### BEGIN_SOLUTION", "### BEGIN-SOLUTION", "### BEGINSOLUTION", "###  BEGIN SOLUTION",
    "### BEGIN  SOLUTION", "### BEGIN SOLUTIONS", "### BEGIN SOLUTION - hint", "x = 0  ### BEGIN SOLUTION",
    "# <!-- ### BEGIN SOLUTION -->",
])
def test_a_code_marker_look_alike_is_an_error_naming_file_and_line(begin):
    with pytest.raises(MarkerError, match=r"^topic\.py:6: .*looks like a solution marker but is not exactly one"):
        exercise_text(CODE.format(begin=begin, end="### END SOLUTION"), filename="topic.py")


@pytest.mark.parametrize("end", ["###END SOLUTION", "## END SOLUTION", "### end solution", "### END SOLUTION here",
                                 "### ENDSOLUTION", "    ### END_SOLUTION"])
def test_an_end_marker_look_alike_is_an_error_naming_file_and_line(end):
    with pytest.raises(MarkerError, match=r"^topic\.py:9: .*looks like a solution marker"):
        exercise_text(CODE.format(begin="### BEGIN SOLUTION", end=end), filename="topic.py")


@pytest.mark.parametrize("begin", [
    "# <!-- ###BEGIN SOLUTION -->", "# <!-- ## BEGIN SOLUTION -->", "# <!-- ### begin solution -->",
    "# <!-- BEGIN SOLUTION -->", "# <!--### BEGIN SOLUTION-->", "# <!-- ### BEGIN SOLUTION ->", "# ### BEGIN SOLUTION",
    "### BEGIN SOLUTION",
])
def test_a_markdown_marker_look_alike_is_an_error_naming_file_and_line(begin):
    with pytest.raises(MarkerError, match=r"^topic\.py:4: .*looks like a solution marker"):
        exercise_text(MARKDOWN.format(begin=begin, end="# <!-- ### END SOLUTION -->"), filename="topic.py")


@pytest.mark.parametrize("text", [None, b"# %%\nx = 1\n", ["# %%"]])
def test_exercise_text_takes_text(text):
    with pytest.raises(TypeError, match="text must be the str of a py:percent solution"):
        exercise_text(text)


def test_exact_markers_still_work():
    text = exercise_text(CODE.format(begin="### BEGIN SOLUTION: set the answer.", end="### END SOLUTION"))
    assert SECRET not in text and "# TODO: set the answer.\n" in text
    answer = exercise_text(MARKDOWN.format(begin="# <!-- ### BEGIN SOLUTION -->", end="# <!-- ### END SOLUTION -->"))
    assert "secret" not in answer and "# *Your answer here.*" in answer


@pytest.mark.parametrize("header", ["#%%", "#%% [markdown]", "#  %%", "  # %%", "# %%% title", "# In[3]:",
                                    "# <codecell>"])
def test_jupytext_cell_headers_end_a_cell(header):
    """An unclosed region meets the next cell however Jupytext's header is written: an error, not a lost cell."""
    source = f"# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n\n{header}\n# text\n    ### END SOLUTION\n"
    with pytest.raises(MarkerError, match=r"^topic\.py:3: BEGIN SOLUTION is not closed before the next cell"):
        exercise_text(source, filename="topic.py")


@pytest.mark.parametrize("header, cell_type", [("#%%", "code"), ("#%% [markdown]", "markdown"),
                                               ("# %% [md]", "markdown"), ("#%%   [raw]", "raw")])
def test_jupytext_cell_headers_give_the_same_cells_in_the_exercise(header, cell_type):
    source = f"# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n{header}\n# text\n"
    cells = read_notebook(exercise_text(source)).cells
    assert [cell.cell_type for cell in cells] == ["code", cell_type]
    assert "return 1" not in cells[0].source


def test_a_cell_header_inside_a_multi_line_string_is_not_a_cell():
    source = '# %%\ndef f():\n    ### BEGIN SOLUTION\n    return """\n# %%\n"""\n    ### END SOLUTION\n'
    assert "# %%" not in exercise_text(source).split("\n", 1)[1]


@pytest.mark.parametrize("encoding_mark", ["\ufeff"])
@pytest.mark.parametrize("source, first_type", [("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n", "markdown"),
                                                ("# %% [raw]\n# raw\n", "raw")])
def test_a_byte_order_mark_does_not_change_the_first_cell(tmp_path, encoding_mark, source, first_type):
    assert [cell.cell_type for cell in read_notebook(exercise_text(encoding_mark + source)).cells][0] == first_type
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    (solutions / "01_topic.py").write_text(encoding_mark + source, encoding="utf-8")
    generate(solutions, notebooks)
    assert not (notebooks / "01_topic.py").read_text(encoding="utf-8").startswith("\ufeff")
    assert (notebooks / "01_topic.py").read_text(encoding="utf-8").startswith(source.split("\n")[0])


@pytest.mark.parametrize("character", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c"])
def test_characters_that_jupytext_takes_as_line_breaks_are_named(character):
    source = f'# %%\nx = 1\ntext = "a{character}b"\n'
    with pytest.raises(ExerciseError, match=rf"^topic\.py:3: character U\+{ord(character):04X} is a line break"):
        exercise_text(source, filename="topic.py")


@pytest.mark.parametrize("source, line", [
    ("# %%\nif True:\n### BEGIN SOLUTION\n    x = 1\n### END SOLUTION\n", 3),  # the stub is not indented
    ("# %%\nx = [\n    ### BEGIN SOLUTION\n    1,\n    ### END SOLUTION\n]\n", 3),  # the stub lands in a literal
    ("# %%\nx = 1\n\n# %%\ny = (\n", 5),  # a solution that does not compile either
])
def test_every_exercise_code_cell_must_compile(source, line):
    with pytest.raises(ExerciseError, match=rf"^topic\.py:{line}: the exercise's code cell would not be valid Python"):
        exercise_text(source, filename="topic.py")


def test_nothing_is_written_when_one_solution_fails(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    (solutions / "01_good.py").write_text("# %%\nx = 1\n")
    (solutions / "02_typo.py").write_text(CODE.format(begin="## BEGIN SOLUTION", end="### END SOLUTION"))
    with pytest.raises(MarkerError, match=r"^solutions/02_typo\.py:6:"):
        generate(solutions, notebooks)
    assert not notebooks.exists()


@pytest.mark.parametrize("contents", [None, ["notes.txt"], ["1_short.py"]])
def test_generate_without_solutions_fails_and_creates_nothing(tmp_path, contents):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    if contents is not None:
        solutions.mkdir()
        for name in contents:
            (solutions / name).write_text("# %%\n")
    for check in (False, True):
        with pytest.raises(FileNotFoundError, match=r"no solution notebooks \(NN_topic\.py\) in .*solutions"):
            generate(solutions, notebooks, check=check)
    assert not notebooks.exists()


def test_a_solution_that_is_not_utf8_is_named(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "01_topic.py").write_bytes(b"# %%\nx = '\xff'\n")
    with pytest.raises(ExerciseError, match=r"^solutions/01_topic\.py: not UTF-8 text"):
        generate(solutions, tmp_path / "notebooks")


# ------------------------------------------------------------------------------------------------------ load_solution


def test_load_solution_runs_definitions_and_their_default_arguments_only(tmp_path, capsys):
    """What the docstring says load_solution runs: imports, def statements (so default values) and class bodies."""
    (tmp_path / "01_demo.py").write_text(textwrap.dedent("""\
        # %%
        print("a top-level cell")


        # %%
        def task(x, y=print("a default value") or 2):
            print("the body")
            return x + y


        class Model:
            print("a class body")
    """))
    solution = load_solution("01_demo", directory=tmp_path)
    assert capsys.readouterr().out == "a default value\na class body\n"
    assert solution.task(1) == 3
    assert "default argument values" in load_notebook.__doc__


@pytest.mark.parametrize("name", ["../01_demo", "01_demo.py", "/etc/passwd", "", "02_missing", None])
def test_load_solution_accepts_topic_names_only(tmp_path, name):
    (tmp_path / "01_demo.py").write_text("# %%\n")  # reachable as ../01_demo from solutions/
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_demo.py").write_text("# %%\n")
    with pytest.raises(FileNotFoundError, match=r"give a topic name \(available: 01_demo\)"):
        load_solution(name, directory=tmp_path / "solutions")


def test_load_solution_reads_a_file_with_a_byte_order_mark(tmp_path):
    (tmp_path / "01_demo.py").write_text("\ufeff# %%\ndef f():\n    return 1\n", encoding="utf-8")
    assert load_solution("01_demo", directory=tmp_path).f() == 1
