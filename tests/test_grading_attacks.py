"""Attacks on the grader, through the real ``optreg grade`` with the sandbox on (issue 9).

Each attack of ``autograder/cases.py`` is written into an otherwise blank notebook (rewriting
later cells through the worker's frames or IPython hooks, hiding errors, reaching the checker
through builtins, NumPy or the garbage collector, objects whose ``__eq__``/``__array__``/
``tolist`` lie, forged outputs and forged protocol messages, functions that spin forever) and
must score 0; resource attacks (fork bomb, threads, disk and inode floods) added to a correct
notebook must change nothing, in a class where a correct student keeps full marks; submissions
that are symbolic links are refused as ``invalid`` without being read.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest

from optreg.cli import main
from optreg.grading.course import find_course_root

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

ASSIGNMENT = "02_schedules"
BUDGET = 60


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    expect = cases.attack_class(ROOT, base / "class", ASSIGNMENT)
    start = time.monotonic()
    code = main(
        [
            "grade",
            ASSIGNMENT,
            str(base / "class"),
            "--out",
            str(base / "out"),
            "--jobs",
            "2",
            "--timeout",
            "5",
            "--call-timeout",
            "1",
            "--budget",
            str(BUDGET),
        ]
    )
    elapsed = time.monotonic() - start
    assert code == 0
    with open(base / "out" / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    return base, expect, rows, elapsed


def test_every_student_has_a_row(graded):
    _, expect, rows, _ = graded
    assert sorted(rows) == sorted(expect)


@pytest.mark.parametrize(
    "student",
    sorted(
        [
            "full",
            *cases.ATTACKS,
            *cases.RESOURCE_ATTACKS,
            "symlink_notebook",
            "symlink_folder",
            "symlink_system_file",
        ]
    ),
)
def test_attack_scores_what_the_work_deserves(graded, student):
    _, expect, rows, _ = graded
    status, score = expect[student]
    row = rows[student]
    assert (row["status"], float(row["score"])) == (status, score), row


def test_links_are_refused_unread(graded):
    base, _, rows, _ = graded
    for student in ("symlink_notebook", "symlink_folder", "symlink_system_file"):
        assert "symbolic link" in rows[student]["message"], rows[student]
    page = (base / "out" / "feedback" / "symlink_system_file" / f"{ASSIGNMENT}.html").read_text()
    assert "root:" not in page  # /etc/passwd was not read into the feedback


def test_grading_stays_bounded(graded):
    _, _, rows, elapsed = graded
    # 16 students on 2 jobs, each bounded by its budget; far less in practice
    assert elapsed < 8 * BUDGET + 120, elapsed


def test_forged_outputs_are_not_verdicts(graded):
    base, _, _, _ = graded
    page = (base / "out" / "feedback" / "forges_outputs" / f"{ASSIGNMENT}.html").read_text()
    assert "NotImplementedError" in page  # the grader's own message for the stub's functions
    assert len(page) < 2_000_000  # the 10 MB print was capped
