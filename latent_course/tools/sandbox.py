"""Contain the process that runs a submission, with what the Linux kernel offers an unprivileged user.

:func:`contain` is called by that process itself, first thing, before it reads the submission:

* **Limits** (``setrlimit``): address space, file size, open files, no core dumps, and (see below) processes.
* **Namespaces** (``unshare``): a new user, network and PID namespace. The network namespace has only a loopback
  interface (Spark still talks to itself; nothing reaches another machine); the PID namespace ends every process
  the submission started when its first process ends. Run as root, the process first becomes ``nobody``, so that
  the process limit applies to it.
* **Landlock** (Linux 5.13+, no privileges needed): the process may read only the Python installation, the
  libraries and the course's runtime modules (not its checks, tools or solutions), may write only in its own
  temporary folder, and (ABI 6+) may not signal or reach sockets of processes outside its own sandbox; where the
  network namespace is missing, Landlock (ABI 4+) forbids TCP.

Where the kernel offers none of this (macOS, old kernels), :func:`contain` changes nothing it cannot and says
what it did in its :class:`Containment`; the grader prints that once.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Containment", "contain", "landlock_abi", "probe", "readable_paths"]

NOBODY = 65534
PROCESS_LIMIT = 64
OPEN_FILES_LIMIT = 256
FILE_SIZE_LIMIT = 256 * 2**20

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG = 38, 1

# Landlock's access rights (linux/landlock.h).
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_ONLY = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
                "/etc/fonts", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/dev/urandom", "/dev/random", "/dev/zero")
"""Read-only for the submission: the dynamic loader, shared libraries, fonts and random numbers."""


@dataclass
class Containment:
    """What :func:`contain` managed to apply; `missing` names what the kernel refused, and why."""

    applied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = "contained: " + (", ".join(self.applied) or "nothing")
        return text + (f"; not available: {'; '.join(self.missing)}" if self.missing else "")


def readable_paths() -> list[tuple[Path, bool]]:
    """What a submission may read, as (path, whether its files may be read, or only the folder listed): the Python
    installation and its packages, the system's libraries, and the course's runtime modules one by one (never
    ``checks/``, ``tools/`` or anything beside the package: a folder's rule would cover all beneath it)."""
    package = Path(__file__).resolve().parent.parent
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
    paths = [Path(path) for path in python if not package.is_relative_to(Path(path).resolve())]
    paths += [Path(path) for path in SYSTEM_FILES]
    paths += [path for path in package.iterdir() if path.suffix in (".py", ".json") and path.name != "progress.py"]
    paths.append(package / "__pycache__")
    with contextlib.suppress(Exception):
        import matplotlib

        paths.append(Path(matplotlib.get_cachedir()))
    return [(path, True) for path in sorted(set(paths)) if path.exists()] + [(package, False)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
    return result


def _limits(memory_limit_mb: int) -> None:
    memory = memory_limit_mb * 2**20
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT), (resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT)):
        with contextlib.suppress(ValueError, OSError):  # macOS refuses some limits
            resource.setrlimit(limit, (value, value))


def _open_to_others(path: Path) -> bool:
    """Whether a user without privileges can reach `path` (every folder above it searchable by others)."""
    return all(folder.stat().st_mode & 0o001 for folder in [path, *path.parents])


def _become_nobody(workdir: Path) -> None:
    os.chown(workdir, NOBODY, NOBODY)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


PIDS_CGROUPS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def pids_cgroup(pid: int) -> Path:
    """The control group that limits the processes of the submission run by process `pid` (run as root)."""
    root = next((path for path in PIDS_CGROUPS if (path / "cgroup.procs").exists()
                 and (path.name == "pids" or "pids" in (path / "cgroup.controllers").read_text())), PIDS_CGROUPS[0])
    return root / f"latent-course-submission-{pid}"


def remove_pids_cgroup(pid: int) -> None:
    """Remove the process limit's control group of process `pid`, if any, once its killed processes are gone."""
    group = pids_cgroup(pid)
    for _ in range(100):
        if not group.exists():
            return
        with contextlib.suppress(OSError):
            group.rmdir()
        time.sleep(0.02)


def environment(workdir: Path) -> dict[str, str]:
    """The environment of a submission's process: its folder as home, no BLAS threads (a process with threads
    cannot enter a new user namespace), figures to Agg, and Java's and Spark's homes."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "TMPDIR": str(workdir),
            "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLCONFIGDIR": str(workdir / ".matplotlib"),
            **{name: os.environ[name] for name in ("JAVA_HOME", "SPARK_HOME") if name in os.environ}}


def _limit_processes_by_cgroup() -> None:
    group = pids_cgroup(os.getpid())
    group.mkdir()
    (group / "pids.max").write_text(str(PROCESS_LIMIT))
    (group / "cgroup.procs").write_text(str(os.getpid()))


def _namespaces(libc) -> None:
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWPID), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as handle:  # bring up the loopback interface
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(handle, 0x8913, request))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(handle, 0x8914, struct.pack("16sH14s", b"lo", flags | 0x1, b""))  # SIOCSIFFLAGS, IFF_UP


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0 where it offers none: not Linux, older than 5.13, disabled)."""
    machine = os.uname().machine if hasattr(os, "uname") else ""
    if sys.platform != "linux" or machine not in _SYSCALLS:
        return 0
    return max(0, _libc().syscall(_SYSCALLS[machine][0], None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


def _landlock(libc, workdir: Path, network_isolated: bool) -> str:
    abi = landlock_abi()
    if abi == 0:
        raise OSError(f"this kernel offers no Landlock ({sys.platform} {os.uname().machine})")
    create, add_rule, restrict = _SYSCALLS[os.uname().machine]
    handled_fs = _FS_BY_ABI[max(level for level in _FS_BY_ABI if level <= abi)]
    handled_net = 0 if network_isolated or abi < 4 else _NET_BIND_TCP | _NET_CONNECT_TCP
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", handled_fs, handled_net, scoped)[:24 if abi >= 6 else 16 if abi >= 4 else 8]
    ruleset = _check(libc.syscall(create, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)),
                     "landlock_create_ruleset")
    try:
        reading = _EXECUTE | _READ_FILE | _READ_DIR
        rules = [(path, reading if files else _READ_DIR) for path, files in readable_paths()]
        rules += [(workdir, handled_fs), (Path("/dev/null"), _READ_FILE | _WRITE_FILE | (1 << 15 if abi >= 5 else 0))]
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                allowed = access & handled_fs & (_FILE_ONLY if not path.is_dir() else ~0)
                rule = struct.pack("<Qi", allowed, fd)
                _check(libc.syscall(add_rule, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.c_char_p(rule),
                                    ctypes.c_uint32(0)), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return (f"Landlock ABI {abi} (files" + (", TCP" if handled_net else "") + (", signals" if scoped else "") + ")")


def contain(workdir: Path, memory_limit_mb: int) -> Containment:
    """Contain this process (and all it starts) for running a submission in `workdir`; see the module's text.

    After a successful call, this process is the first of a new PID namespace's parent: it forks, the child goes
    on (and is the namespace's first process), and this function does not return in the parent, which waits for
    the child and exits with its status.
    """
    containment = Containment()
    libc = _libc()
    _limits(memory_limit_mb)
    containment.applied.append(f"limits (memory {memory_limit_mb} MiB, files {FILE_SIZE_LIMIT >> 20} MiB)")
    if os.geteuid() == 0:
        try:
            _limit_processes_by_cgroup()
            containment.applied.append(f"at most {PROCESS_LIMIT} processes (control group)")
        except OSError as error:
            containment.missing.append(f"a process limit for root ({error})")
        if _open_to_others(Path(sys.base_prefix)):
            _become_nobody(workdir)
            containment.applied.append("runs as nobody")
        else:
            containment.missing.append(f"running as nobody ({sys.base_prefix} is private to root)")
    network_isolated = False
    try:
        _namespaces(libc)
        network_isolated = True
        containment.applied.append("namespaces (network: loopback only; processes: ended with the submission)")
    except (OSError, AttributeError) as error:
        containment.missing.append(f"namespaces ({error})")
    if os.geteuid() != 0:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NPROC, (PROCESS_LIMIT, PROCESS_LIMIT))
            containment.applied.append(f"at most {PROCESS_LIMIT} processes")
    try:
        containment.applied.append(_landlock(libc, workdir, network_isolated))
    except OSError as error:
        containment.missing.append(f"Landlock ({error})")
    if network_isolated:
        _first_process_of_namespace(libc)
    return containment


def _first_process_of_namespace(libc) -> None:
    """Fork into the new PID namespace; the parent waits and exits with the child's status, the child returns."""
    child = os.fork()
    if child == 0:
        libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # killed with its parent, and with it the whole namespace
        return
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def probe() -> Containment:
    """What :func:`contain` can apply on this machine, tried in a throwaway process."""
    with tempfile.TemporaryDirectory(prefix="latent-course-probe-") as folder:
        os.chmod(folder, 0o777)  # noqa: S103 - the probe may run as nobody
        process = subprocess.Popen([sys.executable, "-m", "latent_course.tools.sandbox", folder], cwd=folder,
                                   env=environment(Path(folder)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        output, errors = process.communicate(timeout=60)
        remove_pids_cgroup(process.pid)
    try:
        return Containment(**json.loads(output.splitlines()[-1]))
    except (IndexError, ValueError, TypeError):
        return Containment(missing=[f"the probe failed: {errors.strip()[-300:]}"])


if __name__ == "__main__":
    import matplotlib.pyplot  # noqa: F401 - as the submission's process, which imports before it is contained

    found = contain(Path(sys.argv[1]), 1024)
    print(json.dumps({"applied": found.applied, "missing": found.missing}), flush=True)
