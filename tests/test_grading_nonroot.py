"""No root needed: a whole class graded by an unprivileged user (uid 65534, no capabilities),
sandbox on (bwrap in a user namespace), and the clear refusal where user namespaces are
forbidden.

The test itself starts as root (``make test`` runs as root in CI) only to set the stage: a
private mount namespace in which the Python installation is reachable by other users (pyenv
keeps it under ``/root``, mode 0700; on a JupyterHub the user's Python is theirs). The grading
then runs as the unprivileged user."""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

A = "05_regularization"
NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sets the stage as root (see above)")


def _blocked_ancestor(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter."""
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def staged(python_args: list[str], base: Path, proc_sys_zero: bool = False):
    """``python PYTHON_ARGS`` as uid 65534 with no capabilities (see the module docstring);
    with ``proc_sys_zero``, /proc/sys/user/max_user_namespaces reads 0."""
    python = Path(sys.base_prefix).resolve()
    blocked = _blocked_ancestor(python)
    stage = ["set -e"]
    if blocked is not None:
        keep = base / "python-mount"
        keep.mkdir(exist_ok=True)
        stage += [
            f"mount --bind '{python}' '{keep}'",
            f"mount -t tmpfs -o mode=755 tmpfs '{blocked}'",
            f"mkdir -p '{python}'",
            f"mount --move '{keep}' '{python}'",
        ]
    if proc_sys_zero:
        (base / "zero").write_text("0\n")
        stage.append(f"mount --bind '{base / 'zero'}' /proc/sys/user/max_user_namespaces")
    env = f"PATH={Path(sys.executable).parent}:/usr/bin:/bin HOME={base / 'home'} LANG=C.UTF-8"
    command = " ".join(f"'{a}'" for a in [sys.executable, *python_args])
    stage.append(
        f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups --inh-caps=-all "
        f"--bounding-set=-all env -i {env} {command}"
    )
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(stage)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=base,
    )


def as_nobody(args: list[str], base: Path, proc_sys_zero: bool = False):
    """``optreg ARGS`` as the unprivileged user."""
    return staged(["-m", "optreg.cli", *args], base, proc_sys_zero)


@pytest.fixture
def stage():
    base = Path(tempfile.mkdtemp(prefix="optreg-nonroot-"))
    os.chmod(base, 0o755)
    (base / "home").mkdir()
    root = base / "course"
    (root / "autograder" / "hidden").mkdir(parents=True)
    shutil.copy(ROOT / "autograder" / "nbgrader_config.py", root / "autograder")
    shutil.copy(ROOT / "autograder" / "hidden" / f"a{A}.py", root / "autograder" / "hidden")
    shutil.copytree(ROOT / "solutions" / A, root / "solutions" / A)
    folder = base / "class"
    cases.write_notebook(cases.student_notebook(ROOT, A), folder / "ann" / f"{A}.ipynb")
    stub = cases.student_notebook(ROOT, A, solved=False)
    cases.write_notebook(stub, folder / "bo" / f"{A}.ipynb")
    label, edits, _ = cases.MUTANTS[A][0]
    cases.write_notebook(cases.student_notebook(ROOT, A, edits), folder / label / f"{A}.ipynb")
    for path in [base, *base.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    yield base, root, folder, label
    shutil.rmtree(base, ignore_errors=True)


def test_a_class_graded_by_an_unprivileged_user(stage):
    base, root, folder, label = stage
    args = ["grade", A, str(folder), "--out", str(base / "out"), "--course-root", str(root)]
    args += ["--course-dir", str(base / "workspace"), "--jobs", "2"]
    done = as_nobody(args, base)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with open(base / "out" / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(["ann", "bo", label])
    assert all(r["status"] == "graded" for r in rows.values()), rows
    full = float(rows["ann"]["auto_score"])
    assert full > 0 and float(rows["bo"]["auto_score"]) == 0
    assert 0 < float(rows[label]["auto_score"]) < full  # the mutant loses its cells' points
    assert (base / "workspace" / "gradebook.db").stat().st_uid == NOBODY  # written as nobody
    assert "warning" not in done.stderr.lower()


def test_student_code_cannot_fork_or_see_the_grader_as_nobody(stage):
    """The same sandbox limits hold in the user namespace: one process, no files outside."""
    base, *_ = stage
    probe = base / "probe.py"
    probe.write_text(
        "import sys\n"
        "from optreg.grading.sandbox import Limits, check_sandbox, sandbox_prefix\n"
        "import subprocess\n"
        "assert check_sandbox() is None, check_sandbox()\n"
        'code = ("import os, json\\n"\n'
        "        \"try:\\n    os.fork() or os._exit(0); fork = 'forked'\\n\"\n"
        "        \"except OSError: fork = 'refused'\\n\"\n"
        f'        "print(json.dumps([fork, os.getuid(), os.path.exists({str(base)!r})]))")\n'
        "out = subprocess.run(sandbox_prefix(64000, Limits()) + [sys.executable, '-c', code],\n"
        "                     capture_output=True, text=True, timeout=60)\n"
        "print(out.stdout.strip() or out.stderr)\n"
    )
    os.chown(probe, NOBODY, NOBODY)
    done = staged([str(probe)], base)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == '["refused", 64000, false]'


def test_forbidden_user_namespaces_are_named_with_what_to_enable(stage):
    base, root, folder, _ = stage
    args = ["grade", A, str(folder), "--out", str(base / "out"), "--course-root", str(root)]
    args += ["--course-dir", str(base / "workspace")]
    done = as_nobody(args, base, proc_sys_zero=True)
    assert done.returncode == 1
    assert "user.max_user_namespaces" in done.stderr and "--no-sandbox" in done.stderr
    assert "kernel.unprivileged_userns_clone" in done.stderr
    assert not (base / "out" / "grades.csv").exists()
    # the explicit alternative: unconfined, and said so
    unconfined = as_nobody([*args, "--no-sandbox"], base, proc_sys_zero=True)
    assert unconfined.returncode == 0, unconfined.stderr[-2000:]
    assert "warning: --no-sandbox" in unconfined.stderr
    with open(base / "out" / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert rows["ann"]["status"] == "graded" and float(rows["ann"]["auto_score"]) > 0
