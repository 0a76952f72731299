"""Every wrong implementation in ``autograder/cases.py`` fails the test cells it names.

``test_grading_mutants.py`` grades the first few mutants of each assignment end to end through
the sandbox (slow); this file checks all of them quickly: the nbgrader source notebook (with its
hidden tests) is executed cell by cell in a fresh namespace, with the mutant's edits applied to
the answer cells, and the graded cells that raise are collected. The unchanged solution must
pass every graded cell, silently on stderr.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import nbformat
import pytest

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def failing_cells(assignment: str, edits=()) -> dict[str, str]:
    """{graded cell: why it failed} after running the source notebook with ``edits``."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    for grade_id, old, new in edits:
        cells = [c for c in nb.cells if _meta(c).get("grade_id") == grade_id]
        assert cells and old in cells[0].source, f"edit {old!r} not applicable to {grade_id}"
        cells[0].source = cells[0].source.replace(old, new, 1)
    namespace: dict = {"__name__": "__main__"}
    failed = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = _meta(cell).get("grade_id") or "free cell"
        err = io.StringIO()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                exec(compile(cell.source, grade_id, "exec"), namespace)  # noqa: S102
        except Exception as exc:  # a failing test cell, or a crash the mutant caused
            failed[grade_id] = f"{type(exc).__name__}: {exc}"
            continue
        if _meta(cell).get("grade") and err.getvalue():
            failed[grade_id] = "wrote to stderr: " + err.getvalue()[:200]
    return failed


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_graded_cell(assignment):
    assert failing_cells(assignment) == {}


MUTANTS = [(assignment, label, edits, failing)
           for assignment in ASSIGNMENTS
           for label, edits, failing in cases.MUTANTS[assignment]]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong-sign optimizers diverge, by design
@pytest.mark.parametrize(("assignment", "label", "edits", "failing"), MUTANTS,
                         ids=[f"{a}-{label}" for a, label, _, _ in MUTANTS])
def test_mutant_fails_its_test_cells(assignment, label, edits, failing):
    failed = failing_cells(assignment, edits)
    missed = [test for test in failing if test not in failed]
    assert not missed, f"{label} passes {missed} (failed: {sorted(failed)})"
