"""The sandbox that student code runs in: ``prlimit`` + ``bwrap`` around the student's process.

The process sees a fresh root file system holding only, read-only, the system folders
(``/usr``, ``/lib``, ...: :data:`SYSTEM_DIRS`; of ``/etc`` only :data:`SYSTEM_FILES`; the
system's own Python packages hidden) and the Python installation with NumPy as its only
installed package (:data:`SANDBOX_PACKAGES`), plus ONE writable folder: a private
size- and inode-limited tmpfs (:data:`SCRATCH`, mounted in a private mount namespace where
the grader may mount, else bwrap's size-limited one), its working and home directory, gone
when it exits. It
has no network (its own empty network namespace), its own PID namespace (every process it
starts dies with it), its own session, a clean environment, and runs as an unprivileged user
id of its own (one per student, so the process limit counts only that student) with limits:

* ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_NPROC`` (processes/threads of
  that user), ``RLIMIT_FSIZE`` (largest file it may write), ``RLIMIT_NOFILE``, no core dumps.

The repository, the hidden tests, the gradebook and the other students' submissions are simply
not in its file system. The grader talks to it over its stdin/stdout pipes only.

Root is not needed. Run as root, the grader switches the process to a user id of its own with
``setpriv``; run as an ordinary user (an instructor on a JupyterHub), ``bwrap`` puts it in a new
user namespace (``--unshare-user``: Debian's bwrap allows that wherever the kernel allows
unprivileged user namespaces) with the grader's user mapped to that id, no capabilities, and
the process limit set inside it. Where user namespaces are forbidden, :func:`check_sandbox`
says what to enable (:data:`USERNS_HELP`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# What Python and NumPy need of the system, nothing more: not /opt or /srv (a wheel there is a
# package the student could import), not all of /etc (hub and site configs).
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")
SCRATCH = "/scratch"
# The only installed packages the student's process sees (plus the standard library): what the
# exercises need. Keras, TensorFlow, SciPy, ... would let a student call a built-in in place of
# writing the algorithm.
SANDBOX_PACKAGES = ("numpy", "numpy.libs")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one student's process."""

    memory_mb: int = 2048
    cpu_seconds: int = 600
    processes: int = 1  # one process, one thread: no fork bomb, no spinning threads
    file_size_mb: int = 16
    open_files: int = 256
    scratch_mb: int = 64
    scratch_inodes: int = 4096  # files and folders in the scratch (where the system allows it)

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
    dirs = {
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(sys.executable).resolve().parent.parent,
    }
    return sorted(d for d in dirs if not any(str(d).startswith(s + "/") for s in SYSTEM_DIRS))


def _site_packages() -> list[Path]:
    """The ``site-packages`` folders of the Python installation bound into the sandbox."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [
        folder / "lib" / version / "site-packages"
        for folder in _python_dirs()
        if (folder / "lib" / version / "site-packages").is_dir()
    ]


def _system_packages() -> list[Path]:
    """The system's own Python package folders (Debian's ``python3-*``, ``pip install`` as
    root): hidden in the sandbox, where ``sys.path.insert`` would reach them."""
    patterns = ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages")
    found = {Path(p) for pattern in patterns for p in glob.glob(pattern) if os.path.isdir(p)}
    return sorted(found - set(_site_packages()))


_MOUNT_POINT: list[str] = []


def _scratch_mount_point() -> str | None:
    """An empty folder over which a private mount namespace can mount the scratch tmpfs with an
    inode limit, or None where this process may not mount (bwrap's own ``--tmpfs`` caps bytes
    only; see ``autograder/README.md`` for the bound then)."""
    if not _MOUNT_POINT:
        import atexit
        import tempfile

        folder = tempfile.mkdtemp(prefix="optreg-scratch-")
        atexit.register(os.rmdir, folder)
        probe = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=65536,nr_inodes=16",
            "tmpfs",
            folder,
        ]
        try:
            ok = (
                shutil.which("unshare") is not None
                and subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
            )
        except (OSError, subprocess.SubprocessError):
            ok = False
        _MOUNT_POINT.append(folder if ok else "")
    return _MOUNT_POINT[0] or None


def _scratch_args(limits: Limits) -> tuple[list[str], list[str]]:
    """(what comes before ``bwrap``, bwrap's arguments) for the scratch folder."""
    size = limits.scratch_mb * 1024 * 1024
    folder = _scratch_mount_point()
    if folder is None:
        return [], ["--perms", "1777", "--size", str(size), "--tmpfs", SCRATCH]
    mount = (
        f"mount -t tmpfs -o size={size},nr_inodes={limits.scratch_inodes},mode=1777 "
        'tmpfs "$0" && exec "$@"'
    )
    return (
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount, folder],
        ["--bind", folder, SCRATCH],
    )


def privileged() -> bool:
    """Whether the grader runs as root (else bwrap makes a user namespace, see the docstring)."""
    return os.geteuid() == 0


def sandbox_prefix(uid: int, limits: Limits) -> list[str]:
    """The command prefix that runs a program in the sandbox described in the module docstring."""
    before, scratch = _scratch_args(limits)
    outside = limits.prlimit_args()
    if not privileged():  # the process limit applies inside the user namespace (see below)
        outside = [a for a in outside if not a.startswith("--nproc=")]
    args = [
        "prlimit",
        *outside,
        "--",
        *before,
        "bwrap",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    for system_dir in SYSTEM_DIRS:
        if os.path.islink(system_dir):
            args += ["--symlink", os.readlink(system_dir), system_dir]
        elif os.path.isdir(system_dir):
            args += ["--ro-bind", system_dir, system_dir]
    for folder in sorted({os.path.dirname(f) for f in SYSTEM_FILES}):
        args += ["--perms", "0755", "--dir", folder]
    for system_file in SYSTEM_FILES:
        args += ["--ro-bind-try", system_file, system_file]
    created: set[str] = set()
    for folder in _python_dirs():
        for ancestor in _ancestors(folder):
            if ancestor not in created and not ancestor.startswith(SYSTEM_DIRS):
                args += ["--perms", "0755", "--dir", ancestor]
                created.add(ancestor)
    for folder in _python_dirs():
        args += ["--ro-bind", str(folder), str(folder)]
    for site in _site_packages():  # an empty, read-only folder but for SANDBOX_PACKAGES
        args += ["--perms", "0755", "--size", str(1024 * 1024), "--tmpfs", str(site)]
        for package in SANDBOX_PACKAGES:
            if (site / package).is_dir():
                args += ["--ro-bind", str(site / package), str(site / package)]
        args += ["--remount-ro", str(site)]
    for folder in _system_packages():
        args += ["--perms", "0755", "--size", "4096", "--tmpfs", str(folder)]
        args += ["--remount-ro", str(folder)]
    args += [*scratch, "--chdir", SCRATCH]
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
    if not privileged():
        # An unprivileged grader: bwrap maps the grader's own user to ``uid`` in a new user
        # namespace (no capabilities, no_new_privs set by bwrap); the process limit is set in
        # there, once bwrap's own processes exist.
        insert = args.index("--unshare-net")
        args[insert:insert] = ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]
        return [*args, "prlimit", f"--nproc={limits.processes}", "--"]
    args += [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--no-new-privs",
        "--",
    ]
    return args


USERNS_HELP = (
    "the sandbox needs user namespaces for an unprivileged user (bwrap --unshare-user), which "
    "this machine forbids: allow them (sysctl user.max_user_namespaces=15000; on Debian/Ubuntu "
    "also kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ "
    "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile allowing userns for "
    "/usr/bin/bwrap; in a container, a seccomp profile allowing clone(CLONE_NEWUSER)), or "
    "grade as root, or pass --no-sandbox to run the students' code unconfined (trusted "
    "notebooks only)"
)


def _max_user_namespaces() -> int | None:
    try:
        return int(Path("/proc/sys/user/max_user_namespaces").read_text())
    except (OSError, ValueError):
        return None


def check_sandbox() -> str | None:
    """None if a sandboxed program can start here, else the reason it cannot."""
    missing = missing_tools()
    if missing:
        return f"missing commands: {', '.join(missing)} (Debian packages bubblewrap, util-linux)"
    if not privileged() and _max_user_namespaces() == 0:
        return f"user.max_user_namespaces is 0: {USERNS_HELP}"
    cmd = sandbox_prefix(65000, Limits()) + [sys.executable, "-c", "print('ok')"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or result.stdout.strip() != "ok":
        error = result.stderr.strip()[:500]
        if not privileged() and "namespace" in error.lower():
            return f"bwrap failed ({error}): {USERNS_HELP}"
        return f"bwrap failed (exit {result.returncode}): {error}"
    return None
