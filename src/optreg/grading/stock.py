"""Stock ``nbgrader autograde`` grading as ``optreg grade`` does: in the sandbox, hidden tests
included.

``autograder/nbgrader_config.py`` puts :class:`CourseGrader` in place of nbgrader's ``Execute``
in ``Autograde.autograde_preprocessors``, so ``cd autograder && nbgrader autograde A`` never
runs a student's code unconfined and scores every test cell with its visible and hidden tests
(the verdicts of :class:`~optreg.grading.grader.GradeOutsideSandbox`). Where the sandbox cannot
start, it stops with the reason instead of grading unconfined.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Unicode

from optreg.grading.grader import GradeOutsideSandbox, hidden_tests_path
from optreg.grading.sandbox import Limits, check_sandbox, sandbox_prefix


class CourseGrader(GradeOutsideSandbox):
    """:class:`GradeOutsideSandbox` that finds the assignment's hidden tests in the course and
    starts the sandbox itself (one user id per student, as ``optreg grade`` gives them)."""

    course_root = Unicode("", help="the repository (autograder/hidden/ is in it)").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self.hidden_tests = str(hidden_tests_path(Path(self.course_root), info["assignment"]))
        problem = check_sandbox()
        if problem:
            raise RuntimeError(f"the sandbox cannot start: {problem}")
        uid = 100_000 + (os.getpid() % 800) * 1000 + sum(map(ord, info["student"])) % 1000
        limits = Limits(cpu_seconds=int(self.budget) + 10)
        self.sandbox_prefix = sandbox_prefix(uid, limits)
        return super().preprocess(nb, resources)
