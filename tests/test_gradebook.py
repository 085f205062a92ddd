"""What grading hands an instructor: points, one row per student, feedback, written answers to mark, and every
bad option refused before any work."""

import csv
import os
import zipfile

import pytest
from test_grading import RIGHT_COVARIANCE, notebook

from latent_course.tools.cli import main
from latent_course.tools.gradebook import answer_in, read_points, spreadsheet_safe
from latent_course.tools.solutions import NOTEBOOKS
from latent_course.topics import written

pytestmark = pytest.mark.full_course

TOPIC, OTHER = "03_mixture_moments", "05_image_clustering"
QUESTION = written(OTHER)[0]


def topic03(mean="return pi @ mu", covariance=RIGHT_COVARIANCE) -> str:
    return notebook([("code", "import numpy as np\nfrom latent_course import checks"),
                     ("code", f"def mixture_mean(pi, mu):\n    {mean}"), ("code", "checks.mixture_mean(mixture_mean)"),
                     ("code", f"def mixture_covariance(pi, mu, sigma):\n    {covariance}"),
                     ("code", "checks.mixture_covariance(mixture_covariance)")])


def topic05(answer: str) -> str:
    """Topic 05 with only the written question answered (its tasks are not defined: graded "error")."""
    return notebook([("markdown", f"{QUESTION['prompt']}\n\n{answer}")])


CLASS = {  # file name inside the class folder: content
    "amy/03_mixture_moments.ipynb": topic03(),
    "amy/05_image_clustering.ipynb": topic05("It is noise with the image's colours: pixels are independent."),
    "ben/03_mixture_moments.ipynb": topic03(covariance="return sigma.sum(axis=0)"),
    "ben/05_image_clustering.ipynb": topic05("*Your answer here.*"),
    "=HYPERLINK(1)/03_mixture_moments.ipynb": topic03(mean="return mu.mean(axis=0)"),
}
POINTS = '[points.03_mixture_moments]\nmixture_mean = 2\nmixture_covariance = 3\n\n[points.05_image_clustering]\n' \
         f'"{QUESTION["question"]}" = 4\n'


def write_class(folder):
    for name, content in CLASS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    return folder


def read(path):
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("gradebook")
    write_class(root / "class")
    (root / "grading.toml").write_text(POINTS)
    out = root / "results" / "grades.csv"
    out.parent.mkdir()
    assert main(["grade", str(root / "class"), "--out", str(out), "--points", str(root / "grading.toml"),
                 "--seed", "1", "--time-limit", "20"]) == 0
    return root, out


def test_one_row_per_student_with_points_total_and_maximum(graded):
    _, out = graded
    rows = {row["student"]: row for row in read(out.with_name("grades-totals.csv"))}
    assert list(rows) == ["'=HYPERLINK(1)", "amy", "ben"]  # a formula stays text
    column = f"{OTHER}:{QUESTION['question']}"
    assert rows["amy"][f"{TOPIC}:mixture_mean"] == "2" and rows["amy"][f"{TOPIC}:mixture_covariance"] == "3"
    assert rows["ben"][f"{TOPIC}:mixture_covariance"] == "0"
    assert rows["amy"][column] == "" and rows["'=HYPERLINK(1)"][column] == "0"  # not marked yet; not handed in
    assert rows["amy"]["total"] == "5" and rows["amy"]["maximum"] == "13"  # 2 + 3 + 4 x 1 (05's tasks) + 4


def test_each_student_gets_feedback_with_the_checks_message(graded):
    _, out = graded
    feedback = out.with_name("grades-feedback")
    assert sorted(path.name for path in feedback.iterdir()) == ["_HYPERLINK_1_.md", "amy.md", "ben.md"]
    ben = (feedback / "ben.md").read_text()
    assert "**mixture_covariance**: 0 of 3 points (failed: mixture_covariance:" in ben
    assert "**mixture_mean**: 2 of 2 points (passed)" in ben
    assert f"**{QUESTION['question']}** (written): not marked yet, of 4 points" in ben
    assert "**Total: 2 of 13 points.**" in ben


def test_written_answers_are_marked_in_a_review_file_and_read_back(graded):
    root, out = graded
    review = next(out.with_name("grades-review").iterdir())
    rows = read(review)
    assert [(row["student"], row["answer"]) for row in rows] == [
        ("amy", "It is noise with the image's colours: pixels are independent."), ("ben", "")]
    with review.open("w", encoding="utf-8", newline="") as file:  # the instructor marks amy's answer
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([{**rows[0], "points": "3", "comment": "Say why neighbours are unrelated."}, rows[1]])
    (root / "class" / "amy" / "05_image_clustering.ipynb").write_text(topic05("Noise."))
    assert main(["grade", str(root / "class"), "--out", str(out), "--points", str(root / "grading.toml"),
                 "--seed", "1", "--time-limit", "20"]) == 0
    amy = next(row for row in read(out.with_name("grades-totals.csv")) if row["student"] == "amy")
    assert amy["total"] == "8"
    marked = read(review)[0]
    assert (marked["points"], marked["answer"], marked["answer changed since marked"]) == ("3", "Noise.", "yes")
    amy_feedback = (out.with_name("grades-feedback") / "amy.md").read_text()
    assert "3 of 4 points: Say why neighbours are unrelated." in amy_feedback


def test_a_mark_that_is_not_a_number_is_refused_before_grading(tmp_path, capsys):
    write_class(tmp_path / "class")
    (tmp_path / "grades-review").mkdir()
    (tmp_path / "grades-review" / "05_image_clustering--task-5.csv").write_text(
        "student,answer,points,comment,answer changed since marked\namy,Noise.,three,,\n")
    assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "grades.csv")]) == 2
    assert "row 2 (amy): points should be a number >= 0, got 'three'" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()


def test_a_zip_of_the_class_and_lms_file_names_grade_alike(tmp_path):
    flat = {"smithjohn_1234_5678_03_mixture_moments.ipynb": topic03(),
            "doejane_9876_5432_03_mixture_moments.ipynb": topic03(mean="return mu.mean(axis=0)")}
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        for name, content in flat.items():
            opened.writestr(name, content)
        opened.writestr("../escape.ipynb", topic03())  # refused: outside the archive's folder
    out = tmp_path / "grades.csv"
    assert main(["grade", str(archive), "--out", str(out), "--id-pattern", r"^(?P<student>[a-z]+)_\d+",
                 "--time-limit", "20", "--seed", "1"]) == 0
    statuses = {(row["student"], row["task"]): row["status"] for row in read(out)}
    assert statuses == {("doejane", "mixture_mean"): "failed", ("doejane", "mixture_covariance"): "passed",
                        ("smithjohn", "mixture_mean"): "passed", ("smithjohn", "mixture_covariance"): "passed"}
    assert not (tmp_path.parent / "escape.ipynb").exists()


def test_a_link_out_of_the_students_folder_is_not_read(tmp_path):
    (tmp_path / "class" / "eve").mkdir(parents=True)
    (tmp_path / "secret.ipynb").write_text(topic03())
    os.symlink(tmp_path / "secret.ipynb", tmp_path / "class" / "eve" / "03_mixture_moments.ipynb")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(tmp_path / "class"), "--out", str(out), "--seed", "1"]) == 0
    assert [(row["student"], row["status"], row["detail"]) for row in read(out)] == [
        ("eve", "ignored", "a link out of the student's own folder: not read")]


@pytest.mark.parametrize("options, message", [
    (["--jobs", "0"], "--jobs should be a whole number >= 1"),
    (["--jobs", "-1"], "--jobs should be a whole number >= 1"),
    (["--time-limit", "0"], "time_limit should be a positive number"),
    (["--time-limit", "inf"], "time_limit should be a positive number"),
    (["--time-limit", "nan"], "time_limit should be a positive number"),
    (["--memory-limit", "0"], "memory_limit_mb should be a positive number"),
    (["--out", "{tmp}/missing/grades.csv"], "no folder"),
    (["--out", "{tmp}"], "is a folder"),
    (["--id-pattern", "(unclosed"], "--id-pattern"),
    (["--id-pattern", "[a-z]+"], "needs a named group (?P<student>...)"),
    (["--points", "{tmp}/bad.toml"], "no such task or question"),
])
def test_every_bad_option_is_refused_before_any_grading(tmp_path, capsys, options, message):
    write_class(tmp_path / "class")
    (tmp_path / "bad.toml").write_text("[points.03_mixture_moments]\nmixture_median = 1\n")
    options = [option.format(tmp=tmp_path) for option in options]
    if "--out" not in options:
        options += ["--out", str(tmp_path / "grades.csv")]
    assert main(["grade", str(tmp_path / "class"), *options]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()


def test_a_link_as_out_is_refused(tmp_path, capsys):
    write_class(tmp_path / "class")
    (tmp_path / "instructor.txt").write_text("keep me")
    os.symlink(tmp_path / "instructor.txt", tmp_path / "grades.csv")
    assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "grades.csv")]) == 2
    assert "is a link" in capsys.readouterr().err and (tmp_path / "instructor.txt").read_text() == "keep me"


@pytest.mark.parametrize("text, message", [
    ("[points.99_nothing]\na = 1\n", "no such topic"), ("[points.03_mixture_moments]\nmixture_mean = -1\n", ">= 0"),
    ("[points.03_mixture_moments]\nmixture_mean = 'two'\n", ">= 0"), ("points = [", "03"),
    ("[weights]\n", "only a [points] table")])
def test_a_points_file_is_checked(tmp_path, text, message):
    path = tmp_path / "grading.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match="grading.toml"):
        read_points(path)
    if message != "03":
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            read_points(path)


def test_an_answer_is_found_in_its_cell_or_the_cells_below():
    prompt = QUESTION["prompt"]
    assert answer_in([("markdown", f"{prompt}\n\nNoise.")], QUESTION) == "Noise."
    assert answer_in([("markdown", f"{prompt}\n\n*Your answer here.*"), ("markdown", "Noise, below."),
                      ("code", "x = 1"), ("markdown", "Not an answer.")], QUESTION) == "Noise, below."
    assert answer_in([("markdown", f"{prompt}\n\n*Your answer here.*")], QUESTION) == ""
    assert answer_in([(kind, source) for kind, source in []], QUESTION) == ""
    exercise = [(kind, source) for kind, source in
                __import__("latent_course.notebook", fromlist=["read_cells"]).read_cells(
                    NOTEBOOKS / f"{OTHER}.ipynb")]
    assert answer_in(exercise, QUESTION) == ""


def test_spreadsheet_formulas_stay_text():
    assert [spreadsheet_safe(text) for text in ("=1+1", "+1", "-x", "@a", "\tx", "amy", "-1.5")] == [
        "'=1+1", "'+1", "'-x", "'@a", "'\tx", "amy", "'-1.5"]
