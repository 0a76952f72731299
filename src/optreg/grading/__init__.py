"""Graded exercises: releasing the nbgrader assignments and grading a class safely.

* :mod:`optreg.grading.release` regenerates ``solutions/`` (from ``autograder/make_sources.py``)
  and the student versions in ``exercises/`` with ``nbgrader generate_assignment``;
* :mod:`optreg.grading.cli` adds ``optreg grade`` (grade a class, or ``--validate`` one notebook);
* :mod:`optreg.grading.autograde` grades one student in a private course directory, running the
  kernel inside the sandbox of :mod:`optreg.grading.sandbox`.

Nothing here imports TensorFlow.
"""

ASSIGNMENTS = (
    "01_optimizers",
    "02_schedules",
    "03_initialization",
    "04_normalization",
    "05_regularization",
    "06_augmentation",
)

__all__ = ["ASSIGNMENTS"]
