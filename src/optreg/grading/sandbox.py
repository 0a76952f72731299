"""The sandbox that student code runs in: ``prlimit`` + ``bwrap`` around the student's process.

The process sees a fresh root file system holding only, read-only, the system folders
(``/usr``, ``/etc``, ...) and the Python installation, plus ONE writable folder: a private
size-limited tmpfs (:data:`SCRATCH`), its working and home directory, gone when it exits. It
has no network (its own empty network namespace), its own PID namespace (every process it
starts dies with it), its own session, a clean environment, and runs as an unprivileged user
id of its own (one per student, so the process limit counts only that student) with limits:

* ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_NPROC`` (processes/threads of
  that user), ``RLIMIT_FSIZE`` (largest file it may write), ``RLIMIT_NOFILE``, no core dumps.

The repository, the hidden tests, the gradebook and the other students' submissions are simply
not in its file system. The grader talks to it over its stdin/stdout pipes only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/etc", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt")
SCRATCH = "/scratch"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student's process."""

    memory_mb: int = 2048
    cpu_seconds: int = 600
    processes: int = 1  # one process, one thread: no fork bomb, no spinning threads
    file_size_mb: int = 16
    open_files: int = 256
    scratch_mb: int = 64

    def prlimit_args(self) -> list[str]:
        mib = 1024 * 1024
        return [
            f"--as={self.memory_mb * mib}",
            f"--cpu={self.cpu_seconds}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_size_mb * mib}",
            f"--nofile={self.open_files}",
            "--core=0",
        ]


def missing_tools() -> list[str]:
    """Commands the sandbox needs that are not installed (``bwrap``: Debian ``bubblewrap``)."""
    return [tool for tool in ("bwrap", "prlimit", "setpriv") if shutil.which(tool) is None]


def _ancestors(path: Path) -> list[str]:
    """Folders above ``path`` (outermost first), to be created world-traversable in the sandbox."""
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


def _python_dirs() -> list[Path]:
    """The interpreter and its libraries: the venv (if any) and the base installation."""
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent}
    return sorted(d for d in dirs if not any(str(d).startswith(s + "/") for s in SYSTEM_DIRS))


def sandbox_prefix(uid: int, limits: Limits) -> list[str]:
    """The command prefix that runs a program in the sandbox described in the module docstring."""
    args = ["prlimit", *limits.prlimit_args(), "--", "bwrap",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent", "--new-session", "--clearenv",
            "--proc", "/proc", "--dev", "/dev"]
    for system_dir in SYSTEM_DIRS:
        if os.path.islink(system_dir):
            args += ["--symlink", os.readlink(system_dir), system_dir]
        elif os.path.isdir(system_dir):
            args += ["--ro-bind", system_dir, system_dir]
    created: set[str] = set()
    for folder in _python_dirs():
        for ancestor in _ancestors(folder):
            if ancestor not in created and not ancestor.startswith(SYSTEM_DIRS):
                args += ["--perms", "0755", "--dir", ancestor]
                created.add(ancestor)
    for folder in _python_dirs():
        args += ["--ro-bind", str(folder), str(folder)]
    args += ["--perms", "1777", "--size", str(limits.scratch_mb * 1024 * 1024),
             "--tmpfs", SCRATCH, "--chdir", SCRATCH]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SCRATCH,
        "TMPDIR": SCRATCH,
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": SCRATCH + "/.matplotlib",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
             "--no-new-privs", "--"]
    return args


def check_sandbox() -> str | None:
    """None if a sandboxed program can start here, else the reason it cannot."""
    missing = missing_tools()
    if missing:
        return f"missing commands: {', '.join(missing)} (Debian packages bubblewrap, util-linux)"
    cmd = sandbox_prefix(65000, Limits()) + [sys.executable, "-c", "print('ok')"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or result.stdout.strip() != "ok":
        return f"bwrap failed (exit {result.returncode}): {result.stderr.strip()[:500]}"
    return None
