"""Command line: ``python -m latent_course exercises [--check]`` and ``python -m latent_course execute [NAME ...]``."""

from __future__ import annotations

import argparse
import sys

from .course import NOTEBOOKS, ROOT, SOLUTIONS, execute_solution, topics
from .exercises import MarkerError, generate


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
    args = parser.parse_args(argv)

    if args.command == "exercises":
        try:
            changed = generate(SOLUTIONS, NOTEBOOKS, check=args.check)
        except MarkerError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.check:
            for path in changed:
                print(f"{_relative(path)} differs from what 'python -m latent_course exercises' writes",
                      file=sys.stderr)
            return 1 if changed else 0
        for path in changed:
            print(f"wrote {_relative(path)}")
        return 0

    for name in args.names or topics():
        print(f"executed {_relative(execute_solution(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
