"""The Python versions pyproject.toml claims are the ones CI tests."""

import re

import pytest
import yaml

from latent_course.tools.solutions import ROOT

pytestmark = pytest.mark.full_course  # about the solved notebooks or the repository: not in a student edition

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # the test extra installs it on 3.10


def test_the_ci_matrix_tests_every_supported_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    classified = [re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", classifier)
                  for classifier in project["classifiers"]]
    supported = [match[1] for match in classified if match]
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    tested = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert tested == supported, f"ci.yml tests {tested}, pyproject.toml's classifiers say {supported}"
    newest = tuple(int(part) for part in supported[-1].split("."))
    bounds = f">={supported[0]},<{newest[0]}.{newest[1] + 1}"
    assert project["requires-python"] == bounds, f"requires-python should be {bounds}: the versions tested, no other"
    # The conda environment is the newest Python's, with the versions CI pins there (tests/test_packaging.py).
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert f"python={supported[-1]}" in environment["dependencies"], f"environment.yml: python={supported[-1]}"
