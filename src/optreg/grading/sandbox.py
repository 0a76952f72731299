"""The sandbox that student code runs in: a Jupyter kernel wrapped in ``prlimit`` + ``bwrap``.

The kernel process sees a fresh root file system holding only, read-only, the system folders
(``/usr``, ``/etc``, ...) and the Python installation, plus ONE writable folder: the student's
scratch directory, which is also its working and home directory and where the kernel's
connection file and IPC sockets live. It has no network (its own empty network namespace),
its own PID namespace (every process it starts dies with it), a clean environment, and runs as
an unprivileged user id of its own with resource limits:

* ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_NPROC`` (processes/threads of
  that user), ``RLIMIT_FSIZE`` (largest file it may write), ``RLIMIT_NOFILE``, no core dumps.

The repository (``solutions/``), the gradebook (which holds the hidden tests) and the other
students' submissions are simply not in the kernel's file system. The client (nbgrader, outside
the sandbox) talks to the kernel over Unix sockets in the scratch directory, so the kernel needs
no network at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List

SYSTEM_DIRS = ("/usr", "/etc", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student's kernel."""

    memory_mb: int = 2048
    cpu_seconds: int = 900
    processes: int = 256
    file_size_mb: int = 64
    open_files: int = 512

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


def sandbox_prefix(scratch: Path, uid: int, limits: Limits) -> list[str]:
    """The command prefix that runs a program in the sandbox described in the module docstring.

    ``scratch`` must exist and be writable by ``uid``; it becomes the working directory."""
    scratch = Path(scratch).resolve()
    args = ["prlimit", *limits.prlimit_args(), "--", "bwrap",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent", "--clearenv",
            "--proc", "/proc", "--dev", "/dev"]
    for system_dir in SYSTEM_DIRS:
        if os.path.islink(system_dir):
            args += ["--symlink", os.readlink(system_dir), system_dir]
        elif os.path.isdir(system_dir):
            args += ["--ro-bind", system_dir, system_dir]
    created: set[str] = set()
    for folder in [*_python_dirs(), scratch]:
        for ancestor in _ancestors(folder):
            if ancestor not in created and not ancestor.startswith(SYSTEM_DIRS):
                args += ["--perms", "0755", "--dir", ancestor]
                created.add(ancestor)
    for folder in _python_dirs():
        args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "IPYTHONDIR": str(scratch / ".ipython"),
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
             "--no-new-privs", "--"]
    return args


def prepare_scratch(scratch: Path) -> Path:
    """Create the scratch directory, writable by the sandbox's user."""
    scratch.mkdir(parents=True, exist_ok=True)
    scratch.chmod(0o777)
    for parent in scratch.parents:  # root-owned private temp folders must stay traversable
        if parent == Path(parent.anchor) or parent.stat().st_uid != os.getuid():
            break
        if not parent.stat().st_mode & 0o001:
            parent.chmod(parent.stat().st_mode | 0o711)
    return scratch


def check_sandbox() -> str | None:
    """None if a sandboxed program can start here, else the reason it cannot."""
    missing = missing_tools()
    if missing:
        return f"missing commands: {', '.join(missing)} (Debian packages bubblewrap, util-linux)"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="og-") as tmp:
        scratch = prepare_scratch(Path(tmp) / "s")
        cmd = sandbox_prefix(scratch, 65000, Limits()) + [sys.executable, "-c", "print('ok')"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or result.stdout.strip() != "ok":
            return f"bwrap failed (exit {result.returncode}): {result.stderr.strip()[:500]}"
    return None


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is prefixed with ``sandbox_prefix``."""

    sandbox_prefix = List([], help="command prefix wrapping the kernel").tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.sandbox_prefix, *super().format_kernel_cmd(extra_arguments)]

    def write_connection_file(self, **kwargs) -> None:
        # jupyter_client writes it mode 0600 as the grader's user; the kernel runs as another
        # user and must read it (only this student's sandbox can see the folder it is in).
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)

    @property
    def kernel_spec(self):  # noqa: ANN201 (jupyter_client's KernelSpec)
        # A SIGINT to the process group would hit bwrap (which then takes the kernel down):
        # interrupt by message instead; the kernel then signals only itself.
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec
