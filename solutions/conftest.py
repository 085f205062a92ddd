"""nbval runs every solved notebook here; topic 06 needs the spark extra and Java 17+.

Without them, its cells are skipped with the reason (what to install), except in CI (``CI=true``), where a missing
Spark is a failure: CI installs the extra (see ``.ci/run``).

Every notebook's cells are marked ``slow`` (``make test-fast`` leaves them out). Under pytest-xdist, ``make test``
distributes whole files (``--dist loadfile``), so a notebook's cells run in order, in one kernel, on one worker.
"""

import os

import pytest

from latent_course.spark import spark_unavailable

SPARK_TOPICS = {"06_matrix_factorization_on_spark.ipynb"}
# One BLAS and OpenMP thread per notebook kernel (the kernels inherit this environment). The tests run on one
# pytest-xdist worker per core, and the notebooks' many small matrix products and solves (topic 01's batched ridge
# regressions) get slower, not faster, when OpenBLAS splits each of them over threads. tests/conftest.py does the same.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    spark_items = [item for item in items if item.path.name in SPARK_TOPICS]
    if not spark_items or os.environ.get("CI", "").lower() == "true":
        return
    reason = spark_unavailable()
    if reason is not None:
        for item in spark_items:
            item.add_marker(pytest.mark.skip(reason=reason))
