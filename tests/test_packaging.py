"""pyproject.toml and environment.yml list the same packages."""

import re

import yaml

from latent_course.tools.solutions import ROOT

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # the test extra installs it on 3.10


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip_names = {_name(r) for r in project["dependencies"] + [r for extra in extras.values() for r in extra]}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    # Conda also installs what pip cannot: the interpreter, pip itself and the Java runtime of the spark extra.
    conda_names = {_name(d) for d in environment["dependencies"] if isinstance(d, str)} - {"python", "pip", "openjdk"}
    assert conda_names == pip_names
    assert ["-e ."] in [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
