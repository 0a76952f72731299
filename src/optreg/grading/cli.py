"""``optreg grade``: grade a class (``optreg grade ASSIGNMENT SUBMISSIONS --out OUT``) or check
one's own notebook before submitting (``optreg grade --validate NOTEBOOK``)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from optreg.grading import ASSIGNMENTS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="autograde a class of nbgrader submissions, or --validate a notebook",
        description=(
            "Grade every submission of ASSIGNMENT found in SUBMISSIONS (a folder of "
            "<student_id>/<notebook>.ipynb, nbgrader's submitted/, or a Moodle/Canvas zip) in a "
            "sandbox, recording the grades in the course's nbgrader gradebook and writing "
            "OUT/grades.csv, OUT/feedback/<student_id>/*.html (for the students) and "
            "OUT/summary.{md,csv,png}. A re-run into the same OUT grades only new or changed "
            "submissions. With --validate NOTEBOOK: run the notebook's tests and exit "
            "non-zero if any fails."
        ),
    )
    parser.add_argument("assignment", nargs="?", help=f"one of {', '.join(ASSIGNMENTS)}")
    parser.add_argument(
        "submissions",
        nargs="?",
        type=Path,
        help="folder of <student_id>/<notebook>.ipynb, or a zip",
    )
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--jobs", type=int, default=1, help="students graded in parallel")
    parser.add_argument(
        "--timeout", type=int, default=30, help="seconds per code cell of the student (default 30)"
    )
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=10,
        help="seconds per call of a student's function (default 10)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300,
        help="seconds of grading per student, all included (default 300)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=2048,
        help="memory limit of a student's process (default 2048)",
    )
    parser.add_argument(
        "--course-root",
        type=Path,
        default=None,
        help="repository holding solutions/ and autograder/ (default: found)",
    )
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=None,
        help="the nbgrader course directory that keeps submitted/, autograded/ and the "
        "gradebook (default: autograder/workspace, as autograder/nbgrader_config.py says)",
    )
    parser.add_argument(
        "--gradebook",
        metavar="URL",
        default=None,
        help="the course's nbgrader gradebook (default: sqlite:///COURSE_DIR/gradebook.db)",
    )
    parser.add_argument(
        "--due",
        metavar="DATE",
        default=None,
        help="the assignment's due date (ISO 8601, UTC unless it says otherwise), for "
        "nbgrader's late-submission penalty",
    )
    parser.add_argument(
        "--late-penalty",
        choices=("none", "zero"),
        default="",
        help="nbgrader's LateSubmissionPlugin.penalty_method (default: the config's, 'none')",
    )
    parser.add_argument(
        "--regrade",
        metavar="ID",
        action="append",
        default=[],
        help="grade this student again even if nothing changed ('all': everyone); repeatable",
    )
    parser.add_argument(
        "--export",
        choices=("canvas", "moodle"),
        action="append",
        default=[],
        help="also write OUT/<lms>_grades.csv for the LMS's grade import; repeatable",
    )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code unconfined (only for trusted notebooks)",
    )
    parser.add_argument(
        "--validate",
        type=Path,
        metavar="NOTEBOOK",
        help="run this notebook's tests and report (exit 1 on failure)",
    )
    parser.set_defaults(func=run)


def _raise_interrupt(signum, frame):  # SIGTERM (shutdown) behaves like Ctrl-C
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if args.validate is not None:
        from optreg.grading.validate import validate

        return validate(args.validate, timeout=args.timeout)
    missing = [
        name
        for name, value in (
            ("ASSIGNMENT", args.assignment),
            ("SUBMISSIONS", args.submissions),
            ("--out", args.out),
        )
        if value is None
    ]
    if missing:
        print(
            f"optreg grade: missing {', '.join(missing)} (or use --validate NOTEBOOK)",
            file=sys.stderr,
        )
        return 2
    if args.assignment not in ASSIGNMENTS:
        print(
            f"optreg grade: unknown assignment {args.assignment!r}; expected one of "
            f"{', '.join(ASSIGNMENTS)}",
            file=sys.stderr,
        )
        return 2
    if not args.submissions.exists():
        print(f"optreg grade: {args.submissions} does not exist", file=sys.stderr)
        return 2
    if (
        args.jobs < 1
        or args.timeout < 1
        or args.memory_mb < 256
        or args.call_timeout <= 0
        or args.budget < 10
    ):
        print(
            "optreg grade: --jobs and --timeout must be >= 1, --call-timeout > 0, "
            "--budget >= 10 and --memory-mb >= 256",
            file=sys.stderr,
        )
        return 2
    if args.due is not None:
        from nbgrader.utils import parse_utc

        try:
            parse_utc(args.due)
        except (ValueError, OverflowError):
            print(
                f"optreg grade: --due {args.due!r} is not a date (e.g. 2026-03-01T23:59:00Z)",
                file=sys.stderr,
            )
            return 2
    if args.no_sandbox:
        print(
            "warning: --no-sandbox: the students' code runs unconfined, as you, with your files "
            "and network; use it only for notebooks you trust",
            file=sys.stderr,
        )
    from optreg.grading.runner import GradingRun, grade_class

    signal.signal(signal.SIGTERM, _raise_interrupt)
    grading = GradingRun(
        assignment=args.assignment,
        submissions=args.submissions,
        out=args.out,
        jobs=args.jobs,
        timeout=args.timeout,
        call_timeout=args.call_timeout,
        budget=args.budget,
        sandbox=not args.no_sandbox,
        limits={"memory_mb": args.memory_mb},
        course_root=args.course_root,
        course_dir=args.course_dir,
        gradebook=args.gradebook,
        due=args.due,
        late_penalty=args.late_penalty,
        regrade=tuple(args.regrade),
        export=tuple(args.export),
    )
    try:
        rows = grade_class(grading)
    except KeyboardInterrupt:
        print(
            "interrupted: run the same command again to grade the remaining students",
            file=sys.stderr,
        )
        return 130
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        print(f"optreg grade: {exc}", file=sys.stderr)
        return 1
    print(f"{len(rows)} students graded: {args.out / 'grades.csv'}")
    return 0
