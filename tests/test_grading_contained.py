"""Hostile submissions: none forges a pass, none touches anything but its own row, none outlives grading.

Each student hands in topic 03 with a correct or wrong answer and one trick. The grader runs the notebook in a
contained process (:mod:`latent_course.tools.sandbox`) and the checks in its own (:mod:`latent_course.tools.remote`).
"""

import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_grading import RIGHT_COVARIANCE, notebook

from latent_course.notebook import read_cells
from latent_course.tools import sandbox, wire
from latent_course.tools.grading import grade
from latent_course.tools.solutions import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.full_course,
              pytest.mark.skipif(sys.platform != "linux", reason="containment is Linux's")]

TOPIC = "03_mixture_moments"
RIGHT_MEAN = "return pi @ mu"
WRONG_MEAN = "return np.zeros(mu.shape[1])"


def submission(prelude: str = "", mean: str = RIGHT_MEAN, covariance: str = RIGHT_COVARIANCE, after: str = "") -> str:
    """Topic 03 with `prelude` in a cell before the functions and `after` between mixture_mean and its check."""
    return notebook([
        ("code", "import numpy as np\nfrom latent_course import checks"),
        ("code", prelude or "pass"),
        ("code", f"def mixture_mean(pi, mu):\n    {mean}"),
        ("code", after or "pass"),
        ("code", "checks.mixture_mean(mixture_mean)"),
        ("code", f"def mixture_covariance(pi, mu, sigma):\n    {covariance}"),
        ("code", "checks.mixture_covariance(mixture_covariance)"),
        ("code", 'checks.summary("03_mixture_moments")'),
    ])


@pytest.fixture(scope="module")
def containment():
    return sandbox.probe()


def require(containment, feature: str) -> None:
    """Skip where this machine's kernel cannot apply `feature` (a container without Landlock, say)."""
    if not any(feature in applied for applied in containment.applied):
        pytest.skip(f"{feature} is not available here: {containment.describe()}")


def test_landlock_is_applied_wherever_the_kernel_offers_it(containment):
    assert containment.applied[0].startswith("limits")
    if sandbox.landlock_abi() == 0:
        pytest.skip(f"this kernel offers no Landlock: {containment.describe()}")
    assert any(applied.startswith("Landlock ABI") for applied in containment.applied), containment.describe()


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    return {"submissions": root / "submissions", "outside": root / "outside", "listener": socket.create_server(
        ("127.0.0.1", 0))}


def hostile_class(places) -> dict[str, str]:
    submissions, outside = places["submissions"], places["outside"]
    victim = submissions / "victim" / f"{TOPIC}.ipynb"
    port = places["listener"].getsockname()[1]
    return {
        "victim": submission(),
        "patches_the_checks": submission(
            "import latent_course.checks._framework as framework\nframework.check_close = lambda *a, **k: a[1]",
            mean=WRONG_MEAN),
        "patches_numpy": submission("np.isclose = lambda *a, **k: np.array(True)\nnp.allclose = lambda *a, **k: True",
                                    mean=WRONG_MEAN),
        "fakes_equality": submission(
            "class Liar(np.ndarray):\n    def __array_ufunc__(self, *args, **kwargs):\n        return np.array(True)"
            "\n    def __eq__(self, other):\n        return True",
            mean="return np.zeros(mu.shape[1]).view(Liar)"),
        "loads_the_solution": submission(mean=WRONG_MEAN, after=(
            "from latent_course.tools.solutions import load_solution\n"
            "mixture_mean = load_solution('03_mixture_moments').mixture_mean")),
        "reads_the_solution_file": submission(
            mean=WRONG_MEAN, after=f"exec(open({str(ROOT / 'solutions' / f'{TOPIC}.py')!r}).read())"),
        "reads_the_reference": submission(
            "import sys, latent_course\ndel sys.modules['latent_course.checks'], latent_course.checks\n"
            "from latent_course.checks.mixtures import _reference_mean", mean="return _reference_mean(pi, mu)"),
        "copies_another_student": submission(mean=WRONG_MEAN, after=(
            f"import json\ncells = json.load(open({str(victim)!r}))['cells']\n"
            "exec(next(''.join(c['source']) for c in cells if 'def mixture_mean' in ''.join(c['source'])))")),
        "writes_outside": submission(
            "import os, shutil\ndef attempt(action):\n    try:\n        action()\n    except OSError:\n        pass\n"
            f"attempt(lambda: os.makedirs({str(outside)!r}))\n"
            f"attempt(lambda: open({str(outside / 'x')!r}, 'w').write('x'))\n"
            f"attempt(lambda: open({str(victim)!r}, 'a').write('x'))\n"
            f"attempt(lambda: shutil.rmtree({str(victim.parent)!r}))"),
        "signals_the_grader": submission(f"import os, signal\nos.kill({os.getpid()}, signal.SIGUSR1)"),
        "floods_processes": submission(
            "import os, time\nfor _ in range(300):\n    try:\n        if os.fork() == 0:\n            time.sleep(600)\n"
            "            os._exit(0)\n    except OSError:\n        break"),
        "leaves_a_daemon": submission(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1)\n"
            f"        open({str(outside / 'late')!r}, 'w').write('late')\n        time.sleep(600)\n    os._exit(0)"),
        "floods_output": submission("print('x' * 50_000_000)", mean="print('y' * 50_000_000)\n    return pi @ mu"),
        "connects_out": submission(
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\nexcept OSError:\n"
            "    pass"),
        "exits_in_a_cell": submission("import os\nos._exit(3)"),
        "uses_its_constant": submission("SCALE = 1.0", mean="return SCALE * (pi @ mu)"),
    }


@pytest.fixture(scope="module")
def graded(places):
    signals = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: signals.append(True))
    try:
        for student, content in hostile_class(places).items():
            (places["submissions"] / student).mkdir(parents=True)
            (places["submissions"] / student / f"{TOPIC}.ipynb").write_text(content)
        victim = (places["submissions"] / "victim" / f"{TOPIC}.ipynb").read_text()
        places["listener"].settimeout(0)
        rows, _ = grade(places["submissions"], jobs=2, time_limit=20)
        time.sleep(2)  # the daemon's moment (it would write a second after its cell)
        return {"rows": {(row.student, row.task): row for row in rows}, "signals": signals,
                "victim_unchanged": victim == (places["submissions"] / "victim" / f"{TOPIC}.ipynb").read_text()}
    finally:
        signal.signal(signal.SIGUSR1, previous)


FORGERS = ["patches_the_checks", "patches_numpy", "fakes_equality", "loads_the_solution", "reads_the_solution_file",
           "reads_the_reference", "copies_another_student"]
READERS = ["loads_the_solution", "reads_the_solution_file", "reads_the_reference", "copies_another_student"]
"""Tricks that only Landlock stops: reading a file the submission has no business reading."""
HARMLESS = ["victim", "writes_outside", "signals_the_grader", "floods_processes", "leaves_a_daemon", "floods_output",
            "connects_out", "exits_in_a_cell", "uses_its_constant"]


@pytest.mark.parametrize("student", FORGERS)
def test_no_trick_forges_a_pass(graded, containment, student):
    if student in READERS:
        require(containment, "Landlock")
    assert graded["rows"][student, "mixture_mean"].status != "passed"


@pytest.mark.parametrize("student", HARMLESS)
def test_a_right_answer_passes_whatever_else_the_notebook_does(graded, student):
    rows = graded["rows"]
    assert [rows[student, task].status for task in ("mixture_mean", "mixture_covariance")] == ["passed", "passed"], \
        rows[student, "mixture_mean"].detail


def test_nothing_outside_the_submissions_process_was_touched(graded, places, containment):
    require(containment, "Landlock")
    assert graded["victim_unchanged"]
    assert not places["outside"].exists()
    assert graded["signals"] == []
    with pytest.raises(BlockingIOError):
        places["listener"].accept()


def test_no_process_of_a_submission_outlives_grading(graded, containment):
    require(containment, "namespaces")
    # A submission's processes work in a temporary folder that grading removes at the end: any process still in
    # such a removed folder outlived its grading (other gradings may run meanwhile, in folders that exist).
    left = []
    for process in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            cwd = os.readlink(process / "cwd")
            if "latent-course-submission-" in cwd and not Path(cwd.removesuffix(" (deleted)")).exists():
                left.append((process.name, cwd))
    assert left == []


def _started(cells):
    from latent_course.tools.remote import SubmissionProcess
    from latent_course.topics import imports

    submission = SubmissionProcess(cells, {}, 1024, imports(TOPIC))
    submission.start(30)
    return submission


def test_a_forked_process_holds_no_reference_code_and_is_contained_as_a_started_one(containment):
    """The spawner forks each submission's process from one that has imported the notebooks' modules: the process
    holds none of the checks (only their stub), gets the containment a freshly started process gets (the probe's),
    and draws other random numbers than its sibling, as a new process would."""
    cells = [(0, "import sys\nimport numpy as np\n"
                 "def loaded():\n    return sorted(name for name in sys.modules if 'latent_course' in name)\n"
                 "def draw():\n    return float(np.random.rand())")]
    submissions = [_started(cells), _started(cells)]
    try:
        for submission in submissions:
            submission.run_until(1, ["loaded"], 30)
        loaded = submissions[0].call("loaded", (), {}, 30, 30)
        draws = [submission.call("draw", (), {}, 30, 30) for submission in submissions]
    finally:
        for submission in submissions:
            submission.stop()
    assert "latent_course.plotting" in loaded and "latent_course.checks" in loaded, loaded  # imported, and the stub
    assert not [name for name in loaded if name.startswith(("latent_course.checks.", "latent_course.tools.solutions",
                                                            "latent_course.tools.grading"))], loaded
    assert submissions[0].containment == containment.describe()
    assert draws[0] != draws[1], "two submissions' processes share NumPy's global random state"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_no_process_runs_on_after_its_spawner_was_killed():
    """A submission in an endless loop is ended at its time limit even when its spawner (which would report its
    end) was killed meanwhile."""
    from latent_course.tools.remote import TaskTimedOut

    submission = _started([(0, "while True:\n    pass")])
    pid = submission.process.pid
    spawner = submission.process.spawner
    spawner.process.kill()
    spawner.process.wait()
    with pytest.raises(TaskTimedOut):
        submission.run_until(1, [], 1)
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid), "the submission's process outlived its spawner and its grading"


def test_grading_goes_on_when_the_spawner_was_killed():
    """A spawner that ended (killed, say, by the system when memory ran out) is started again for the next notebook."""
    from latent_course.checks._summary import check_task
    from latent_course.tools import remote
    from latent_course.topics import imports, tasks

    cells = read_cells(ROOT / "solutions" / f"{TOPIC}.ipynb")
    spawner = remote._spawner_for(imports(TOPIC))
    spawner.process.kill()
    spawner.process.wait()
    results, _ = remote.grade_cells(TOPIC, cells, {}, tasks=list(tasks(TOPIC)), time_limit=30, memory_limit_mb=2048,
                                    imports=imports(TOPIC), check_task=check_task)
    assert [result.status for result in results] == ["passed", "passed"], results
    assert remote._spawner_for(imports(TOPIC)) is not spawner
    assert not spawner.folder.exists(), "the killed spawner's folder was left behind"


def test_a_cell_that_ends_the_process_is_skipped_and_named(graded):
    assert graded["rows"]["exits_in_a_cell", "mixture_mean"].status == "passed"


def test_what_crosses_back_is_plain_data():
    class Liar(np.ndarray):
        pass

    back = wire.decode(wire.encode({"x": np.zeros(3).view(Liar), "t": (1, 2.5, "a", None)}))
    assert type(back["x"]) is np.ndarray and back["t"] == (1, 2.5, "a", None)
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()]))
    with pytest.raises(wire.WireError):
        wire.encode(lambda: 0)
    with pytest.raises(wire.WireError):
        wire.decode(b"\x05\x00\x00\x00\x00\x00\x00\x00{\"t\":")


@pytest.mark.parametrize("topic, source", [
    ("05_image_clustering", "exercise"), ("01_matrix_factorization", "exercise"), ("02_linear_autoencoder", "solved"),
    (TOPIC, submission(mean="return mu.mean(axis=0)", covariance="return sigma.sum(axis=0)"))])
def test_the_grader_says_what_the_notebook_says(tmp_path, topic, source):
    """Statuses and messages across the pipe are the ones the checks give beside the student's code."""
    from latent_course.checks._summary import check_task
    from latent_course.progress import check_notebook
    from latent_course.tools.remote import grade_cells
    from latent_course.tools.solutions import NOTEBOOKS, SOLUTIONS
    from latent_course.topics import imports, tasks

    if source == "exercise":
        cells = read_cells(NOTEBOOKS / f"{topic}.ipynb")
    elif source == "solved":  # its functions and checks: the rest of a solved notebook only takes seconds to run
        cells = [(kind, text) for kind, text in read_cells(SOLUTIONS / f"{topic}.ipynb")
                 if text.startswith(("import", "from", "def ", "checks."))]
    else:
        path = tmp_path / f"{topic}.ipynb"
        path.write_text(source)
        cells = read_cells(path)
    remote, _ = grade_cells(topic, cells, {}, tasks=list(tasks(topic)), time_limit=60, memory_limit_mb=2048,
                            imports=imports(topic), check_task=check_task)
    assert remote == check_notebook(topic, cells)
    assert source != "solved" or {result.status for result in remote} == {"passed"}, remote


def test_a_function_defined_below_its_check_cell_is_graded(tmp_path):
    from latent_course.checks._summary import check_task
    from latent_course.tools.remote import grade_cells
    from latent_course.topics import imports, tasks

    cells = [("code", "import numpy as np\nfrom latent_course import checks"),
             ("code", "checks.mixture_mean(mixture_mean)"), ("code", "def mixture_mean(pi, mu):\n    return pi @ mu")]
    results, _ = grade_cells(TOPIC, cells, {}, tasks=list(tasks(TOPIC)), time_limit=30, memory_limit_mb=2048,
                             imports=imports(TOPIC), check_task=check_task)
    assert [result.status for result in results] == ["passed", "error"]
    assert "defines no function mixture_covariance" in results[1].detail
