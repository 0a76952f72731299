"""Shared test set-up. Under ``CI=true`` a skipped test fails the run: missing tools must be
installed by ``make test``'s set-up, not skipped around."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# `optreg grade` records into the course's nbgrader gradebook; test classes go to a private course
# folder per pytest process, never into the instructor's autograder/workspace/gradebook.db.
os.environ.setdefault("OPTREG_COURSE_DIR", tempfile.mkdtemp(prefix="optreg-test-course-"))


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionfinish(session, exitstatus):
    if not _ci():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(
                f"CI=true: {len(skipped)} skipped test(s) count as failures", red=True
            )
