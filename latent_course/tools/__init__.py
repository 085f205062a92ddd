"""The course tooling that instructors and maintainers run: the exercise generator and solution loader, the
scaffold for new topics, the student edition (``release``), grading, the student's workspace commands and the
command line. It may import the runtime (the rest of :mod:`latent_course`); the runtime never imports it."""
