"""Finding what each student handed in: folders, loose files, zip archives and learning-management-system names.

`SUBMISSIONS` (a folder, or a zip archive of one) holds one folder, one notebook or one zip archive per student.
A student's id is the folder's or the file's name, or, with ``--id-pattern``, the named group ``student`` of a
regular expression matched against the file's name (for downloads such as
``smithjohn_12345_67890_03_mixture_moments.ipynb``: ``--id-pattern '^(?P<student>[a-z]+)_\\d+'``). Archives are
unpacked into a temporary folder (no path outside it, no links, at most ``MAX_UNPACKED_BYTES`` and
``MAX_MEMBERS`` members). Each notebook is matched to its topic by its file name, or else by its cells (the cells
it shares with each topic's exercise notebook). A link is followed only when it stays inside its student's own
folder; every file that is not graded gets a row saying why.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..notebook import first_line, read_cells
from ..topics import topics
from .solutions import NOTEBOOKS

__all__ = ["IGNORED", "MAX_MEMBERS", "MAX_UNPACKED_BYTES", "Job", "Row", "SubmissionError", "find_notebooks",
           "match_topic", "plan", "unpacked", "student_id"]

IGNORED = "ignored"
"""The status of a file-level row: a file that was not graded (duplicate, unknown topic, not a notebook, ...)."""
MAX_UNPACKED_BYTES = 512 * 2**20
MAX_MEMBERS = 20_000


class SubmissionError(ValueError):
    """Submissions that cannot be read at all (a damaged archive, a bad id pattern)."""


@dataclass(frozen=True)
class Row:
    """One row of the long CSV: a student's task, or (``task == ""``) a file that was not graded."""

    student: str
    topic: str
    task: str
    status: str
    detail: str
    file: str


@dataclass(frozen=True)
class Job:
    """A notebook to grade: its student, topic, file (relative to the submissions), cells (None if unreadable, then
    `problem` says why) and a note for its rows."""

    student: str
    topic: str
    file: Path
    cells: list | None
    problem: str


def _visible(path: Path) -> bool:
    return not any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def student_id(name: str, pattern: re.Pattern | None) -> str:
    """The student's id for a top-level entry called `name`: its name without suffix, or `pattern`'s group
    ``student`` when it matches."""
    stem = Path(name).stem
    if pattern is None:
        return stem
    match = pattern.search(name)
    return match["student"] if match and match["student"] else stem


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def find_notebooks(submissions: Path, pattern: re.Pattern | None = None) -> tuple[dict[str, list[Path]], list[Row]]:
    """For each student, the files they handed in (relative to `submissions`), and rows for what was skipped.

    A ``.py`` file beside an ``.ipynb`` of the same name is the notebook's Jupytext twin and is left out; hidden
    files and folders (``.ipynb_checkpoints``) are skipped; a link that leaves its student's folder is not read.
    """
    submissions = Path(submissions)
    students: dict[str, list[Path]] = {}
    skipped = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        student = student_id(entry.name, pattern) if not entry.is_dir() else entry.name
        if entry.is_symlink() and not _inside(entry, submissions):
            skipped.append(Row(student, "", "", IGNORED, "a link to a file outside the submissions: not read",
                               entry.name))
            continue
        if entry.is_dir():
            files, links_out = [], []
            for path in sorted(entry.rglob("*")):
                relative = path.relative_to(submissions)
                if not _visible(relative) or not path.is_file():
                    continue
                (files if _inside(path, entry) else links_out).append(relative)
            students.setdefault(student, []).extend(
                path for path in files if not (path.suffix == ".py" and path.with_suffix(".ipynb") in files))
            skipped += [Row(student, "", "", IGNORED, "a link out of the student's own folder: not read",
                            path.as_posix()) for path in links_out]
        else:
            students.setdefault(student, []).append(entry.relative_to(submissions))
    return students, skipped


def _exercise_cells() -> dict[str, set[str]]:
    return {topic: {source.strip() for _, source in read_cells(NOTEBOOKS / f"{topic}.ipynb") if source.strip()}
            for topic in topics()}


def match_topic(path: Path, cells: list[tuple[str, str]] | None, exercises: dict[str, set[str]]) -> str | None:
    """The topic of the notebook at `path`: the topic named in the file name, or else the topic whose exercise
    shares the most cells with `cells` (at least two); ``None`` if neither tells."""
    named = [topic for topic in exercises if topic in path.name]
    if len(named) == 1:
        return named[0]
    if cells is None:
        return None
    sources = {source.strip() for _, source in cells if source.strip()}
    shared = {topic: len(sources & exercise) for topic, exercise in exercises.items()}
    best = max(shared, key=shared.get, default=None)
    if best is None or shared[best] < 2 or list(shared.values()).count(shared[best]) > 1:
        return None
    return best


def _preference(path: Path, topic: str) -> tuple:
    # The notebook to grade among several for one topic: the one named exactly like the topic, an .ipynb, then
    # the shortest name ("03_mixture_moments-Copy1.ipynb" loses).
    return (topic not in path.stem or not path.stem.endswith(topic), path.suffix != ".ipynb", len(path.name),
            str(path))


def plan(submissions: Path, pattern: re.Pattern | None = None) -> tuple[list[Row], list[Job], list[str]]:
    """The rows of files not graded, the notebooks to grade (at most one per student and topic), and the
    students in order."""
    exercises = _exercise_cells()
    found, rows = find_notebooks(submissions, pattern)
    jobs = []
    for student, files in found.items():
        if not files and not any(row.student == student for row in rows):
            rows.append(Row(student, "", "", IGNORED, "the folder holds no file", student + "/"))
        chosen: dict[str, list[tuple[Path, list | None, str]]] = {}
        for file in files:
            if file.suffix not in (".ipynb", ".py"):
                rows.append(Row(student, "", "", IGNORED, f"not a notebook ({file.suffix or 'no suffix'})",
                                file.as_posix()))
                continue
            try:
                cells, problem = read_cells(submissions / file), ""
            except (ValueError, OSError) as error:
                cells, problem = None, first_line(error)
            topic = match_topic(file, cells, exercises)
            if topic is None:
                rows.append(Row(student, "", "", IGNORED, problem or "cannot tell which topic this notebook is "
                                "(its name names none, and its cells match no exercise)", file.as_posix()))
                continue
            if file.suffix == ".py" and not problem:
                problem = "graded from a .py file (no .ipynb handed in)"
            chosen.setdefault(topic, []).append((file, cells, problem))
        for topic, candidates in chosen.items():
            candidates.sort(key=lambda candidate: _preference(candidate[0], topic))
            file, cells, problem = candidates[0]
            jobs.append(Job(student, topic, file, cells, problem))
            rows.extend(Row(student, topic, "", IGNORED, f"duplicate: {file.as_posix()} was graded for this topic",
                            other.as_posix()) for other, _, _ in candidates[1:])
    students = list(dict.fromkeys([*found, *(row.student for row in rows)]))
    return rows, jobs, students


def _unpack(archive: Path, destination: Path) -> None:
    """Unpack the zip `archive` into `destination`, refusing what could reach outside it or fill the disk."""
    try:
        with zipfile.ZipFile(archive) as opened:
            members = opened.infolist()
            if len(members) > MAX_MEMBERS or sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise SubmissionError(f"{archive.name}: more than {MAX_MEMBERS} files or "
                                      f"{MAX_UNPACKED_BYTES >> 20} MiB unpacked")
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                if name.is_absolute() or ".." in name.parts or is_link or member.is_dir():
                    continue
                target = destination.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with opened.open(member) as source, target.open("wb") as copy:
                    shutil.copyfileobj(source, copy)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise SubmissionError(f"{archive.name}: not a readable zip archive ({error})") from None


class unpacked:  # noqa: N801 - used as a context manager, like tempfile.TemporaryDirectory
    """``with unpacked(SUBMISSIONS) as folder``: the submissions as a folder in which every zip archive (the whole
    class, or one student's) is unpacked; a plain folder without archives is used as it is."""

    def __init__(self, submissions: Path, pattern: re.Pattern | None = None):
        self.submissions, self.pattern, self.temporary = Path(submissions), pattern, None

    def __enter__(self) -> Path:
        archives = ([self.submissions] if self.submissions.is_file() else
                    [path for path in sorted(self.submissions.iterdir()) if path.suffix.lower() == ".zip"
                     and path.is_file() and _inside(path, self.submissions)])
        if not archives:
            return self.submissions
        self.temporary = tempfile.TemporaryDirectory(prefix="latent-course-submissions-")
        folder = Path(self.temporary.name)
        try:
            if self.submissions.is_file():
                _unpack(self.submissions, folder)
                roots = [path for path in folder.iterdir() if _visible(Path(path.name))]
                if len(roots) == 1 and roots[0].is_dir():  # an archive of the folder itself
                    folder = roots[0]
                return folder
            for entry in sorted(self.submissions.iterdir()):
                if entry in archives:
                    _unpack(entry, folder / student_id(entry.name, self.pattern))
                elif entry.is_dir() and not entry.is_symlink():
                    shutil.copytree(entry, folder / entry.name, symlinks=True)
                elif not entry.is_symlink():
                    shutil.copy2(entry, folder / entry.name)
        except BaseException:
            self.temporary.cleanup()
            raise
        return folder

    def __exit__(self, *exc) -> None:
        if self.temporary is not None:
            self.temporary.cleanup()
