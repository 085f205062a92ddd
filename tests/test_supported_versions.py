"""The Python versions pyproject.toml claims are the ones CI tests."""

import re

import pytest
import yaml

from latent_course.tools.solutions import ROOT

pytestmark = pytest.mark.full_course  # about the solved notebooks or the repository: not in a student edition

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_the_ci_matrix_tests_every_supported_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    classified = [re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", classifier)
                  for classifier in project["classifiers"]]
    supported = [match[1] for match in classified if match]
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    tested = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert tested == supported, f"ci.yml tests {tested}, pyproject.toml's classifiers say {supported}"
    assert project["requires-python"] == f">={supported[0]}", "requires-python and the oldest classifier differ"
