"""pyproject.toml, environment.yml and .ci/constraints.txt agree: the same packages, at the versions CI tests."""

import re

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from latent_course.tools.solutions import ROOT

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # the test extra installs it on 3.10

CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
# Conda also installs what pip cannot: the interpreter, pip itself and the Java runtime of the spark extra.
CONDA_ONLY = {"python", "pip", "openjdk"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements() -> list[Requirement]:
    """Every dependency of the course and of its extras."""
    project = _project()
    extras = project["optional-dependencies"].values()
    return [Requirement(text) for text in project["dependencies"] + [text for extra in extras for text in extra]]


def _supported() -> list[str]:
    classifiers = _project()["classifiers"]
    classified = [re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", text) for text in classifiers]
    return [match[1] for match in classified if match]


def _marker_environment(version: str) -> dict:
    return {"python_version": version, "python_full_version": f"{version}.0"}


def _pins(version: str) -> dict[str, str]:
    """The version .ci/constraints.txt pins for every package on Python `version`."""
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(_marker_environment(version)):
                (specifier,) = requirement.specifier
                assert specifier.operator == "==", f"{line}: a constraint pins one version"
                name = canonicalize_name(requirement.name)
                assert name not in pins, f"{name} is pinned twice for Python {version}"
                pins[name] = specifier.version
    return pins


def _conda() -> dict[str, str]:
    """Conda's package names in environment.yml, each with its version specification."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    specs = [re.split(r"(?=[<>=!~ ])", item.split("#")[0].strip(), maxsplit=1)
             for item in environment["dependencies"] if isinstance(item, str)]
    return {canonicalize_name(spec[0]): spec[1].strip() if len(spec) > 1 else "" for spec in specs}


def test_every_dependency_has_a_pin_within_its_range_on_every_supported_python():
    for version in _supported():
        pins = _pins(version)
        for requirement in _requirements():
            if requirement.marker is not None and not requirement.marker.evaluate(_marker_environment(version)):
                continue
            name = canonicalize_name(requirement.name)
            assert name in pins, f"Python {version}: {name} has no pin in .ci/constraints.txt"
            assert requirement.specifier.contains(pins[name]), \
                f"Python {version}: {name}=={pins[name]} is outside pyproject.toml's range {requirement.specifier}"


def test_environment_yml_lists_the_same_packages_as_pyproject_at_the_newest_pythons_pins():
    newest = _supported()[-1]
    needed = {canonicalize_name(requirement.name) for requirement in _requirements()
              if requirement.marker is None or requirement.marker.evaluate(_marker_environment(newest))}
    conda = _conda()
    assert set(conda) - CONDA_ONLY == needed
    pins = _pins(newest)
    assert {name: conda[name] for name in needed} == {name: f"=={pins[name]}" for name in needed}
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert ["-e ."] in [item["pip"] for item in environment["dependencies"] if isinstance(item, dict)]
