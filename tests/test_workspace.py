"""The student's work/ folder: copied once, never written over, told about course updates, updated without loss."""

import datetime
import shutil

import pytest

from latent_course.tools.cli import main as cli_main
from latent_course.tools.solutions import NOTEBOOKS, ROOT
from latent_course.tools.workspace import (
    WorkError,
    copy_new,
    format_status,
    main_status,
    main_update,
    status,
    update,
)
from latent_course.topics import resolve, topics

TOPIC = "03_mixture_moments"
NOW = datetime.datetime(2026, 3, 14, 9, 26, 53)


@pytest.fixture()
def course(tmp_path):
    """A copy of the course's exercise notebooks that the test may change, like a course update would."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks)
    return notebooks


def fill_in(work, text="return pi @ mu  # my answer"):
    """Write the student's answer into work/03's notebook pair (as JupyterLab's save does); return the bytes."""
    contents = {}
    for suffix in (".ipynb", ".py"):
        path = work / f"{TOPIC}{suffix}"
        source = path.read_text()
        assert "# TODO: weight each component" in source
        stub = source[source.index("# TODO: weight each component"):]
        stub = stub[:stub.index("NotImplementedError") + len("NotImplementedError")]
        path.write_text(source.replace(stub, text, 1))
        contents[suffix] = path.read_bytes()
    return contents


def change_upstream(notebooks, old="mixture's mean and covariance", new="mean and the covariance of a mixture"):
    for suffix in (".ipynb", ".py"):
        path = notebooks / f"{TOPIC}{suffix}"
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))


def test_the_first_run_copies_every_pair_and_later_runs_only_new_topics(tmp_path, course):
    work = tmp_path / "work"
    assert copy_new(work, course) == topics()
    for topic in topics():
        for suffix in (".ipynb", ".py"):
            assert (work / f"{topic}{suffix}").read_bytes() == (course / f"{topic}{suffix}").read_bytes()
    assert copy_new(work, course) == []
    (work / f"{TOPIC}.ipynb").unlink()  # one file of a pair left: the topic is still the student's
    (work / "04_sum_of_mixtures.ipynb").unlink()
    (work / "04_sum_of_mixtures.py").unlink()
    assert copy_new(work, course) == ["04_sum_of_mixtures"]
    assert not (work / f"{TOPIC}.ipynb").exists()


def test_no_file_of_the_student_is_ever_written_over(tmp_path, course):
    work = tmp_path / "work"
    copy_new(work, course)
    mine = fill_in(work)
    change_upstream(course)
    assert copy_new(work, course) == []
    assert status(work, course)[TOPIC] == "changed upstream"
    for suffix, content in mine.items():
        assert (work / f"{TOPIC}{suffix}").read_bytes() == content


def test_status_says_new_up_to_date_changed_or_unknown(tmp_path, course):
    work = tmp_path / "work"
    assert set(status(work, course).values()) == {"new"}
    copy_new(work, course)
    fill_in(work)
    assert set(status(work, course).values()) == {"up to date"}, "the student's own edits are not a course change"
    change_upstream(course)
    (work / ".course" / "04_sum_of_mixtures.py").unlink()
    states = status(work, course)
    assert states[TOPIC] == "changed upstream" and states["04_sum_of_mixtures"] == "unknown"
    text = format_status(states, work)
    assert [TOPIC, "changed upstream: `python -m latent_course update 03` gets the new version and keeps yours"] \
        in [line.split(None, 1) for line in text.splitlines()]


def test_update_keeps_the_students_notebook_under_a_dated_name_and_names_the_functions_to_carry_over(
        tmp_path, course):
    work = tmp_path / "work"
    copy_new(work, course)
    mine = fill_in(work)
    change_upstream(course, "mixture's covariance Cov[x].", "covariance Cov[x] of the mixture.")
    lines = update("03", work, course, now=NOW)
    for suffix, content in mine.items():
        assert (work / f"{TOPIC}.2026-03-14{suffix}").read_bytes() == content
        assert (work / f"{TOPIC}{suffix}").read_bytes() == (course / f"{TOPIC}{suffix}").read_bytes()
    assert lines[1].endswith(f"kept as {work}/{TOPIC}.2026-03-14.ipynb")
    assert "  carry over the functions you wrote: mixture_mean" in lines
    assert status(work, course)[TOPIC] == "up to date"
    assert update(TOPIC, work, course, now=NOW) == [f"{TOPIC}: up to date, nothing to do"]

    fill_in(work, "return pi @ mu")
    change_upstream(course, "Mean of a Gaussian mixture.", "The mean of a Gaussian mixture.")
    lines = update(TOPIC, work, course, now=NOW)
    assert (work / f"{TOPIC}.2026-03-14-092653.ipynb").is_file(), "a second update the same day keeps both"
    assert "    mixture_mean: its task changed in this version; read it before pasting yours" in lines


def test_update_names_a_changed_todo_line_and_the_written_answers_to_carry_over(tmp_path, course):
    work = tmp_path / "work"
    copy_new(work, course)
    fill_in(work)
    change_upstream(course, "# TODO: weight each component", "# TODO: weight every component")
    assert "    mixture_mean: its task changed in this version; read it before pasting yours" in update(
        TOPIC, work, course, now=NOW)
    other = "05_image_clustering"
    for suffix in (".ipynb", ".py"):
        for folder, old, new in ((work, "*Your answer here.*", "Noise with the image's colours."),
                                 (course, "Explain in one to three sentences", "Explain in two sentences")):
            path = folder / f"{other}{suffix}"
            path.write_text(path.read_text().replace(old, new))
    lines = update(other, work, course, now=NOW)
    assert lines[-1] == "  carry over your written answers: 'Task 5: what does the sampled image show?'"


def test_update_with_nothing_written_and_for_a_missing_topic(tmp_path, course):
    work = tmp_path / "work"
    copy_new(work, course)
    change_upstream(course)
    assert update(TOPIC, work, course, now=NOW)[-1] == \
        "  you had not changed any function nor written an answer, so there is nothing to carry over"
    for suffix in (".ipynb", ".py"):
        (work / f"{TOPIC}{suffix}").unlink()
    assert update(TOPIC, work, course, now=NOW) == [f"{TOPIC}: copied the exercise into {work}/{TOPIC}.ipynb"]


def test_topics_are_named_by_number_or_name():
    assert resolve("3") == resolve("03") == resolve(TOPIC) == TOPIC
    with pytest.raises(ValueError, match="'99' is not a topic of the course"):
        resolve("99")


def test_the_commands_print_for_the_student(tmp_path, capsys):
    work = tmp_path / "work"
    assert main_status(work) == 0
    assert f"  {TOPIC}" in capsys.readouterr().out
    assert main_update(["nonsense"], work) == 2
    assert "is not a topic of the course" in capsys.readouterr().err


def test_the_course_tools_ignore_work():
    config = {line.split("=")[0].strip(): line for line in (ROOT / "pyproject.toml").read_text().splitlines()}
    assert '"work"' in config["norecursedirs"] and '"work"' in config["extend-exclude"]
    assert "work/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.full_course
def test_the_check_of_the_exercises_points_to_solutions_and_never_invites_overwriting(tmp_path, course, capsys,
                                                                                     monkeypatch):
    import latent_course.tools.cli as command

    (course / f"{TOPIC}.py").write_text("# %%\nmy own edit\n")
    monkeypatch.setattr(command, "NOTEBOOKS", course)
    assert command.main(["exercises", "--check"]) == 1
    message = capsys.readouterr().err
    assert f"{TOPIC}.py differs from what the generator makes of solutions/" in message
    assert "work/" in message and "python -m latent_course exercises" not in message and "make exercises" not in message


def snapshot(folder):
    return sorted((path.relative_to(folder), path.is_symlink(), path.is_dir()) for path in folder.rglob("*"))


@pytest.mark.parametrize("kind, message", [
    ("file", "is a file, not a folder"), ("dangling link", "is a link to nothing"),
    ("folder as notebook", "is a folder where your notebook should be"),
    ("dangling notebook link", "is a link to nothing"), ("record a file", "the course's folder of records")])
def test_a_work_that_is_not_usable_gets_a_clear_message_and_nothing_is_written(tmp_path, course, capsys, kind,
                                                                               message):
    work = tmp_path / "work"
    if kind == "file":
        work.write_text("not a folder")
    elif kind == "dangling link":
        work.symlink_to(tmp_path / "nowhere")
    else:
        copy_new(work, course)
        path = {"folder as notebook": work / f"{TOPIC}.py", "dangling notebook link": work / f"{TOPIC}.ipynb",
                "record a file": work / ".course"}[kind]
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        if kind == "folder as notebook":
            path.mkdir()
        elif kind == "dangling notebook link":
            path.symlink_to(tmp_path / "nowhere.ipynb")
        else:
            path.write_text("records")
        change_upstream(course)
    before = snapshot(tmp_path)
    assert main_status(work) == 2
    assert message in capsys.readouterr().err
    assert main_update([TOPIC], work) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(WorkError, match=message):
        copy_new(work, course)
    assert cli_main(["progress", str(work)]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(tmp_path) == before
