"""``optreg grade`` killed mid-run resumes without losing or duplicating a grade, reading an
LMS zip; and ``optreg grade --validate`` exits non-zero on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat

from optreg.cli import main
from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

ASSIGNMENT = "05_regularization"
OPTREG = [sys.executable, "-m", "optreg.cli"]


def _class_zip(tmp_path: Path) -> Path:
    """An LMS export: one top folder, a folder per student."""
    folder = tmp_path / "class"
    cases.write_notebook(
        cases.student_notebook(ROOT, ASSIGNMENT), folder / "full" / f"{ASSIGNMENT}.ipynb"
    )
    cases.write_notebook(
        cases.student_notebook(ROOT, ASSIGNMENT, solved=False),
        folder / "stub" / f"{ASSIGNMENT}.ipynb",
    )
    for label, edits, _ in cases.MUTANTS[ASSIGNMENT][:1]:
        cases.write_notebook(
            cases.student_notebook(ROOT, ASSIGNMENT, edits), folder / label / f"{ASSIGNMENT}.ipynb"
        )
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.ipynb")):
            zf.write(path, f"course-export/{path.relative_to(folder)}")
    return archive


def _grade(archive: Path, out: Path, jobs: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*OPTREG, "grade", ASSIGNMENT, str(archive), "--out", str(out), "--jobs", str(jobs)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_killed_run_resumes_to_the_same_grades(tmp_path):
    archive = _class_zip(tmp_path)
    uninterrupted = _grade(archive, tmp_path / "a", jobs=2)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    out = tmp_path / "b"
    state = out / ".grading" / ASSIGNMENT / "state"
    proc = subprocess.Popen(
        [*OPTREG, "grade", ASSIGNMENT, str(archive), "--out", str(out), "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(state.glob("*.json")):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # like a power cut: no clean-up at all
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in state.glob("*.json")}
    assert 1 <= len(finished) < 3
    assert not (out / "grades.csv").exists()

    resumed = _grade(archive, out, jobs=2)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming: {len(finished)} students already graded" in resumed.stdout
    for name, mtime in finished.items():  # finished students were not graded again
        assert (state / name).stat().st_mtime_ns == mtime
    assert (out / "grades.csv").read_text() == (tmp_path / "a" / "grades.csv").read_text()
    lines = (out / "grades.csv").read_text().splitlines()
    assert len(lines) == 4 and len(set(lines)) == 4  # header + one row per student
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(
        p.name for p in (tmp_path / "a" / "feedback").iterdir()
    )


def test_validate_exit_status(tmp_path, capsys):
    good = cases.write_notebook(
        cases.student_notebook(ROOT, ASSIGNMENT), tmp_path / "good" / f"{ASSIGNMENT}.ipynb"
    )
    assert main(["grade", "--validate", str(good)]) == 0
    assert "Success" in capsys.readouterr().out
    bad = cases.student_notebook(ROOT, ASSIGNMENT, cases.MUTANTS[ASSIGNMENT][0][1])
    bad_path = cases.write_notebook(bad, tmp_path / "bad" / f"{ASSIGNMENT}.ipynb")
    assert main(["grade", "--validate", str(bad_path)]) == 1
    assert "VALIDATION FAILED" in capsys.readouterr().out
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert main(["grade", "--validate", str(broken)]) == 1
    stub = cases.write_notebook(
        cases.student_notebook(ROOT, ASSIGNMENT, solved=False),
        tmp_path / "stub" / f"{ASSIGNMENT}.ipynb",
    )
    nb = nbformat.read(stub, 4)
    assert main(["grade", "--validate", str(stub)]) == 1
    assert nb.cells  # the stub is a real notebook: failing here means its tests fail
