"""The sandbox: what student code can and cannot reach (the real worker, in bwrap)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from optreg.grading.course import find_course_root
from optreg.grading.sandbox import Limits, check_sandbox, sandbox_prefix
from optreg.grading.student import StudentProcess

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
from cases import SNOOP  # noqa: E402


def run_in_sandbox(
    cells: list[str], *, limits: Limits | None = None, timeout: int = 20
) -> list[tuple[str, str | None]]:
    """Execute ``cells`` in the sandboxed worker; returns each cell's (output, error)."""
    process = StudentProcess(cells, sandbox_prefix(64999, limits or Limits()), cell_timeout=timeout)
    try:
        process.start()
    finally:
        process.close()
    return [process.results.get(i, ("", "skipped")) for i in range(len(cells))]


def _stdout(result: tuple[str, str | None]) -> str:
    return result[0]


def test_sandbox_starts():
    assert check_sandbox() is None


def test_student_code_reaches_nothing_outside_its_scratch_dir(tmp_path):
    # a gradebook and another student's notebook that exist on the machine while grading
    other = Path(tempfile.mkdtemp(prefix="og-other-"))
    (other / "c" / "submitted" / "bob" / "a").mkdir(parents=True)
    (other / "c" / "submitted" / "bob" / "a" / "a.ipynb").write_text("{}")
    (other / "c" / "gradebook.db").write_text("hidden tests")
    os.chmod(other, 0o755)
    outputs = run_in_sandbox(
        [
            SNOOP,
            f"import os\nprint(__import__('json').dumps(LEAKED + "
            f"[p for p in [{str(ROOT / 'solutions')!r}, {str(ROOT / 'autograder' / 'hidden')!r}, "
            f"{str(other)!r}] "
            f"if os.path.exists(p)] + [p for p in (os.listdir({str(ROOT)!r}) if os.path.isdir("
            f"{str(ROOT)!r}) else []) if p != '.venv']))",
            "open('mine.txt', 'w').write('ok'); print(open('mine.txt').read())",
        ]
    )
    leaked = json.loads(_stdout(outputs[1]).strip())
    assert leaked == [], f"the sandbox let student code reach: {leaked}"
    assert _stdout(outputs[2]).strip() == "ok"  # its own scratch directory is writable


def test_limits_apply_inside_the_sandbox():
    outputs = run_in_sandbox(
        [
            "import resource, os\n"
            "print(resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20,"
            " resource.getrlimit(resource.RLIMIT_NPROC)[0], os.getuid() != 0)",
            "try:\n    hog = bytearray(3 * 2**30)\n    print('allocated')\n"
            "except MemoryError:\n    print('MemoryError')",
            "import threading, time\nstarted = 0\ntry:\n    for _ in range(200):\n"
            "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
            "        started += 1\nexcept RuntimeError:\n    pass\nprint(started)",
            "try:\n    open('big.bin', 'wb').write(b'0' * (3 * 2**20))\n    print('wrote')\n"
            "except OSError as e:\n    print('OSError', e.errno)",
            "import os\ntry:\n    os.fork()\n    print('forked')\n"
            "except OSError:\n    print('refused')",
            "written = 0\ntry:\n    for i in range(100):\n"
            "        open(f'f{i}', 'wb').write(b'0' * 2**20)\n        written += 1\n"
            "except OSError as e:\n    print(written, 'OSError', e.errno)",
        ],
        limits=Limits(memory_mb=1024, file_size_mb=2, scratch_mb=8),
    )
    memory, nproc, unprivileged = _stdout(outputs[0]).split()
    assert (int(memory), int(nproc), unprivileged) == (1024, 1, "True")
    assert _stdout(outputs[1]).strip() == "MemoryError"
    assert int(_stdout(outputs[2]).strip()) == 0  # one process, one thread
    assert _stdout(outputs[3]).strip().startswith("OSError 27")  # EFBIG
    assert _stdout(outputs[4]).strip() == "refused"
    written, _, errno = _stdout(outputs[5]).split()
    assert int(written) <= 8 and errno == "28"  # ENOSPC: the scratch tmpfs is full


def test_system_is_read_only():
    paths = ["/usr/owned", "/etc/owned", "/owned", "/tmp/owned", "/proc/owned", "/work/owned"]
    outputs = run_in_sandbox(
        [
            f"try:\n    open({path!r}, 'w')\n    print('wrote')\n"
            "except OSError:\n    print('refused')"
            for path in paths
        ]
    )
    assert [_stdout(o).strip() for o in outputs] == ["refused"] * len(paths)


def _wheel(folder: Path) -> Path:
    """A pure-Python wheel (``zipimport`` imports it straight from the zip)."""
    import zipfile

    path = folder / "leakpkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leakpkg/__init__.py", "def grad(f):\n    return 'autodiff'\n")
    os.chmod(folder, 0o755)
    os.chmod(path, 0o644)
    return path


def test_no_package_of_the_host_is_importable():
    # Red team F9: /opt (a wheel mirror on the grading machine) was bound, and a pure-Python
    # wheel there gave the student automatic differentiation. A wheel we put there ourselves,
    # the mirror's own wheels, and the system's package folders must all be out of reach.
    try:
        folder = Path(tempfile.mkdtemp(prefix="optreg-wheel-", dir="/opt"))
    except OSError:  # an unprivileged grader: /opt is not ours to write
        folder = Path(tempfile.mkdtemp(prefix="optreg-wheel-"))
    try:
        ours = _wheel(folder)
        wheels = [str(ours), *sorted(map(str, Path("/opt").glob("**/autograd-*.whl")))[:1]]
        probe = "import sys\nsys.path.insert(0, sys.argv[1])\nimport leakpkg"
        host = subprocess.run([sys.executable, "-c", probe, str(ours)], capture_output=True)
        assert host.returncode == 0  # the wheel works outside the sandbox
        outputs = run_in_sandbox(
            [
                "import glob, os, sys, json\n"
                f"for wheel in {wheels!r}:\n"
                "    sys.path.insert(0, wheel)\n"
                "found = []\n"
                "for name in ('leakpkg', 'autograd'):\n"
                "    try:\n"
                "        __import__(name)\n"
                "        found.append(name)\n"
                "    except ImportError:\n"
                "        pass\n"
                "print(json.dumps([found, glob.glob('/opt/*'), sorted(os.listdir('/etc')),"
                " glob.glob('/usr/lib/python3*/*-packages/*')"
                " + glob.glob('/usr/local/lib/python3*/*-packages/*')]))",
                "import numpy as np\nprint(np.linalg.solve(np.eye(2) * 2, np.ones(2)).tolist())",
            ]
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    found, opt, etc, system_packages = json.loads(_stdout(outputs[0]))
    assert found == [] and opt == [] and system_packages == []
    assert set(etc) <= {"ld.so.cache", "localtime"}
    assert json.loads(_stdout(outputs[1])) == [0.5, 0.5]  # NumPy still works
