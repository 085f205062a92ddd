"""The command line on unusual installs and bad arguments: a clear message and a non-zero exit, nothing written."""

import os
import shutil
import subprocess
import sys

import pytest

from latent_course.tools.cli import main
from latent_course.tools.solutions import ROOT, SOLUTIONS, execute_solution


def _run(site, *arguments, cwd):
    """Run the command line with the package imported from `site` (a copy of the package and what lies beside it)."""
    environment = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "latent_course", *arguments], capture_output=True, text=True,
                          cwd=cwd, env=environment, timeout=120)


@pytest.fixture
def package_alone(tmp_path):
    """What a plain (non-editable) install leaves: the package in site-packages, without the course's folders."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "latent_course", site / "latent_course", ignore=shutil.ignore_patterns("__pycache__"))
    return site


@pytest.mark.parametrize("arguments", [["exercises"], ["exercises", "--check"], ["execute"],
                                       ["execute", "03_mixture_moments"]])
def test_without_the_course_folders_the_commands_say_where_the_course_must_be(package_alone, tmp_path, arguments):
    result = _run(package_alone, *arguments, cwd=tmp_path)
    assert result.returncode == 2, result
    assert f"no course found: the solved notebooks (solutions/NN_topic.py) must be in {package_alone / 'solutions'}" \
        in result.stderr
    assert "pip install -e ." in result.stderr
    assert sorted(path.name for path in package_alone.iterdir()) == ["latent_course"]  # no empty notebooks/


def test_a_marker_typo_in_a_copy_of_the_course_stops_the_generator_and_writes_nothing(package_alone, tmp_path):
    shutil.copytree(SOLUTIONS, package_alone / "solutions", ignore=shutil.ignore_patterns("*.ipynb"))
    source = package_alone / "solutions" / "03_mixture_moments.py"
    lines = source.read_text().splitlines(keepends=True)
    line = next(number for number, text in enumerate(lines, start=1) if text.strip() == "### END SOLUTION")
    lines[line - 1] = lines[line - 1].replace("### END SOLUTION", "## END SOLUTION")
    source.write_text("".join(lines))
    for arguments in (["exercises"], ["exercises", "--check"]):
        result = _run(package_alone, *arguments, cwd=tmp_path)
        assert result.returncode == 2, result
        assert result.stderr.startswith(f"error: solutions/03_mixture_moments.py:{line}: '## END SOLUTION' looks like")
        assert not (package_alone / "notebooks").exists()


@pytest.mark.parametrize("name", ["../../elsewhere/x", "../elsewhere/x", "/tmp/x", "03_mixture_moments.py",
                                  "solutions/03_mixture_moments", "99_missing"])
def test_execute_accepts_topic_names_only(capsys, name):
    assert main(["execute", name]) == 2
    error = capsys.readouterr().err
    assert f"error: {name!r} not a topic; give topic names, one of: 01_" in error


def test_execute_solution_never_writes_outside_its_folder(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_demo.py").write_text("# %%\nprint(1)\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.py").write_text("# %%\nprint(2)\n")
    with pytest.raises(FileNotFoundError, match="no notebook '../elsewhere/x' .*give a topic name"):
        execute_solution("../elsewhere/x", directory=tmp_path / "solutions")
    assert sorted(path.name for path in (tmp_path / "elsewhere").iterdir()) == ["x.py"]
