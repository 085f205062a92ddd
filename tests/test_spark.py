"""The Spark helpers of topic 06: what is missing is said clearly, and bad ratings are refused before Spark starts.

The helpers' work with a running Spark is tested by topic 06's notebook under nbval (one Spark start per run).
"""

import stat

import numpy as np
import pytest

from latent_course import spark


def _fake_java(tmp_path, banner):
    """A `java` executable that prints `banner` to stderr, as `java -version` does."""
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return tmp_path


@pytest.mark.parametrize("banner, major", [('openjdk version "17.0.15" 2025-04-15', 17),
                                           ('java version "1.8.0_402"', 8),
                                           ('openjdk version "21" 2023-09-19', 21)])
def test_java_version_reads_the_major_version(tmp_path, monkeypatch, banner, major):
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, banner)))
    assert spark.java_version() == major


def test_an_old_java_is_named_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path, 'openjdk version "11.0.2" 2019-01-15')))
    reason = spark.spark_unavailable()
    assert "found Java 11" in reason and "openjdk-17" in reason


def test_a_missing_java_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name: object())
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "Java was not found" in spark.spark_unavailable()


def test_a_missing_pyspark_stops_the_session_with_the_install_command(monkeypatch):
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(spark.SparkUnavailable, match=r'pip install -e "\.\[spark\]"') as stop:
        spark.spark_session()
    assert isinstance(stop.value, SystemExit)


@pytest.mark.parametrize("users, items, values, match", [
    ([0, 1], [0], [4.0, 5.0], "same length"),
    ([0, -1], [0, 1], [4.0, 5.0], "users must be non-negative"),
    ([0, 1], [0, 2**31], [4.0, 5.0], "items must be non-negative integers below 2"),
    ([0, 1.5], [0, 1], [4.0, 5.0], "users must be"),
])
def test_ratings_dataframe_refuses_bad_ids_before_starting_spark(users, items, values, match):
    with pytest.raises(ValueError, match=match):
        spark.ratings_dataframe(None, np.array(users), np.array(items), np.array(values))



def test_local_mode_binds_the_driver_to_the_loopback(monkeypatch):
    for name in ["SPARK_LOCAL_IP", "SPARK_LOCAL_HOSTNAME"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(spark, "_hostname_resolves", lambda: True)
    assert spark._loopback_driver("local[2]") and not spark._loopback_driver("spark://head-node:7077")


def test_an_unresolvable_host_name_falls_back_to_the_loopback(monkeypatch):
    for name in ["SPARK_LOCAL_IP", "SPARK_LOCAL_HOSTNAME"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(spark.socket, "gethostname", lambda: "no-such-host.invalid")
    assert not spark._hostname_resolves()
    assert spark._loopback_driver("spark://head-node:7077")


@pytest.mark.parametrize("name, value", [("SPARK_LOCAL_IP", "10.0.0.5"), ("SPARK_LOCAL_HOSTNAME", "worker-1")])
def test_an_address_chosen_by_the_user_is_kept(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    monkeypatch.setattr(spark, "_hostname_resolves", lambda: False)
    assert not spark._loopback_driver("local[2]")
