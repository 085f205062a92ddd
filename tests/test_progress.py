"""Progress: loading a student's notebook, running a topic's checks safely, the table and the notebook's summary."""

import json
import os
import textwrap

import jupytext
import pytest

from latent_course import checks, progress
from latent_course.checks._summary import Result, check_namespace, format_table
from latent_course.notebook import load_functions, read_cells
from latent_course.progress import check_folder, check_notebook
from latent_course.tools.cli import main
from latent_course.tools.exercises import manifest_text
from latent_course.tools.solutions import NOTEBOOKS, SOLUTIONS
from latent_course.topics import tasks, topics

TOPIC = "03_mixture_moments"
RIGHT_MEAN = "return pi @ mu"
RIGHT_COVARIANCE = ("d = mu - pi @ mu\n    return np.einsum('k,kij->ij', pi, sigma) "
                    "+ np.einsum('k,ki,kj->ij', pi, d, d)")


def exercise(topic=TOPIC, **bodies):
    """The cells of `topic`'s exercise notebook, with the stub of each function in `bodies` replaced."""
    cells = []
    for cell_type, source in read_cells(NOTEBOOKS / f"{topic}.ipynb"):
        for name, body in bodies.items():
            if source.lstrip().startswith(f"def {name}("):
                lines = source.splitlines()
                todo = next(i for i, line in enumerate(lines) if line.strip().startswith("# TODO"))
                source = "\n".join([*lines[:todo], "    " + body, *lines[todo + 2:]])
        cells.append((cell_type, source))
    return cells


def statuses(results):
    return {result.task: result.status for result in results}


def test_tasks_follow_the_order_of_the_check_cells_in_the_notebook():
    assert tasks(TOPIC) == ("mixture_mean", "mixture_covariance")
    for topic in topics():
        assert sorted(tasks(topic)) == sorted(checks.topic_checks(topic))
    swapped = "# %% [markdown]\n# A title\n\n# %%\nchecks.mixture_covariance(f)\n\n# %%\nchecks.mixture_mean(g)\n"
    assert json.loads(manifest_text({TOPIC: swapped}))["topics"][TOPIC]["tasks"] == ["mixture_covariance",
                                                                                     "mixture_mean"]
    only_one = "# %% [markdown]\n# A title\n\n# %%\nchecks.mixture_covariance(f)\n"
    assert json.loads(manifest_text({TOPIC: only_one}))["topics"][TOPIC]["tasks"] == ["mixture_covariance",
                                                                                      "mixture_mean"]


def test_read_cells_takes_an_ipynb_or_its_py_twin_and_names_a_broken_file(tmp_path):
    text = "# %% [markdown]\n# A title\n\n# %%\nimport numpy\n\n\ndef f():\n    return 1\n"
    (tmp_path / "pair.py").write_text(text)
    jupytext.write(jupytext.reads(text, fmt="py:percent"), tmp_path / "pair.ipynb")
    assert read_cells(tmp_path / "pair.ipynb") == read_cells(tmp_path / "pair.py") == [
        ("markdown", "A title"), ("code", "import numpy\n\n\ndef f():\n    return 1")]
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    with pytest.raises(ValueError, match="broken.ipynb is not a valid notebook .invalid JSON"):
        read_cells(tmp_path / "broken.ipynb")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    with pytest.raises(ValueError, match="no list of cells"):
        read_cells(tmp_path / "list.ipynb")
    (tmp_path / "binary.ipynb").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not a text file"):
        read_cells(tmp_path / "binary.ipynb")


def test_loading_runs_only_definitions_and_survives_a_broken_cell():
    cells = [
        ("code", "%matplotlib inline\nimport math"),
        ("code", "raise RuntimeError('a cell that must not run')\nx = 1"),
        ("code", "def good(x):\n    return math.sqrt(x)"),
        ("code", "def half_typed(x):\n    return (x"),
        ("code", "import no_such_module_here"),
        ("markdown", "def not_code(): pass"),
    ]
    namespace, errors = load_functions(cells)
    assert namespace["good"](4) == 2 and "x" not in namespace and "not_code" not in namespace
    assert errors["half_typed"].startswith("SyntaxError in cell 4, line 2")
    assert errors[""].startswith("ModuleNotFoundError while loading the notebook")


def test_each_status_in_process_with_the_checks_first_line():
    namespace, errors = load_functions(exercise(mixture_mean="return mu.sum(axis=0)"))
    results = list(check_namespace(TOPIC, namespace, errors))
    assert statuses(results) == {"mixture_mean": "failed", "mixture_covariance": "not started"}
    assert results[0].detail.startswith("mixture_mean: ") and "\n" not in results[0].detail
    assert results[1].detail == ""

    namespace, errors = load_functions(exercise(mixture_mean="return 1 / 0", mixture_covariance=RIGHT_COVARIANCE))
    results = list(check_namespace(TOPIC, namespace, errors))
    assert results == [Result(TOPIC, "mixture_mean", "error", "ZeroDivisionError: division by zero"),
                       Result(TOPIC, "mixture_covariance", "passed")]

    del namespace["mixture_mean"]
    assert next(check_namespace(TOPIC, namespace, errors)).detail == \
        "the notebook defines no function mixture_mean (renamed or deleted?)"


def test_a_task_that_calls_another_stub_says_which():
    calls_the_stub = "return gmm_log_probability(X, np.ones(k) / k, X[:k], np.stack([np.eye(X.shape[1])] * k))"
    namespace, errors = load_functions(exercise("05_image_clustering", em=calls_the_stub))
    em = next(result for result in check_namespace("05_image_clustering", namespace, errors) if result.task == "em")
    assert em.status == "not started" and "gmm_log_probability" in em.detail


def test_in_a_child_process_an_endless_loop_and_a_crash_mark_their_task_and_the_others_still_run():
    looping = exercise(mixture_mean="while True:\n        pass", mixture_covariance=RIGHT_COVARIANCE)
    results = check_notebook(TOPIC, looping, time_limit=2)
    assert statuses(results) == {"mixture_mean": "timed out", "mixture_covariance": "passed"}
    assert results[0].detail.startswith("still running after 2 s")

    crashing = exercise(mixture_mean="import ctypes\n    return ctypes.string_at(0)", mixture_covariance="import os\n"
                        "    os._exit(3)")
    results = check_notebook(TOPIC, crashing)
    assert statuses(results) == {"mixture_mean": "error", "mixture_covariance": "error"}
    assert "SIGSEGV" in results[0].detail and "exited with code 3" in results[1].detail


def test_in_a_child_process_memory_is_limited_and_exit_is_an_error():
    greedy = exercise(mixture_mean="import numpy\n    return numpy.ones(200_000_000)[:2]",  # 1.6 GB
                      mixture_covariance="import sys\n    sys.exit('bye')")
    results = check_notebook(TOPIC, greedy, memory_limit_mb=1024)
    assert statuses(results) == {"mixture_mean": "error", "mixture_covariance": "error"}
    assert results[0].detail.startswith("MemoryError") and results[1].detail == "SystemExit: bye"


def test_a_crash_while_loading_marks_every_task():
    cells = [("code", "import ctypes\n\n\n@lambda function: ctypes.string_at(0)\ndef mixture_mean(pi, mu):\n"
                      "    pass")]
    results = check_notebook(TOPIC, cells)
    assert statuses(results) == {"mixture_mean": "error", "mixture_covariance": "error"}
    assert all(result.detail.startswith("while loading the notebook: the process was killed by SIGSEGV")
               for result in results)


def test_a_folder_gives_every_task_of_the_course_and_a_total(tmp_path):
    (tmp_path / f"{TOPIC}.ipynb").write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
        for _, source in exercise(mixture_mean=RIGHT_MEAN)]}))
    (tmp_path / "04_sum_of_mixtures.ipynb").write_text("not json")
    results = check_folder(tmp_path)
    assert [(result.topic, result.task) for result in results] == \
        [(topic, task) for topic in topics() for task in tasks(topic)]
    by_task = {(result.topic, result.task): result for result in results}
    assert by_task[TOPIC, "mixture_mean"].status == "passed"
    assert by_task[TOPIC, "mixture_covariance"].status == "not started"
    assert by_task["04_sum_of_mixtures", "sample_sum"].status == "error"
    assert "not a valid notebook" in by_task["04_sum_of_mixtures", "sample_sum"].detail
    assert by_task["01_matrix_factorization", "shift_user_mean"] == Result(
        "01_matrix_factorization", "shift_user_mean", "not started", f"no notebook 01_matrix_factorization.ipynb in "
                                                                      f"{tmp_path.name}/")
    assert format_table(results).splitlines()[-1] == f"1 of {len(results)} tasks pass"


def test_the_table_shows_a_topic_once_and_shortens_long_reasons():
    table = format_table([Result("01_a", "f", "passed"), Result("01_a", "g", "failed", "g: wrong " + "x" * 200),
                          Result("02_b", "h", "error", "TypeError: bad")], width=60)
    assert table == textwrap.dedent("""\
        Topic  Task  Status
        01_a   f     passed
               g     failed: g: wrong xxxxxxxxxxxxxxxxxxxxxxxxxxx...
        02_b   h     error: TypeError: bad
        1 of 3 tasks pass""")


@pytest.mark.parametrize("limits, name", [({"time_limit": 0}, "time_limit"), ({"time_limit": "60"}, "time_limit"),
                                          ({"memory_limit_mb": -1}, "memory_limit_mb")])
def test_limits_must_be_positive_numbers(limits, name):
    with pytest.raises(ValueError, match=f"{name} should be a positive number"):
        check_notebook(TOPIC, [], **limits)


def test_the_command_prints_the_table_and_refuses_a_missing_folder(tmp_path, capsys):
    (tmp_path / f"{TOPIC}.py").write_text("# %%\ndef mixture_mean(pi, mu):\n    return pi @ mu\n")
    assert main(["progress", str(tmp_path), "--time-limit", "30"]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[-2:] == ["mixture_mean", "passed"] for line in out.splitlines())
    assert f"1 of {sum(len(tasks(topic)) for topic in topics())} tasks pass" in out
    assert "earlier notebook" not in out
    # After `update`, the student's earlier notebook sits beside the new one: the table says where it is.
    (tmp_path / f"{TOPIC}.2026-03-14.ipynb").write_text("{}")
    assert main(["progress", str(tmp_path), "--time-limit", "30"]) == 0
    assert (f"{TOPIC}: your earlier notebook {TOPIC}.2026-03-14.ipynb is kept in {tmp_path.name}/"
            in capsys.readouterr().out)
    assert main(["progress", str(tmp_path / "missing")]) == 2
    assert "no folder" in capsys.readouterr().err
    assert main(["progress", str(tmp_path), "--time-limit", "-5"]) == 2
    assert "time_limit should be a positive number" in capsys.readouterr().err


def test_summary_prints_the_topics_rows_from_the_callers_functions(capsys):
    namespace, _ = load_functions(exercise(mixture_mean=RIGHT_MEAN))
    exec(f"from latent_course import checks\nchecks.summary({TOPIC!r})", namespace)
    assert capsys.readouterr().out == textwrap.dedent("""\
        Topic               Task                Status
        03_mixture_moments  mixture_mean        passed
                            mixture_covariance  not started
        1 of 2 tasks pass
        """)


def test_summary_says_which_function_has_not_run_yet(capsys):
    """Run All stopped at a failed check: the later tasks' functions are not in the session yet, and the row says so."""
    namespace, _ = load_functions(exercise(mixture_mean=RIGHT_MEAN))
    del namespace["mixture_covariance"]
    exec(f"from latent_course import checks\nchecks.summary({TOPIC!r})", namespace)
    row = next(line for line in capsys.readouterr().out.splitlines() if "mixture_covariance" in line)
    assert row.split(None, 1)[1] == "error: not run yet: run its cell (Run > Run All Cells)"


def test_a_long_status_is_cut_after_a_whole_word():
    hint = "failed: mixture_mean: the means are added up instead of weighted by their mixing proportions"
    row = format_table([Result(TOPIC, "mixture_mean", "failed", hint[len("failed: "):])], width=80).splitlines()[1]
    shown = row[row.index("failed"):]
    assert shown.endswith("...") and len(shown) < len(hint), row
    assert hint.startswith(shown[:-3]) and hint[len(shown) - 3] == " ", row  # the last word shown is whole


def test_summary_takes_a_topics_number_and_names_a_wrong_topic(capsys):
    checks.summary("03", {})
    assert "mixture_mean" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"'99' is not a topic of the course \(topics: 01_"):
        checks.summary("99", {})
    with pytest.raises(TypeError, match="topic should be"):
        checks.summary(globals())


@pytest.mark.parametrize("topic", topics())
def test_every_notebook_ends_with_its_summary(topic):
    for folder in (SOLUTIONS, NOTEBOOKS):
        cell_type, source = read_cells(folder / f"{topic}.py")[-1]
        assert (cell_type, source) == ("code", f'checks.summary("{topic}")')


def test_starting_the_workers_leaves_this_process_environment_alone():
    # A Jupyter kernel started later from this process (nbval, the lab) must still show its figures inline.
    before = dict(os.environ)
    progress.prepare_workers.__wrapped__()
    assert dict(os.environ) == before
