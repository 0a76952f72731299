"""Every wrong implementation in ``autograder/cases.py`` fails the test cells it names.

``test_grading_mutants.py`` grades the first few mutants of each assignment end to end through
``optreg grade`` and the sandbox (slow); this file checks all of them quickly with the same
grader (:func:`optreg.grading.grader.grade_notebook`: the student's code in a worker process,
visible and hidden tests in this process), without the sandbox. The unchanged solution must
pass every graded cell, and a released stub none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root
from optreg.grading.grader import grade_notebook, hidden_tests_path, load_hidden

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402


def failing_cells(assignment: str, edits=(), solved: bool = True) -> dict[str, str]:
    """{graded cell: why it failed} for the released notebook answered with the solution
    (or the stubs), with ``edits`` applied."""
    nb = cases.student_notebook(ROOT, assignment, edits, solved=solved)
    grading = grade_notebook(nb, load_hidden(hidden_tests_path(ROOT, assignment)))
    assert not grading.notes, grading.notes
    return {g: v.message for g, v in grading.verdicts.items() if not v.passed}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_graded_cell_and_the_stub_none(assignment):
    assert failing_cells(assignment) == {}
    failed = failing_cells(assignment, solved=False)
    graded = load_hidden(hidden_tests_path(ROOT, assignment))
    assert sorted(failed) == sorted(graded)
    assert all("NotImplementedError" in why for why in failed.values()), failed


MUTANTS = [
    (assignment, label, edits, failing)
    for assignment in ASSIGNMENTS
    for label, edits, failing in cases.MUTANTS[assignment]
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong-sign optimizers diverge, by design
@pytest.mark.parametrize(
    ("assignment", "label", "edits", "failing"),
    MUTANTS,
    ids=[f"{a}-{label}" for a, label, _, _ in MUTANTS],
)
def test_mutant_fails_its_test_cells(assignment, label, edits, failing):
    failed = failing_cells(assignment, edits)
    missed = [test for test in failing if test not in failed]
    assert not missed, f"{label} passes {missed} (failed: {sorted(failed)})"
