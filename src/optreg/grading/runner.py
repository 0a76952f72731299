"""Grading a class: parallel workers, one row per student, resumable, into the gradebook.

Layout of ``OUT`` (also written to ``OUT/README.txt``)::

    feedback/<student_id>/<assignment>.html   FOR THE STUDENTS: give each one their folder
    grades.csv                                the instructor's: one row per student (columns
                                              in CSV_COLUMNS), canvas_grades.csv and
    summary.md, summary.csv, summary.png      moodle_grades.csv with --export
    .grading/<assignment>/                    working files: state/ (a row per finished
                                              student), logs/, unpacked/ (an LMS zip)

Nothing that reveals the solutions or the hidden tests is written into ``OUT``: the master
gradebook (it holds the source cells) and the release notebook built from the source live in
the course directory (``autograder/workspace/.optreg/master/<assignment>-<fingerprint>/``),
next to the course's nbgrader gradebook, submitted/ and autograded/ copies.

A student is finished once ``.grading/<assignment>/state/<student_id>.json`` exists; it is
written atomically (temporary file + rename) after the student is recorded in the course
gradebook (by this process only, one student at a time), so a run killed at any moment (Ctrl-C,
reboot) and started again grades exactly the students without a state file, and a finished
grade is never lost or written twice. Each state records the fingerprints of the tests and of
the submission it was graded from: a re-run also grades submissions that changed (a notebook
added late, a resubmission), ``--regrade ID``/``all`` grades again on request, and a change of
the tests stops the run until ``--regrade all`` (grades from two versions of the tests are never
mixed). ``grades.csv`` is rebuilt atomically from the states and the gradebook's totals (so it
includes manual scores given in the formgrader and the late penalty).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from optreg.grading.autograde import GRADER_PID, build_master, max_scores, write_feedback
from optreg.grading.course import find_course_root, source_notebook
from optreg.grading.gradebook import Course, record, register_assignment, set_due_date, totals
from optreg.grading.grader import hidden_tests_path
from optreg.grading.sandbox import check_sandbox
from optreg.grading.submissions import Submission, clean_text, csv_cell, intake

CSV_COLUMNS = [
    "student_id",
    "assignment",
    "score",
    "max_score",
    "status",
    "message",
    "name",
    "auto_score",
    "manual_score",
    "needs_manual_grade",
    "late_penalty",
    "submitted_at",
    "late",
    "tests_fingerprint",
    "submission_fingerprint",
]


@dataclass
class GradingRun:
    assignment: str
    submissions: Path
    out: Path
    jobs: int = 1
    timeout: int = 30
    call_timeout: float = 10
    budget: float = 300
    sandbox: bool = True
    limits: dict = field(default_factory=dict)
    course_root: Path | None = None
    course_dir: Path | None = None  # the nbgrader course directory (default: the workspace)
    gradebook: str | None = None  # its gradebook's URL (default: course_dir/gradebook.db)
    due: str | None = None  # the assignment's due date, ISO 8601
    late_penalty: str = ""  # nbgrader's LateSubmissionPlugin.penalty_method, if not configured
    regrade: tuple[str, ...] = ()  # student ids to grade again, or ("all",)
    export: tuple[str, ...] = ()  # "canvas", "moodle": the LMS's grade-import CSV
    feedback: bool = True
    log: Callable[[str], None] = print

    @property
    def work(self) -> Path:
        return self.out / ".grading" / self.assignment


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Worker:
    """One ``python -m optreg.grading.autograde`` process, restarted when it dies or hangs."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        log = open(self.log_path, "a")  # noqa: SIM115 (kept open by the child)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "optreg.grading.autograde"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # the worker ends itself when this process dies
            env={**os.environ, GRADER_PID: str(os.getpid())},
        )
        log.close()
        return self.proc

    def run(self, task: dict, wall_limit: float) -> dict | None:
        """The worker's answer, or None if it died or took longer than ``wall_limit`` s."""
        proc = self.proc if self.proc and self.proc.poll() is None else self._start()
        try:
            proc.stdin.write(json.dumps(task) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], wall_limit)
            line = proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line = ""
        if line.strip():
            return json.loads(line)
        self.stop()
        return None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its kernels
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None


def _code_cells(notebook: Path) -> int:
    return sum(c.cell_type == "code" for c in nbformat.read(notebook, as_version=4).cells)


def _uid_base() -> int:
    return 100_000 + (os.getpid() % 800) * 1000


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def tests_fingerprint(source_nb: Path, hidden: Path) -> str:
    """What the grade depends on besides the submission: the source notebook (visible tests,
    points, read-only cells) and the hidden tests."""
    return _digest(source_nb.read_bytes(), hidden.read_bytes())


def submission_fingerprint(sub: Submission) -> str:
    """The submitted notebook's bytes, its time and why it is refused, if it is."""
    content = b"missing"
    if sub.notebook is not None and sub.problem is None:
        try:
            content = sub.notebook.read_bytes()
        except OSError:
            content = b"unreadable"
    return _digest(content, str(sub.submitted_at).encode(), str(sub.problem).encode())


def _plan(
    run: GradingRun, submissions: list[Submission], state_dir: Path, tests_fp: str
) -> list[Submission]:
    """The students to grade now: new, changed, or named by ``--regrade``; refuses to mix
    grades of two versions of the tests."""
    ids = {s.student_id for s in submissions}
    unknown = sorted(set(run.regrade) - ids - {"all"})
    if unknown:
        raise ValueError(
            f"--regrade: no submission from {', '.join(unknown)} in {run.submissions} "
            f"(students: {', '.join(sorted(ids)) or 'none'})"
        )
    everyone = "all" in run.regrade
    todo, stale = [], []
    for sub in submissions:
        path = state_dir / f"{sub.student_id}.json"
        state = json.loads(path.read_text()) if path.is_file() else None
        if everyone or sub.student_id in run.regrade or state is None:
            todo.append(sub)
        elif state.get("tests_fingerprint") != tests_fp:
            stale.append(sub.student_id)
        elif state.get("submission_fingerprint") != submission_fingerprint(sub):
            run.log(f"{sub.student_id}: the submission changed since it was graded: regrading")
            todo.append(sub)
    if stale:
        raise RuntimeError(
            f"the tests of {run.assignment} changed since {len(stale)} student(s) were graded "
            f"into {run.out} ({', '.join(stale[:5])}{', ...' if len(stale) > 5 else ''}); "
            "grades from two versions of the tests are not mixed: run again with "
            "--regrade all to regrade everyone with the current tests, or restore the old tests"
        )
    return todo


def grade_class(run: GradingRun) -> list[dict]:
    """Grade every student of ``run`` (see the module docstring); returns the rows."""
    root = Path(run.course_root or find_course_root()).resolve()
    source_nb = source_notebook(root, run.assignment)
    course = Course.at(root, run.course_dir, run.gradebook, run.late_penalty)
    if run.sandbox:
        problem = check_sandbox()
        if problem:
            raise RuntimeError(f"the sandbox cannot start: {problem}")
    hidden = hidden_tests_path(root, run.assignment)
    if not hidden.is_file():
        raise FileNotFoundError(f"no hidden tests for {run.assignment}: {hidden}")
    submissions, warnings = intake(Path(run.submissions), run.assignment, run.work / "unpacked")
    for warning in warnings:
        run.log(f"warning: {clean_text(warning)}")
    tests_fp = tests_fingerprint(source_nb, hidden)
    state_dir = run.work / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    todo = _plan(run, submissions, state_dir, tests_fp)
    master_db, release_nb = build_master(
        source_nb,
        course.directory / ".optreg" / "master" / f"{run.assignment}-{tests_fp}",
        run.assignment,
    )
    register_assignment(course, run.assignment, master_db)
    if run.due:
        set_due_date(course, run.assignment, run.due)
    if len(todo) < len(submissions):
        run.log(f"resuming: {len(submissions) - len(todo)} students already graded")
    wall_limit = run.budget + run.timeout * (_code_cells(release_nb) + 2) + 120
    uid_base = _uid_base()
    index = {s.student_id: i for i, s in enumerate(submissions)}

    fingerprints = {s.student_id: submission_fingerprint(s) for s in submissions}

    def submitted_dir(sub: Submission) -> Path:
        return course.student_dir("submitted", sub.student_id, run.assignment)

    def collected(sub: Submission) -> bool:  # graded from the course's own submitted/ folder
        return sub.notebook is not None and submitted_dir(sub).resolve() in (
            sub.notebook.resolve().parents
        )

    def task_for(sub: Submission) -> dict:
        return {
            "student_id": sub.student_id,
            "assignment": run.assignment,
            "notebook": str(sub.notebook) if sub.notebook else None,
            "notes": sub.notes,
            "problem": sub.problem,
            "hidden_tests": str(hidden),
            "master_db": str(master_db),
            "release_nb": str(release_nb),
            "feedback_dir": str(run.out / "feedback" / sub.student_id) if run.feedback else "",
            "submitted_dir": "" if collected(sub) else str(submitted_dir(sub)),
            "autograded_dir": str(course.student_dir("autograded", sub.student_id, run.assignment)),
            "timestamp": sub.submitted_at,
            "timeout": run.timeout,
            "call_timeout": run.call_timeout,
            "budget": run.budget,
            "uid": uid_base + index[sub.student_id] % 1000,
            "sandbox": run.sandbox,
            "limits": run.limits,
        }

    pending: queue.Queue[Submission] = queue.Queue()
    for sub in todo:
        pending.put(sub)
    (run.work / "logs").mkdir(exist_ok=True)
    workers = [Worker(run.work / "logs" / f"worker{i}.log") for i in range(max(1, run.jobs))]
    lock, finished, stopping = threading.Lock(), [0], threading.Event()

    def serve(worker: Worker) -> None:
        while True:
            try:
                sub = pending.get_nowait()
            except queue.Empty:
                return
            row = worker.run(task_for(sub), wall_limit)
            if stopping.is_set():  # interrupted: this student stays ungraded, for the re-run
                return
            if row is None:
                row = {
                    "student_id": sub.student_id,
                    "assignment": run.assignment,
                    "score": 0.0,
                    "max_score": max_scores(master_db, run.assignment)[0],
                    "status": "error",
                    "cells": {},
                    "message": f"grading stopped: no result within {wall_limit:.0f} s or "
                    "the grading process died",
                }
            row.update(
                name=sub.name,
                submitted_at=sub.submitted_at or "",
                late=sub.late,
                tests_fingerprint=tests_fp,
                submission_fingerprint=fingerprints[sub.student_id],
            )
            if run.feedback and row["status"] != "graded":
                write_status_page(run.out / "feedback" / sub.student_id, row)
            with lock:  # the one writer of the course gradebook
                record(course, row, name=sub.name, timestamp=sub.submitted_at)
                write_atomic(state_dir / f"{sub.student_id}.json", json.dumps(row))
                finished[0] += 1
                total = totals(course, run.assignment, sub.student_id)
                to_grade = " (to review in the formgrader)" if total["needs_manual_grade"] else ""
                run.log(
                    f"[{finished[0]}/{len(todo)}] {sub.student_id}: {total['score']:g}/"
                    f"{total['max_score']:g} {row['status']}{to_grade}"
                )

    threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
    finally:
        stopping.set()
        for w in workers:
            w.stop()
    rows = [_with_totals(run, course, state_dir, s) for s in submissions]
    write_atomic(run.out / "README.txt", LAYOUT.format(assignment=run.assignment, course=course))
    write_grades_csv(run.out / "grades.csv", rows)
    from optreg.grading.report import write_summary

    write_summary(run.out, rows, max_scores(master_db, run.assignment)[1])
    for lms in run.export:
        from optreg.grading.lms import write_export

        run.log(f"{lms} grades: {write_export(lms, run.out, rows)}")
    return rows


LAYOUT = """\
optreg grade {assignment}: what is in this folder

feedback/<student_id>/{assignment}.html   FOR THE STUDENTS: give each student their own folder
grades.csv                  for the instructor: one row per student (score = automatic + manual
                            points - late penalty, as nbgrader's gradebook holds them)
summary.md/.csv/.png        for the instructor: the class per question
canvas_grades.csv, moodle_grades.csv   (with --export) the LMS's grade-import files
.grading/                   working files of the grading run (state, logs, unpacked zip)

The course's nbgrader gradebook: {course.db_url}
Review and grade the written answers in nbgrader's formgrader: cd autograder && jupyter server
(open the URL it prints, then /formgrader); run the same optreg grade command again afterwards
to bring the manual scores into grades.csv, the feedback and the LMS files.
"""


def _with_totals(run: GradingRun, course: Course, state_dir: Path, sub: Submission) -> dict:
    """A finished student's row with the score the gradebook holds now (manual scores given
    in the formgrader and the late penalty included); the student's feedback is made again
    from the course gradebook when it showed another total."""
    from nbgrader.api import MissingEntry

    state = state_dir / f"{sub.student_id}.json"
    row = json.loads(state.read_text())
    try:
        total = totals(course, row["assignment"], sub.student_id)
    except MissingEntry:  # another gradebook than the one graded into: record it there too
        record(course, row, name=row.get("name", ""), timestamp=row.get("submitted_at") or None)
        total = totals(course, row["assignment"], sub.student_id)
    autograded = course.student_dir("autograded", sub.student_id, run.assignment)
    if run.feedback and row.get("feedback_score", total["score"]) != total["score"]:
        if autograded.is_dir():
            write_feedback(
                course.directory,
                course.db_url,
                run.assignment,
                sub.student_id,
                run.out / "feedback" / sub.student_id,
            )
            row["feedback_score"] = total["score"]
            write_atomic(state, json.dumps(row))
    row["auto_score"] = row["score"]
    row.update(
        score=total["score"],
        max_score=total["max_score"],
        manual_score=total["manual_score"],
        late_penalty=total["late_penalty"],
        needs_manual_grade=total["needs_manual_grade"],
        late=bool(row.get("late")) or total["seconds_late"] > 0,  # the LMS's flag or the due date
    )
    return row


def write_status_page(folder: Path, row: dict) -> None:
    """Feedback for a submission that could not be graded: why, in one page."""
    import html

    text = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{row['assignment']}"
        f"</title></head><body><h1>{html.escape(row['assignment'])}: "
        f"{row['score']:g} / {row['max_score']:g}</h1><p>Status: {html.escape(row['status'])}"
        f"</p><p>{html.escape(clean_text(row['message']))}</p></body></html>\n"
    )
    write_atomic(folder / f"{row['assignment']}.html", text)


def write_grades_csv(path: Path, rows: list[dict]) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row[k]) for k in CSV_COLUMNS if k in row})
    write_atomic(path, buffer.getvalue())


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | int):
        return f"{value:g}"
    return csv_cell(value)
