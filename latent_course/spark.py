"""Apache Spark for topic 06: a quiet session in local mode or on a cluster, and ratings as a Spark DataFrame.

PySpark is an optional extra (``pip install -e ".[spark]"``) and needs Java 17 or newer. :func:`spark_unavailable`
says what is missing; :func:`spark_session` stops with that message instead of a Java stack trace.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["MIN_JAVA", "SparkUnavailable", "java_version", "ratings_dataframe", "spark_session", "spark_unavailable"]

MIN_JAVA = 17
INSTALL_PYSPARK = ('Install the extra with  pip install -e ".[spark]"  (conda: the course\'s environment.yml has it), '
                   "then restart the kernel.")
INSTALL_JAVA = (f"Install Java {MIN_JAVA} or newer (for example  apt-get install openjdk-{MIN_JAVA}-jre-headless  or  "
                f"conda install -c conda-forge openjdk={MIN_JAVA}) or point JAVA_HOME at one, then restart the kernel.")


class SparkUnavailable(SystemExit):
    """PySpark or a recent enough Java is missing. A ``SystemExit``: IPython shows its message without a
    traceback, and "Run All" stops at the cell."""


def java_version() -> int | None:
    """The major version of the ``java`` that Spark will start ($JAVA_HOME/bin/java, else the one on PATH)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).is_file():
        return None
    try:
        text = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if found is None:
        return None
    major = int(found[1])
    return int(found[2]) if major == 1 and found[2] else major  # "1.8.0" is Java 8


def spark_unavailable() -> str | None:
    """Why Spark cannot run here (with what to install), or None when PySpark and Java are ready."""
    if importlib.util.find_spec("pyspark") is None:
        return f"PySpark is not installed. {INSTALL_PYSPARK}"
    version = java_version()
    if version is None:
        return f"Java was not found (neither $JAVA_HOME/bin/java nor java on the PATH). {INSTALL_JAVA}"
    if version < MIN_JAVA:
        return f"Spark needs Java {MIN_JAVA} or newer, found Java {version}. {INSTALL_JAVA}"
    return None


def _hostname_resolves() -> bool:
    """Whether this machine's host name resolves to an address (in some fresh containers it does not)."""
    try:
        socket.getaddrinfo(socket.gethostname(), None)
    except (OSError, UnicodeError):
        return False
    return True


def _loopback_driver(master: str) -> bool:
    """Whether the driver should bind to 127.0.0.1: always in local mode (nothing outside this machine talks to
    it), and on a cluster only when the host name does not resolve. An address chosen by the user
    (``SPARK_LOCAL_IP`` or ``SPARK_LOCAL_HOSTNAME``) is kept."""
    if os.environ.get("SPARK_LOCAL_IP") or os.environ.get("SPARK_LOCAL_HOSTNAME"):
        return False
    return master.startswith("local") or not _hostname_resolves()


def spark_session(app_name: str = "latent-course", master: str | None = None, driver_memory: str = "2g",
                  partitions: int = 4, checkpoint_dir: str | None = None, ui: bool = False,
                  small_job: bool = True):
    """Start (or return the running) Spark session, with Spark's own log noise silenced.

    Parameters
    ----------
    app_name : str
        The name the cluster's user interface shows.
    master : str, optional
        Where to run: ``"local[2]"`` (this machine, two threads), ``"spark://host:7077"``, ``"yarn"``,
        ``"k8s://..."``. By default the environment variable ``SPARK_MASTER``, else ``"local[2]"``.
    driver_memory : str
        The memory of the driver's JVM, which in local mode does all the work.
    partitions : int
        ``spark.sql.shuffle.partitions`` and, in local mode, ``spark.default.parallelism``: Spark's default of 200
        shuffle partitions is made for clusters; a few per core suits one machine.
    checkpoint_dir : str, optional
        Where iterative jobs such as ALS write checkpoints, which cut the lineage of their data every few iterations
        (without it, a long lineage overflows the stack when tasks are serialised). By default a new temporary
        directory, which suits local mode; on a cluster, a directory on shared storage (``hdfs://...``).
    ui : bool
        Whether, in local mode, to start Spark's web UI (jobs, stages, storage; http://localhost:4040 by default). Off
        by default, which saves a little of the start-up; a cluster's session always has it.
    small_job : bool
        In local mode, tune the driver's JVM for a short job on small data: only its quick compiler (C1,
        ``-XX:TieredStopAtLevel=1``) and the serial garbage collector, which about halves the CPU time of topic 06's
        notebook (most of a short session's CPU goes into compiling Spark's code). Pass False for long fits on large
        data, where the optimising compiler pays off (``benchmarks/als.py`` does).

    Returns
    -------
    spark : pyspark.sql.SparkSession

    Notes
    -----
    In local mode the driver binds to 127.0.0.1, so that Spark starts in containers whose host name does not
    resolve and opens no port beyond the loopback; on a cluster the same fallback applies only when the host name
    does not resolve. ``SPARK_LOCAL_IP`` or ``SPARK_LOCAL_HOSTNAME``, if set, take precedence.

    Raises
    ------
    SparkUnavailable
        If PySpark or Java 17+ is missing; the message says what to install.
    """
    reason = spark_unavailable()
    if reason is not None:
        raise SparkUnavailable(reason)
    from pyspark.sql import SparkSession

    master = master or os.environ.get("SPARK_MASTER", "local[2]")
    local = master.startswith("local")
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.driver.memory", driver_memory)
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.extraJavaOptions", "-Xss16m"))  # deep lineages serialise recursively
    if local:  # one small job on this machine: RDD operations in as many partitions as the shuffles, no web UI
        builder = (builder.config("spark.default.parallelism", str(partitions))
                   .config("spark.ui.enabled", "true" if ui else "false"))
        if small_job:
            builder = builder.config("spark.driver.extraJavaOptions",
                                     "-Xss16m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    # The JVM looks up the host name when it starts, unless SPARK_LOCAL_IP names the address (read then).
    loopback = _loopback_driver(master)
    if loopback:
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    # The JVM writes its start-up log and native-library notices to the process's own stdout and stderr, which a
    # notebook kernel forwards into the running cell: start it with both pointed at /dev/null.
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        if loopback:
            os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        spark = builder.getOrCreate()
    finally:
        if loopback:
            os.environ.pop("SPARK_LOCAL_IP", None)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in [*saved, devnull]:
            os.close(fd)
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(checkpoint_dir or tempfile.mkdtemp(prefix="spark-checkpoints-"))
    return spark


def ratings_dataframe(spark, users, items, values, directory: str | os.PathLike | None = None):
    """The ratings as a Spark DataFrame with columns user (int), item (int) and rating (float).

    The arrays are written to a CSV file that Spark reads with a fixed schema: much faster than sending Python
    objects through ``spark.createDataFrame``. The file must be visible to every executor, which holds in local
    mode; on a cluster, write the ratings to shared storage as Parquet once and read them with
    ``spark.read.parquet``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    users, items : np.ndarray of int, shape (n,)
        0-based indices (Spark's ALS needs ids that fit in a 32-bit integer).
    values : np.ndarray of float, shape (n,)
    directory : path, optional
        Where to write the file; a new temporary directory by default.

    Returns
    -------
    ratings : pyspark.sql.DataFrame
        Cached, so that the file is read once.
    """
    users, items = np.asarray(users), np.asarray(items)
    values = np.asarray(values, dtype=float)
    if not (users.shape == items.shape == values.shape and users.ndim == 1):
        raise ValueError(f"users, items and values must be 1-D arrays of the same length, got shapes {users.shape}, "
                         f"{items.shape} and {values.shape}")
    for name, ids in [("users", users), ("items", items)]:
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int32).max or np.any(ids != np.round(ids))):
            raise ValueError(f"{name} must be non-negative integers below 2**31 (Spark's ALS uses 32-bit ids)")
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    path = Path(directory or tempfile.mkdtemp(prefix="ratings-")) / "ratings.csv"
    np.savetxt(path, np.column_stack([users, items, values]), fmt=["%d", "%d", "%.9g"], delimiter=",")
    schema = StructType([StructField("user", IntegerType(), False), StructField("item", IntegerType(), False),
                         StructField("rating", FloatType(), False)])
    return spark.read.csv(str(path), schema=schema).cache()
