"""The sandboxed kernel: what student code can and cannot reach (a real kernel, in bwrap)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from optreg.grading.course import find_course_root
from optreg.grading.sandbox import (
    Limits,
    SandboxKernelManager,
    check_sandbox,
    prepare_scratch,
    sandbox_prefix,
)

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
from cases import SNOOP  # noqa: E402


def run_in_sandbox(cells: list[str], *, limits: Limits | None = None,
                   timeout: int = 20) -> list[list[dict]]:
    """Execute ``cells`` in a sandboxed kernel; returns each cell's outputs."""
    limits = limits or Limits()
    tmp = Path(tempfile.mkdtemp(prefix="og-test-"))
    scratch = prepare_scratch(tmp / "s")
    config = Config()
    config.SandboxKernelManager.sandbox_prefix = sandbox_prefix(scratch, 64999, limits)
    config.SandboxKernelManager.transport = "ipc"
    config.SandboxKernelManager.ip = str(scratch / ".k")
    config.SandboxKernelManager.connection_file = str(scratch / ".kernel.json")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            kernel_manager_class=SandboxKernelManager, config=config)
    client.execute(cwd=str(scratch))
    return [[dict(o) for o in cell.outputs] for cell in nb.cells]


def _stdout(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def test_sandbox_starts():
    assert check_sandbox() is None


def test_student_code_reaches_nothing_outside_its_scratch_dir(tmp_path):
    # a gradebook and another student's notebook that exist on the machine while grading
    other = Path(tempfile.mkdtemp(prefix="og-other-"))
    (other / "c" / "submitted" / "bob" / "a").mkdir(parents=True)
    (other / "c" / "submitted" / "bob" / "a" / "a.ipynb").write_text("{}")
    (other / "c" / "gradebook.db").write_text("hidden tests")
    os.chmod(other, 0o755)
    outputs = run_in_sandbox([
        SNOOP,
        f"import os\nprint(__import__('json').dumps(LEAKED + "
        f"[p for p in [{str(ROOT / 'solutions')!r}, {str(other)!r}] "
        f"if os.path.exists(p)] + [p for p in (os.listdir({str(ROOT)!r}) if os.path.isdir("
        f"{str(ROOT)!r}) else []) if p != '.venv']))",
        "open('mine.txt', 'w').write('ok'); print(open('mine.txt').read())",
    ])
    leaked = json.loads(_stdout(outputs[1]).strip())
    assert leaked == [], f"the sandbox let student code reach: {leaked}"
    assert _stdout(outputs[2]).strip() == "ok"   # its own scratch directory is writable


def test_limits_apply_inside_the_kernel():
    outputs = run_in_sandbox([
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
    ], limits=Limits(memory_mb=1024, processes=64, file_size_mb=2))
    memory, nproc, unprivileged = _stdout(outputs[0]).split()
    assert (int(memory), int(nproc), unprivileged) == (1024, 64, "True")
    assert _stdout(outputs[1]).strip() == "MemoryError"
    assert int(_stdout(outputs[2]).strip()) < 64
    assert _stdout(outputs[3]).strip().startswith("OSError 27")  # EFBIG


def test_system_is_read_only():
    paths = ["/usr/owned", "/etc/owned", "/owned", "/tmp/owned", "/proc/owned"]
    outputs = run_in_sandbox([f"try:\n    open({path!r}, 'w')\n    print('wrote')\n"
                              "except OSError:\n    print('refused')" for path in paths])
    assert [_stdout(o).strip() for o in outputs] == ["refused"] * len(paths)
