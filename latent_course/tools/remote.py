"""Grade a notebook where no submitted code can reach the verdict: run it in a contained process, check it here.

The submission runs in a process of its own, contained by :func:`latent_course.tools.sandbox.contain`, in an empty
temporary folder that holds copies of the student's notebooks. It executes the notebook's code cells in order, as a
kernel would (figures to the non-interactive ``Agg`` backend; a cell that raises is noted and the next one runs),
except the course's own check cells, and stops at each task's check cell. There the grader, in its own process,
runs the task's self-check as usual, on :class:`RemoteFunction` stand-ins: each call sends the inputs to the
submission's process, which calls the student's function and sends back the result, what it printed and the inputs
as the call left them. Everything crosses as plain data (:mod:`latent_course.tools.wire`), so nothing the submission
does to its own process (patching ``latent_course``, NumPy or the builtins, or answering with an object that fakes
comparisons) changes a verdict.

The submission's process is forked by a spawner (``python -m latent_course.tools.remote``, one per grader process
and list of imports), which has imported what the notebooks import and never runs submitted code: a notebook's
process starts in milliseconds, instead of the second it takes to start Python and import NumPy and Matplotlib.

A cell that runs longer than the time limit, or ends the process, is skipped in a fresh process; a check that
runs longer than the time limit ends its task as "timed out", and the next task starts in a fresh process.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import contextlib
import inspect
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from ..calls import CountingGenerator, frame_summary, raised_in
from . import sandbox, wire

__all__ = ["RemoteFunction", "SubmissionProcess", "check_cells", "grade_cells"]

MAX_MESSAGE = 512 * 2**20
MAX_PRINTED = 64 * 2**10
MAX_CELL_FAILURES = 3
"""Cells that time out or end the process before a notebook's remaining tasks are all marked with that result."""
SPAWNER_FOLDER = "latent-course-spawner-"
SPAWN_TIME_LIMIT = 60
"""Seconds for a spawner to fork a process (the first time, after importing what the notebooks import)."""


class TaskTimedOut(BaseException):
    """The submission's process did not answer within the task's time limit (a BaseException: checks let it by)."""


class ProcessEnded(BaseException):
    """The submission's process ended (a crash, ``os._exit``, the memory limit) while the grader waited for it."""


# --- in the submission's process ------------------------------------------------------------------------------


def _stub_checks() -> None:
    """Make ``from latent_course import checks`` import a module whose every check does nothing.

    The real checks never enter the submission's process: they hold the reference answers.
    """
    import latent_course

    stub = types.ModuleType("latent_course.checks", "The self-checks run in the grader's process, not here.")
    stub.__getattr__ = lambda name: (lambda *args, **kwargs: None)
    sys.modules["latent_course.checks"] = stub
    latent_course.checks = stub


def _raised(error: BaseException, function) -> dict:
    return {"op": "raised", "type": type(error).__name__, "module": type(error).__module__,
            "message": str(error)[:2000], "frames": [list(frame) for frame in frame_summary(error)],
            "in_function": raised_in(error, function)}


class _Capped(io.StringIO):
    """Keeps the first ``MAX_PRINTED`` characters of what is printed, so that a flood of output costs nothing."""

    def write(self, text: str) -> int:
        room = MAX_PRINTED - self.tell()
        if room > 0:
            super().write(str(text)[:room])
        return len(text)


def _to_counting(value):
    """Hand generators over as counting ones, so that the grader learns how many draws the function made."""
    if isinstance(value, np.random.Generator):
        counting = CountingGenerator()
        counting.bit_generator.state = value.bit_generator.state
        return counting
    if isinstance(value, dict):
        return {key: _to_counting(item) for key, item in value.items()}
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return type(value)(_to_counting(item) for item in value)
    return value


def _signature(function) -> list | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return [[parameter.name, int(parameter.kind), parameter.default is not inspect.Parameter.empty]
            for parameter in signature.parameters.values()]


def _describe(namespace: dict, name: str) -> dict:
    value = namespace.get(name)
    if value is None and name not in namespace:
        return {"kind": "missing"}
    if inspect.isclass(value):
        return {"kind": "class", "name": getattr(value, "__name__", name)}
    if not callable(value):
        return {"kind": "value", "type": type(value).__name__}
    return {"kind": "function", "name": str(getattr(value, "__name__", name)), "signature": _signature(value)}


def _encoded(value) -> bytes | None:
    try:
        return wire.encode(value)
    except wire.WireError:
        return None


def _call(namespace: dict, request: dict) -> dict:
    """Call the function `request` names; the reply holds its result and the inputs the call changed."""
    function = namespace.get(request["name"])
    args, kwargs = _to_counting(request["args"]), _to_counting(request["kwargs"])
    given = {**{str(index): value for index, value in enumerate(args)}, **kwargs}
    before = {key: _encoded(value) for key, value in given.items()}
    printed = _Capped()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the student's code may raise anything; SystemExit included
        return _raised(error, function)
    changed = {key: item for key, item in given.items() if before[key] is None or _encoded(item) != before[key]}
    draws = {key: item.draw_calls for key, item in given.items() if isinstance(item, CountingGenerator)}
    return {"op": "result", "value": value, "changed": changed, "draws": draws, "printed": printed.getvalue()}


def _run_cell(namespace: dict, index: int, source: str) -> dict | None:
    """Run one code cell; None if it ran, else a description of what it raised."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        code = compile(TransformerManager().transform_cell(source), f"<cell {index + 1}>", "exec")
        with contextlib.redirect_stdout(_Capped()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, namespace)
    except BaseException as error:  # noqa: BLE001 - a cell may raise anything; the next one still runs
        return {"type": type(error).__name__, "message": str(error)[:300]}
    finally:
        with contextlib.suppress(Exception):
            import matplotlib.pyplot as plt

            plt.close("all")
    return None


def serve(connection: Connection, cells: list[tuple[int, str]]) -> None:
    """Run `cells` ((index, source) of the code cells to run) on request and call functions for the grader."""
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    position = 0
    while True:
        request = wire.decode(connection.recv_bytes())
        if request["op"] == "run":  # run the cells before index `until`
            failures = {}
            while position < len(cells) and cells[position][0] < request["until"]:
                index, source = cells[position]
                connection.send_bytes(wire.encode({"op": "cell", "index": index}))
                failure = _run_cell(namespace, index, source)
                if failure:
                    failures[str(index)] = failure
                position += 1
            reply = {"op": "ran", "failures": failures,
                     "names": {name: _describe(namespace, name) for name in request["names"]}}
        elif request["op"] == "call":
            reply = _call(namespace, request)
        else:
            return
        try:
            message = wire.encode(reply)
        except wire.WireError as error:
            message = wire.encode({"op": "unsendable", "message": str(error)})
        connection.send_bytes(message)


def _submission(connection: Connection, memory_limit_mb: int) -> None:
    """The submission's process: contained first, then it runs the notebook's cells for the grader."""
    containment = sandbox.contain(Path.cwd(), memory_limit_mb)
    _stub_checks()
    connection.send_bytes(wire.encode({"op": "ready", "containment": containment.describe()}))
    request = wire.decode(connection.recv_bytes())
    serve(connection, [(int(index), str(source)) for index, source in request["cells"]])


def _spawned(fd: int, request: dict, inherited: list[socket.socket]) -> None:
    """In a process the spawner has just forked: become the submission's process in its folder. Never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for end in inherited:
            end.close()
        os.closerange(3, fd)  # nothing of the spawner's stays open here but the submission's own socket
        os.closerange(fd + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.setsid()  # its own process group, which the grader ends as a whole
        os.chdir(request["workdir"])
        os.environ.clear()
        os.environ.update(request["environment"])
        tempfile.tempdir = None  # found again from TMPDIR
        sys.path[0] = request["workdir"]  # as `python -m` started there would have it
        # NumPy's legacy global generator (np.random.rand) from fresh entropy, as in a new process (`random` reseeds
        # itself after a fork)
        np.random.seed()  # noqa: NPY002
        for module in request["imports"]:  # already there where the spawner imported them
            with contextlib.suppress(Exception):
                __import__(module)
        _submission(Connection(fd), int(request["memory_limit_mb"]))
        code = 0
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else int(error.code is not None)
    finally:
        os._exit(code & 0xFF)


def _send_report(control: socket.socket, report: dict) -> None:
    control.sendall(json.dumps(report).encode() + b"\n")


def _spawner(control: socket.socket, modules: list[str]) -> None:
    """The spawner's process: import `modules`, then fork a submission's process for each request that arrives on
    `control` (a line of JSON with the submission's end of a socket attached) and report each one's pid and exit
    code (or why it could not fork), until the grader's end closes."""
    os.environ["MPLBACKEND"] = "Agg"
    for module in modules:  # what the topics' notebooks import, loaded while the whole installation is readable
        with contextlib.suppress(Exception):
            __import__(module)
    wakeup = socket.socketpair()  # a SIGCHLD wakes the loop through it
    for end in wakeup:
        end.setblocking(False)
    signal.set_wakeup_fd(wakeup[1].fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    received, fds, running = b"", [], set()
    try:
        while True:
            readable = select.select([control, wakeup[0]], [], [])[0]
            with contextlib.suppress(BlockingIOError):
                wakeup[0].recv(4096)
            while running and (ended := os.waitpid(-1, os.WNOHANG))[0]:
                running.discard(ended[0])
                _send_report(control, {"op": "ended", "pid": ended[0], "code": os.waitstatus_to_exitcode(ended[1])})
            if control not in readable:
                continue
            data, new_fds, _, _ = socket.recv_fds(control, 65536, 4)
            if not data:
                return
            received, fds = received + data, fds + new_fds
            while b"\n" in received:
                line, received = received.split(b"\n", 1)
                fd = fds.pop(0)
                try:
                    pid = os.fork()
                except OSError as error:  # too many processes, or no memory left
                    os.close(fd)
                    _send_report(control, {"op": "failed", "message": f"fork: {error.strerror}"})
                    continue
                if pid == 0:
                    _spawned(fd, json.loads(line), [control, *wakeup])
                os.close(fd)
                running.add(pid)
                _send_report(control, {"op": "spawned", "pid": pid})
    except OSError:  # the grader is gone
        pass
    finally:
        for pid in running:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        if Path.cwd().name.startswith(SPAWNER_FOLDER):
            shutil.rmtree(Path.cwd(), ignore_errors=True)


def _main() -> None:
    """The spawner: ``python -m latent_course.tools.remote FD MODULES...``, FD its end of the grader's socket."""
    fd, *modules = sys.argv[1:]
    _spawner(socket.socket(fileno=int(fd)), modules)


# --- in the grader's process ----------------------------------------------------------------------------------

_EXCEPTIONS = {name: value for name, value in vars(builtins).items()
               if isinstance(value, type) and issubclass(value, Exception)}
_EXCEPTIONS["LinAlgError"] = np.linalg.LinAlgError


def _exception(reply: dict) -> BaseException:
    """The exception the student's function raised, rebuilt as data: a built-in type (or NumPy's LinAlgError)
    when it was one, else a new class of the same name; its frames come along as ``remote_frames``."""
    name = str(reply.get("type", "Exception"))
    if name == "SystemExit":
        cls = SystemExit
    elif name in _EXCEPTIONS and reply.get("module") in ("builtins", "numpy.linalg", "numpy.linalg._linalg",
                                                          "numpy.linalg.linalg"):
        cls = _EXCEPTIONS[name]
    else:
        cls = type(name if name.isidentifier() else "Exception", (Exception,), {})
    try:
        error = cls(str(reply.get("message", "")))
    except Exception:  # noqa: BLE001 - a built-in exception type that wants other arguments
        error = RuntimeError(f"{name}: {reply.get('message', '')}")
    error.remote_frames = [(str(kind), str(function), int(line)) for kind, function, line in reply.get("frames", [])]
    error.remote_raised_in_function = bool(reply.get("in_function"))
    return error


def _write_back(original, after) -> None:
    """Make `original` (an input the grader handed over) look as the call left it in the submission's process."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape:
            with contextlib.suppress(TypeError, ValueError):
                np.copyto(original, after, casting="unsafe")
    elif isinstance(original, list) and isinstance(after, list):
        original[:] = after
    elif isinstance(original, tuple) and isinstance(after, tuple) and len(original) == len(after):
        for item, changed in zip(original, after, strict=True):
            _write_back(item, changed)
    elif isinstance(original, dict) and isinstance(after, dict):
        original.clear()
        original.update(after)
    elif isinstance(original, np.random.Generator) and isinstance(after, np.random.Generator):
        original.bit_generator.state = after.bit_generator.state
    elif hasattr(original, "format") and type(original) is type(after) and original.format in ("csr", "csc"):
        original.data, original.indices, original.indptr = after.data, after.indices, after.indptr


class Spawner:
    """The grader's end of a spawner (see the module's text): it starts the spawner and asks it for processes, one
    notebook's at a time (a grader process grades one notebook at a time)."""

    def __init__(self, modules: tuple[str, ...]):
        self.modules = modules
        # Its home, where Matplotlib keeps its caches: readable by a submission that runs as nobody, not writable.
        self.folder = Path(tempfile.mkdtemp(prefix=SPAWNER_FOLDER))
        os.chmod(self.folder, 0o755)  # noqa: S103
        # Forking a process that has loaded NumPy's BLAS is safe on Linux; on macOS, where Apple's frameworks are not
        # fork-safe, the spawner imports nothing and each process imports for itself.
        preload = modules if sys.platform.startswith("linux") else ()
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "latent_course.tools.remote", str(theirs.fileno()), *preload], cwd=self.folder,
            env=sandbox.environment(self.folder), pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.control, self.received, self.codes, self.ended = ours, b"", {}, False

    def spawn(self, connection: socket.socket, workdir: Path, memory_limit_mb: int) -> Spawned:
        """A new submission's process in `workdir`, talking to the grader through `connection`'s other end."""
        request = {"workdir": str(workdir), "environment": sandbox.environment(workdir),
                   "memory_limit_mb": memory_limit_mb, "imports": list(self.modules)}
        socket.send_fds(self.control, [json.dumps(request).encode() + b"\n"], [connection.fileno()])
        deadline = time.monotonic() + SPAWN_TIME_LIMIT
        while (report := self._next_report(deadline)) is not None:
            if report["op"] == "spawned":
                self.codes.pop(int(report["pid"]), None)  # an earlier process's, whose pid the system reused
                return Spawned(self, int(report["pid"]))
            if report["op"] == "failed":
                raise OSError(report["message"])
        if not self.ended:
            self.process.kill()  # stuck: the next notebook gets a new spawner
        raise OSError(f"no process within {SPAWN_TIME_LIMIT} s" if not self.ended else "it ended")

    def _next_report(self, deadline: float | None) -> dict | None:
        """The spawner's next report; None if none came by `deadline` (of `time.monotonic`; None: no limit) or the
        spawner has ended."""
        while b"\n" not in self.received:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.ended or not select.select([self.control], [], [], left)[0]:
                return None
            self.received += (data := self.control.recv(65536))
            self.ended = not data
        line, self.received = self.received.split(b"\n", 1)
        report = json.loads(line)
        if report["op"] == "ended":
            self.codes[int(report["pid"])] = int(report["code"])
        return report

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """Process `pid`'s exit code as `subprocess` gives it (-N: killed by signal N), waiting at most `timeout`
        seconds; None if it is still running, or if the spawner ended without saying."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.codes:
            if self._next_report(deadline) is None:
                return None
        return self.codes.pop(pid)

    def close(self) -> None:
        """End the spawner (it ends the processes it forked) and remove its folder."""
        self.control.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Spawned:
    """A submission's process that a spawner forked, with the part of :class:`subprocess.Popen`'s interface that
    :class:`SubmissionProcess` uses."""

    spawner: Spawner
    pid: int
    returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.spawner.exit_code(self.pid, timeout)
        if self.returncode is None and self.spawner.ended:  # (killed, say): nothing will report this process
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"process {self.pid}", timeout)
        return self.returncode

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None


_SPAWNERS: dict[tuple[str, ...], Spawner] = {}


def _forget_spawners() -> None:
    """In a process forked from a grader: the spawners are the parent's (this one starts its own, if it grades)."""
    for spawner in _SPAWNERS.values():
        spawner.control.close()
    _SPAWNERS.clear()


os.register_at_fork(after_in_child=_forget_spawners)


@atexit.register
def _close_spawners() -> None:
    for spawner in _SPAWNERS.values():
        spawner.close()


def _spawner_for(modules: list[str]) -> Spawner:
    """This process's spawner that has imported `modules`, started on first use (or again if it has ended)."""
    key = tuple(modules)
    if key in _SPAWNERS and _SPAWNERS[key].process.poll() is not None:
        _SPAWNERS.pop(key).close()
    if key not in _SPAWNERS:
        _SPAWNERS[key] = Spawner(key)
    return _SPAWNERS[key]


@dataclass
class SubmissionProcess:
    """The contained process that runs one notebook; see the module's text."""

    cells: list[tuple[int, str]]
    files: dict[str, Path]
    memory_limit_mb: int
    imports: list[str]
    containment: str = ""
    process: Spawned | None = None
    connection: Connection | None = None
    workdir: Path | None = None
    current_cell: int = -1
    failures: dict[int, dict] = field(default_factory=dict)

    def start(self, time_limit: float) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="latent-course-submission-"))
        for name, path in self.files.items():
            shutil.copyfile(path, self.workdir / Path(name).name)
        os.chmod(self.workdir, 0o777)  # noqa: S103 - the submission may run as nobody; the folder is its own
        ours, theirs = socket.socketpair()
        try:
            self.process = _spawner_for(self.imports).spawn(theirs, self.workdir, self.memory_limit_mb)
        except OSError as error:
            raise ProcessEnded(f"the spawner of submissions' processes ended ({error})") from None
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())
        ready = self._receive(time_limit + 30)
        self.containment = str(ready.get("containment", ""))
        self._send({"op": "cells", "cells": [[index, source] for index, source in self.cells]})

    def _send(self, message: dict) -> None:
        try:
            self.connection.send_bytes(wire.encode(message))
        except OSError:
            raise ProcessEnded(self._ended()) from None

    def _receive(self, limit: float, task_limit: float | None = None) -> dict:
        """The next answer, waiting at most `limit` seconds (of a task's `task_limit`, which a timeout names)."""
        deadline = time.monotonic() + limit
        while True:
            try:
                if not self.connection.poll(max(0.0, deadline - time.monotonic())):
                    self.stop()
                    raise TaskTimedOut(f"still running after {task_limit or limit:g} s (a loop that never ends, or "
                                       "far too slow?)")
                message = wire.decode(self.connection.recv_bytes(MAX_MESSAGE))
            except (EOFError, OSError, wire.WireError) as error:
                reason = self._ended() if not isinstance(error, wire.WireError) else f"sent {error}"
                self.stop()
                raise ProcessEnded(reason) from None
            if not isinstance(message, dict):
                self.stop()
                raise ProcessEnded("sent something that is not an answer")
            if message.get("op") != "cell":
                return message
            self.current_cell, deadline = int(message["index"]), time.monotonic() + limit

    def _ended(self) -> str:
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "the process stopped answering"
        if code < 0 or code >= 128:
            number = -code if code < 0 else code - 128
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            return f"the process was killed by {name} (a crash, or the memory limit)"
        return f"the process exited with code {code} (sys.exit or os._exit in the code?)"

    def run_until(self, until: int, names: list[str], time_limit: float) -> dict:
        """Run the cells before index `until`; return what each of `names` is in the namespace then."""
        self._send({"op": "run", "until": until, "names": names})
        reply = self._receive(time_limit)
        self.failures.update({int(index): failure for index, failure in reply.get("failures", {}).items()})
        return reply.get("names", {})

    def call(self, name: str, args: tuple, kwargs: dict, time_limit: float, task_limit: float):
        """Call the function `name` in the submission's process; see the module's text."""
        try:
            self._send({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})
            reply = self._receive(time_limit, task_limit)
        except BaseException:
            self.stop()  # interrupted (the checks' own time limit): the process may still be computing
            raise
        if reply.get("op") == "raised":
            raise _exception(reply)
        if reply.get("op") == "unsendable":
            raise TypeError(f"{name} returned something the grader cannot compare: {reply.get('message')}; "
                            "return NumPy arrays, numbers and tuples of these")
        given = {**{str(index): value for index, value in enumerate(args)}, **kwargs}
        changed, draws = reply.get("changed", {}), reply.get("draws", {})
        for key, original in given.items():
            if key in changed:
                _write_back(original, changed[key])
            if isinstance(original, CountingGenerator):
                original.draw_calls += int(draws.get(key, 0))
        printed = reply.get("printed", "")
        if printed:
            print(printed, end="")
        return reply.get("value")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):  # its spawner ended: no exit code to wait for
                self.process.wait()
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            sandbox.remove_pids_cgroup(self.process.pid)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class RemoteFunction:
    """Stands for a student's function in the grader's process: calling it calls the function in the submission's
    process (see :meth:`SubmissionProcess.call`), within what is left of the task's time."""

    def __init__(self, submission: SubmissionProcess, name: str, parameters: list | None, time_limit: float):
        self._submission, self._limit, self._deadline = submission, time_limit, time.monotonic() + time_limit
        self.__name__ = self.__qualname__ = name
        if parameters is not None:
            self.__signature__ = inspect.Signature([
                inspect.Parameter(str(pname), inspect._ParameterKind(int(kind)),
                                  default=None if has_default else inspect.Parameter.empty)
                for pname, kind, has_default in parameters])

    def __call__(self, *args, **kwargs):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TaskTimedOut(f"still running after {self._limit:g} s (far too slow?)")
        return self._submission.call(self.__name__, args, kwargs, remaining, self._limit)


def _is_check_cell(tree: ast.Module) -> list[str] | None:
    """The names of the checks a cell calls when it does nothing else (``checks.em(em)``), else None."""
    calls = []
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "checks"):
            return None
        calls.append(call.func.attr)
    return calls or None


def check_cells(cells: list[tuple[str, str]], tasks: list[str]) -> tuple[list[tuple[int, str]], dict[str, int]]:
    """The code cells to run, as (index, source), without the course's check cells; and where each task's check
    cell was (the index the notebook reaches before checking it)."""
    from IPython.core.inputtransformer2 import TransformerManager

    to_run, checkpoints = [], {}
    for index, (cell_type, source) in enumerate(cells):
        if cell_type != "code" or not source.strip():
            continue
        try:
            checked = _is_check_cell(ast.parse(TransformerManager().transform_cell(source)))
        except SyntaxError:
            checked = None
        if checked is None:
            to_run.append((index, source))
        for name in checked or []:
            if name in tasks:
                checkpoints.setdefault(name, index)
    return to_run, checkpoints


def _missing(task: str, described: dict, failures: dict[int, dict], cells: list[tuple[int, str]]) -> str:
    kind = described.get("kind", "missing")
    if kind == "class":
        return f"{task} is a class in the notebook; the task asks for a function"
    if kind == "value":
        return f"{task} is a {described.get('type')} in the notebook, not a function"
    reason = f"the notebook defines no function {task} (renamed or deleted?)"
    defining = [index for index, source in cells if f"def {task}(" in source and index in failures]
    failed = defining or sorted(failures)
    if failed:
        failure = failures[failed[0]]
        where = "its cell" if defining else "cell"
        reason = f"{reason}; {where} {failed[0] + 1} raised {failure['type']}: {failure['message']}"
    return reason


def grade_cells(topic: str, cells: list[tuple[str, str]], files: dict[str, Path], *, tasks: list[str],
                time_limit: float, memory_limit_mb: int, imports: list[str], check_task) -> tuple[list, str]:
    """Grade the notebook made of `cells`; return one result per task (``check_task(topic, task, function,
    reason=...)``'s, or "timed out"/"error") and how the submission was contained.

    `files` maps a file name to a file copied into the submission's folder under that name: the student's
    notebooks of other topics, which ``load_topic`` finds there.
    """
    from ..checks._summary import Result

    to_run, checkpoints = check_cells(cells, tasks)
    end = len(cells)
    order = sorted(tasks, key=lambda task: (checkpoints.get(task, end), tasks.index(task)))
    skipped: dict[int, str] = {}
    results, submission, containment = {}, None, ""
    for task in order:
        result = None
        while result is None:
            if submission is None:
                submission = SubmissionProcess([cell for cell in to_run if cell[0] not in skipped], files,
                                               memory_limit_mb, imports)
                try:
                    submission.start(time_limit)
                    containment = containment or submission.containment
                except (TaskTimedOut, ProcessEnded) as error:
                    submission.stop()
                    result = Result(topic, task, "error", f"the notebook's process did not start: {error}")
                    submission = None
                    break
            try:
                described = submission.run_until(checkpoints.get(task, end), [task], time_limit).get(task, {})
                if described.get("kind", "missing") == "missing":  # defined below its check cell: the last version
                    described = submission.run_until(end, [task], time_limit).get(task, {})
            except (TaskTimedOut, ProcessEnded) as error:
                cell = submission.current_cell
                submission.stop()
                submission = None
                what = "timed out" if isinstance(error, TaskTimedOut) else "ended the process"
                skipped[cell] = f"cell {cell + 1} {what} and was skipped: {error}"
                if len(skipped) >= MAX_CELL_FAILURES or cell < 0:
                    status = "timed out" if isinstance(error, TaskTimedOut) else "error"
                    result = Result(topic, task, status, "; ".join(skipped.values()))
                continue
            function = None
            if described.get("kind") == "function":
                function = RemoteFunction(submission, described["name"], described.get("signature"), time_limit)
            try:
                result = check_task(topic, task, function,
                                    reason=_missing(task, described, submission.failures, to_run))
            except TaskTimedOut as error:
                result = Result(topic, task, "timed out", str(error))
            except ProcessEnded as error:
                result = Result(topic, task, "error", str(error))
            if submission.process.poll() is not None or submission.connection.closed:
                submission.stop()
                submission = None
            if skipped and result.status != "passed":
                result = Result(topic, task, result.status, f"{result.detail} ({'; '.join(skipped.values())})")
        results[task] = result
    if submission is not None:
        submission.stop()
    return [results[task] for task in tasks], containment


if __name__ == "__main__":
    _main()
