"""The solution loader and the course layout."""

import textwrap

import jupytext
import numpy as np
import pytest
from scipy import stats

from latent_course.notebook import load_topic
from latent_course.tools.solutions import NOTEBOOKS, load_solution
from latent_course.topics import topics


def test_loads_functions_with_their_imports_without_running_other_cells(tmp_path):
    (tmp_path / "01_demo.py").write_text(textwrap.dedent('''\
        # %%
        import numpy as np

        # %%
        raise RuntimeError("a cell that must not run")

        # %%
        def helper(x):
            return np.asarray(x) + 1


        def task(x):
            ### BEGIN SOLUTION
            return 2 * helper(x)
            ### END SOLUTION


        class Model:
            pass
    '''))
    solution = load_solution("01_demo", directory=tmp_path)
    assert solution.task(1) == 4
    assert sorted(vars(solution)) == ["Model", "helper", "task"]


def test_a_topic_that_uses_another_topic_loads_it_too(tmp_path):
    (tmp_path / "01_base.py").write_text("# %%\ndef double(x):\n    return 2 * x\n")
    (tmp_path / "02_user.py").write_text(textwrap.dedent(f'''\
        # %%
        from pathlib import Path

        from latent_course.notebook import load_topic

        base = load_topic("01_base", Path({str(tmp_path)!r}))
        data = base.double(21)  # an ordinary cell: not run when loading


        def quadruple(x):
            return base.double(base.double(x))
    '''))
    solution = load_solution("02_user", directory=tmp_path)
    assert solution.quadruple(3) == 12
    assert not hasattr(solution, "data")


def test_load_topic_reads_the_notebook_beside_and_takes_names_only(tmp_path, monkeypatch):
    (tmp_path / "03_demo.py").write_text("# %%\ndef f(x):\n    return x + 1\n")
    monkeypatch.chdir(tmp_path)
    assert load_topic("03_demo").f(1) == 2
    with pytest.raises(FileNotFoundError, match="work through that topic first"):
        load_topic("04_missing")
    for bad in ("../03_demo", "03_demo/../x", "/etc/passwd", 3):
        with pytest.raises(ValueError, match="topic's name"):
            load_topic(bad)


def test_unknown_topic_names_the_available_ones(tmp_path):
    (tmp_path / "01_demo.py").write_text("# %%\n")
    with pytest.raises(FileNotFoundError, match="available: 01_demo"):
        load_solution("02_missing", directory=tmp_path)


def test_loads_the_course_solution_and_the_student_stub():
    solution = load_solution("03_mixture_moments")
    np.testing.assert_allclose(solution.mixture_mean(np.array([0.5, 0.5]), np.array([[0.0], [2.0]])), [1.0])
    stub = load_solution("03_mixture_moments", directory=NOTEBOOKS)
    with pytest.raises(NotImplementedError):
        stub.mixture_mean(np.array([1.0]), np.array([[0.0]]))


def test_topics_are_in_course_order():
    names = topics()
    assert names == sorted(names) and "03_mixture_moments" in names


def test_execute_writes_the_outputs_with_stable_cell_ids(tmp_path):
    from latent_course.tools.solutions import execute_solution

    (tmp_path / "01_demo.py").write_text("# %% [markdown]\n# A title\n\n# %%\nprint(6 * 7)\n")
    target = execute_solution("01_demo", directory=tmp_path)
    notebook = jupytext.read(target)
    assert [cell.id for cell in notebook.cells] == ["cell-000", "cell-001"]
    assert notebook.cells[1].outputs[0].text == "42\n"
    assert notebook.metadata.kernelspec.name == "python3"


def test_a_loaded_solution_function_needs_no_variable_of_the_notebooks_other_cells():
    from latent_course.mixtures import Mixture

    topic04 = load_solution("04_sum_of_mixtures")
    mixture = Mixture(np.array([0.25, 0.75]), np.array([[0.0], [2.0]]), np.array([[[1.0]], [[4.0]]]))
    np.testing.assert_allclose(topic04.mixture_cdf(np.array([0.0, 2.0]), mixture),
                               [0.25 * 0.5 + 0.75 * stats.norm.cdf(-1.0), 0.25 * stats.norm.cdf(2.0) + 0.75 * 0.5])
