"""The package's two rooms: the runtime (what notebooks import and students run) never imports the course tooling
(``latent_course.tools``: what instructors and maintainers run), never reads ``solutions/``, and has no import
circle."""

import ast
import subprocess
import sys
from pathlib import Path

import latent_course

PACKAGE = Path(latent_course.__file__).parent
RUNTIME = sorted(path for path in PACKAGE.rglob("*.py")
                 if "tools" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module of the package that `path` imports, anywhere in it (inside functions too)."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    known = {_module(other) for other in PACKAGE.rglob("*.py")}
    return {name for name in found if name in known}


def test_the_runtime_never_imports_the_tooling():
    arrows = {_module(path): _imports(path) for path in RUNTIME}
    assert len(arrows) > 10
    into_tooling = {module: sorted(name for name in names if name.startswith("latent_course.tools"))
                    for module, names in arrows.items()}
    assert {module: names for module, names in into_tooling.items() if names} == {}


def test_the_runtime_has_no_import_circle():
    graph = {_module(path): _imports(path) - {_module(path)} for path in RUNTIME}
    # A package's __init__ is imported by its submodules implicitly; only explicit arrows count.
    state: dict[str, str] = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import circle: {' -> '.join([*trail, module])}"
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            visit(target, [*trail, module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])
    assert "latent_course.checks._summary" in graph  # the summary the notebooks call is part of the runtime


def test_the_runtime_never_names_the_solutions_folder():
    for path in RUNTIME:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        constants = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                     and isinstance(node.value, str) and node not in docstrings]
        names = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]
        assert "SOLUTIONS" not in names, path
        assert not [value for value in constants if "solutions" in value.split("/")], path


def _docstrings(tree):
    """The docstring nodes of a module, its classes and functions (one walk of the tree)."""
    return {owner.body[0].value for owner in ast.walk(tree)
            if isinstance(owner, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
            and owner.body and isinstance(owner.body[0], ast.Expr)}


def test_the_runtime_works_with_the_tooling_made_unimportable(tmp_path):
    """Every runtime module imports, and a notebook's summary runs, when ``latent_course.tools`` cannot be
    imported and there is no ``solutions/`` beside the package's caller."""
    script = tmp_path / "runtime_only.py"
    modules = sorted(_module(path) for path in RUNTIME)
    script.write_text(f'''
import importlib, sys

class NoTooling:
    def find_spec(self, name, path=None, target=None):
        if name == "latent_course.tools" or name.startswith("latent_course.tools."):
            raise ImportError("the runtime imported the tooling: " + name)

sys.meta_path.insert(0, NoTooling())
for name in {modules!r}:
    if name != "latent_course.spark" or importlib.util.find_spec("pyspark"):
        importlib.import_module(name)
from latent_course import checks
from latent_course.topics import tasks, topics
assert len(topics()) >= 6 and tasks("03_mixture_moments") == ("mixture_mean", "mixture_covariance")

def mixture_mean(pi, mu):
    return pi @ mu

def mixture_covariance(pi, mu, sigma):
    raise NotImplementedError

checks.summary("03_mixture_moments")
''')
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mixture_mean" in done.stdout and "passed" in done.stdout and "not started" in done.stdout
