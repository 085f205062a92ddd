"""``python -m latent_course``: the course's commands (see :mod:`latent_course.tools.cli`)."""

import sys

from latent_course.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
