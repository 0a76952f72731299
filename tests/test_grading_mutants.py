"""End to end on the real notebooks: for each assignment, a class with the correct solution,
the released stub, a cheater (monkeypatches numpy, math and assertion helpers) and wrong
implementations (wrong sign, missing bias correction, dropout without rescaling, BatchNorm with
batch statistics at inference, off-by-one steps, ...) is graded by ``grade_class``, sandbox on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root
from optreg.grading.runner import GradingRun, grade_class

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_stub_zero_and_every_mutant_loses_points(assignment, tmp_path):
    # the first four wrong implementations of each assignment (all of them: bench/, by hand)
    expected = cases.mutant_class(ROOT, assignment, tmp_path / "class", mutants=4)
    rows = grade_class(
        GradingRun(
            assignment,
            tmp_path / "class",
            tmp_path / "out",
            jobs=2,
            timeout=30,
            feedback=False,
            log=lambda message: None,
        )
    )
    by_student = {row["student_id"]: row for row in rows}
    assert sorted(by_student) == sorted(expected)
    full = by_student["full"]
    assert full["status"] == "graded"
    # the written answer waits for a person (formgrader): no automatic points, no crash
    written = cases.written_points(ROOT, assignment)
    assert len(written) == 1 and set(written) <= set(full["cells"]), full["cells"]
    assert full["score"] == full["max_score"] - sum(written.values()) > 0, full
    assert all(full["cells"][gid] in (0, None) for gid in written), full["cells"]
    assert all(score > 0 for gid, score in full["cells"].items() if gid not in written)
    for student in ("stub", "cheater"):
        assert by_student[student]["score"] == 0, by_student[student]
    for label, failing in expected.items():
        if not failing:
            continue
        row = by_student[label]
        assert row["score"] < row["max_score"], f"{label} got full marks"
        for test in failing:
            assert row["cells"][test] == 0, f"{label}: {test} passed ({row['cells']})"
