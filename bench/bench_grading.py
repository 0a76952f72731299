"""Grading speed: stock serial ``nbgrader autograde`` vs ``optreg grade --jobs N`` (sandbox on).

A class of 60 submissions of one assignment (correct, stub and wrong implementations, cycled)
is graded twice, side by side in one run:

1. stock: ``nbgrader autograde ASSIGNMENT`` in a plain nbgrader course directory (one process,
   students one after the other, no sandbox, no feedback);
2. ours: ``optreg grade ASSIGNMENT CLASS --out OUT --jobs N`` (every kernel in the bwrap
   sandbox, plus feedback HTML and the summary).

Stock nbgrader runs only the visible tests (the hidden ones are not in the notebooks any more:
the grader runs them in its own process), so scores are compared where both must agree: the
correct students get full marks and the stubs 0 from both. The script prints both wall times,
CPU seconds per student, and the ratio (goal: >= 1.7x with --jobs 2 on 2 cores).

Usage: ``python bench/bench_grading.py [--students 60] [--jobs 2] [--assignment 05_...]``
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "autograder"))

import cases  # noqa: E402


def build_class(assignment: str, n: int, folder: Path) -> list[str]:
    variants = [("full", ()), ("stub", None)] + [
        (label, edits) for label, edits, _ in cases.MUTANTS[assignment]
    ]
    students = []
    for i in range(n):
        label, edits = variants[i % len(variants)]
        nb = (
            cases.student_notebook(ROOT, assignment, solved=False)
            if edits is None
            else cases.student_notebook(ROOT, assignment, edits)
        )
        student = f"s{i:03d}_{label}"
        cases.write_notebook(nb, folder / student / f"{assignment}.ipynb")
        students.append(student)
    return students


def nbgrader(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def stock_course(assignment: str, klass: Path, course: Path) -> None:
    (course / "source" / assignment).mkdir(parents=True)
    shutil.copy(
        ROOT / "solutions" / assignment / f"{assignment}.ipynb", course / "source" / assignment
    )
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'bench'\n"
        "c.ClearSolutions.code_stub = "
        "{'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}\n"
    )
    nbgrader(["generate_assignment", assignment, "--force"], course)
    for student_dir in klass.iterdir():
        target = course / "submitted" / student_dir.name / assignment
        target.mkdir(parents=True)
        shutil.copy(student_dir / f"{assignment}.ipynb", target)


def stock_scores(course: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(assignment)}


def children_cpu() -> float:
    """CPU seconds used so far by finished child processes and their descendants (kernels)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", default="05_regularization")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        build_class(args.assignment, args.students, tmp / "class")
        stock_course(args.assignment, tmp / "class", tmp / "stock")

        start, cpu = time.perf_counter(), children_cpu()
        nbgrader(["autograde", args.assignment, "--force"], tmp / "stock")
        stock, stock_cpu = time.perf_counter() - start, children_cpu() - cpu

        start, cpu = time.perf_counter(), children_cpu()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "optreg.cli",
                "grade",
                args.assignment,
                str(tmp / "class"),
                "--out",
                str(tmp / "ours"),
                "--course-dir",  # its own gradebook, not the course's
                str(tmp / "ours-course"),
                "--jobs",
                str(args.jobs),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        ours, ours_cpu = time.perf_counter() - start, children_cpu() - cpu

        with open(tmp / "ours" / "grades.csv", newline="") as fh:
            our_scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
        stock_by_student = stock_scores(tmp / "stock", args.assignment)
        anchors = [s for s in our_scores if s.endswith(("_full", "_stub"))]
        same = all(our_scores[s] == stock_by_student[s] for s in anchors) and anchors
        wrong = [s for s in our_scores if not s.endswith("_full")]
        caught = sum(our_scores[s] < max(our_scores.values()) for s in wrong)
    load = os.getloadavg()[0]
    print(
        f"class: {args.students} submissions of {args.assignment}, {os.cpu_count()} CPUs, "
        f"load average {load:.1f} at the end"
    )
    print(
        f"stock serial nbgrader autograde:      {stock:7.1f} s wall, {stock_cpu:7.1f} s CPU "
        f"({stock_cpu / args.students:.2f} CPU s/student)"
    )
    print(
        f"optreg grade --jobs {args.jobs} (sandbox, feedback): {ours:7.1f} s wall, "
        f"{ours_cpu:7.1f} s CPU ({ours_cpu / args.students:.2f} CPU s/student)"
    )
    print(
        f"speed-up: {stock / ours:.2f}x (goal >= 1.7x); full and stub scores agree with stock: "
        f"{bool(same)}; wrong or empty submissions below full marks: {caught}/{len(wrong)}"
    )
    print(
        "(other processes compete for the CPUs when the load average exceeds "
        f"{os.cpu_count()}: run on an otherwise idle machine)"
    )
    return 0 if same and caught == len(wrong) else 1


if __name__ == "__main__":
    sys.exit(main())
