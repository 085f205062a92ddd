"""The course's commands. For students: lab, status, update, progress. For instructors: grade, exercises, execute,
new, release."""

from __future__ import annotations

import argparse
import sys

from ..topics import MANIFEST, edition
from . import scaffold
from .exercises import ExerciseError, generate
from .solutions import NOTEBOOKS, ROOT, SOLUTIONS, execute_solution, require_course, solution_topics


def _relative(path):
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latent_course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    exercises = commands.add_parser("exercises", help="generate notebooks/ from solutions/")
    exercises.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 if any exercise notebook differs from what would be written")
    execute = commands.add_parser("execute", help="run solved notebooks and save their outputs")
    execute.add_argument("names", nargs="*", help="topics such as 03_mixture_moments (default: all)")
    new = commands.add_parser("new", help="scaffold a topic: solution, check, test, derivation, README row")
    new.add_argument("name", help="the new topic, e.g. 07_example")
    new.add_argument("title", help='its title, e.g. "Example"')
    commands.add_parser("status", help="for each topic: new, up to date in work/, or changed upstream")
    update = commands.add_parser("update", help="keep your notebook under a dated name and copy the new version")
    update.add_argument("topics", nargs="+", help="topics such as 03 or 03_mixture_moments")
    commands.add_parser("lab", help="copy new topics into work/, print the status, start JupyterLab; "
                        "other options go to JupyterLab")
    progress = commands.add_parser("progress", help="which tasks pass, for every topic, in a folder of notebooks")
    progress.add_argument("folder", nargs="?", default=None, help="default: work/")
    release = commands.add_parser("release", help="write the student edition (no solutions) into a new folder")
    release.add_argument("destination", help="a new or empty folder")
    release.add_argument("--topics", nargs="+", default=None, help="topics such as 01 03 (default: all)")
    release.add_argument("--no-notes", dest="notes", action="store_false", help="leave the lecture notes out")
    grade = commands.add_parser("grade", help="grade a class: one folder, notebook or zip archive per student")
    grade.add_argument("submissions", help="the folder (or zip archive) of submissions (only read)")
    grade.add_argument("--out", default="grades.csv", help="the CSV to write (default: grades.csv)")
    grade.add_argument("--jobs", type=int, default=None, help="notebooks graded at a time (default: one per core)")
    grade.add_argument("--seed", type=int, default=None,
                       help="the seed of the hidden cases (default: a new one, printed, for each run)")
    grade.add_argument("--points", default=None,
                       help="a TOML file with the points of tasks and written questions (default: 1 each)")
    grade.add_argument("--id-pattern", default=None,
                       help="a regular expression whose group (?P<student>...) reads the student's id from a file "
                            "name, e.g. '^(?P<student>[^_]+)_' for learning-management-system downloads")
    for command in (progress, grade):
        command.add_argument("--time-limit", type=float, default=None, help="seconds per task")
        command.add_argument("--memory-limit", type=int, default=None, help="MiB per process")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    if args.command in ("status", "update", "lab"):
        from . import workspace

        if args.command == "lab":
            try:
                workspace.check_work(workspace.WORK)
            except workspace.WorkError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            workspace.lab(extra)
        return workspace.main_status() if args.command == "status" else workspace.main_update(args.topics)

    if args.command in ("progress", "grade"):
        from .. import progress
        from . import grading, workspace

        limits = {"time_limit": progress.TASK_TIME_LIMIT if args.time_limit is None else args.time_limit,
                  "memory_limit_mb": progress.MEMORY_LIMIT_MB if args.memory_limit is None else args.memory_limit}
        if args.command == "progress":
            try:
                workspace.check_work(args.folder or workspace.WORK, exists=True)
            except workspace.WorkError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            return progress.main(args.folder or workspace.WORK, **limits)
        return grading.main(args.submissions, args.out, jobs=args.jobs, seed=args.seed, points=args.points,
                            id_pattern=args.id_pattern, **limits)

    if args.command == "new":
        return scaffold.main(args.name, args.title)

    if args.command == "release":
        from .release import main as release_main

        return release_main(args.destination, args.topics, args.notes)

    if args.command in ("exercises", "execute"):
        try:
            require_course()
        except FileNotFoundError as error:
            if edition() == "student" and args.command == "exercises" and args.check:
                print("a student edition: notebooks/ is the course's own copy, with no solutions to generate it "
                      "from; nothing to check")
                return 0
            print(f"error: {error}", file=sys.stderr)
            return 2

    if args.command == "exercises":
        try:
            changed = generate(SOLUTIONS, NOTEBOOKS, check=args.check, manifest=MANIFEST)
        except ExerciseError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.check:
            for path in changed:
                print(f"{_relative(path)} differs from what the generator makes of solutions/: edit solutions/, "
                      "never notebooks/ (students: your own notebooks live in work/, which is never checked)",
                      file=sys.stderr)
            return 1 if changed else 0
        for path in changed:
            print(f"wrote {_relative(path)}")
        return 0

    unknown = [name for name in args.names if name not in solution_topics()]
    if unknown:
        print(f"error: {', '.join(map(repr, unknown))} not a topic; give topic names, "
              f"one of: {', '.join(solution_topics())}", file=sys.stderr)
        return 2
    for name in args.names or solution_topics():
        print(f"executed {_relative(execute_solution(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
