"""Nothing of a hidden case reaches the feedback through what the student's process chooses.

Red team, 2026-12-02 (F7): the class name of an exception is the student's choice at run time
(``type(f"L{learning_rate}", (Exception,), {})``), so a hidden test's failure message that
names it spells the hidden inputs. Hidden failures name only Python's built-in exceptions.
"""

from __future__ import annotations

import numpy as np
import pytest

from optreg.grading.grader import Verdict, decide_hidden
from optreg.grading.student import Student, StudentProcess, _exception_name

STUDENT = """
import numpy as np

def _tag(x):
    return repr(float(x)).replace("-", "m").replace(".", "p")

def sgd_step(theta, grad, learning_rate):
    name = "L" + _tag(learning_rate) + "_T" + _tag(np.ravel(theta)[0])
    raise type(name, (Exception,), {})(f"{learning_rate} {theta}")

def momentum_step(theta, grad, m, learning_rate, momentum=0.9):
    raise ValueError(f"lr={learning_rate} theta={theta}")

def adam_step(theta, grad, learning_rate):
    class ValueErrorish(KeyError):  # a subclass of a built-in, named by the student
        pass
    ValueErrorish.__name__ = "KeyError_" + _tag(learning_rate)
    raise ValueErrorish("x")
"""
THETA, LR = np.array([0.0123456, -0.75]), 0.0371


# hidden tests (named like autograder/hidden's; bound to other names so pytest does not collect)
def _hidden(name, call):
    def test(student):
        call(student)

    test.__name__ = name
    return test


HIDDEN = [
    _hidden("test_sgd_step", lambda s: s.sgd_step(THETA, np.ones(2), LR)),
    _hidden("test_momentum_step", lambda s: s.momentum_step(THETA, np.ones(2), np.zeros(2), LR)),
    _hidden("test_adam_step", lambda s: s.adam_step(THETA, np.ones(2), LR)),
]


@pytest.fixture(scope="module")
def feedback():
    process = StudentProcess([STUDENT], cell_timeout=20, call_timeout=10)
    try:
        process.start()
        student = Student(process)
        return {
            test.__name__: decide_hidden(Verdict(test.__name__, True), [test], student)
            for test in HIDDEN
        }
    finally:
        process.close()


@pytest.mark.parametrize("test", ["test_sgd_step", "test_momentum_step", "test_adam_step"])
def test_hidden_failure_carries_no_input(feedback, test):
    verdict = feedback[test]
    assert not verdict.passed
    text = verdict.message
    for secret in ("0p0371", "0.0371", "0p0123", "0.0123", "0.75", "0p75"):
        assert secret not in text, text


def test_student_made_class_is_not_named(feedback):
    assert feedback["test_sgd_step"].message == (
        "hidden test test_sgd_step: sgd_step raised an exception on a hidden case"
    )
    assert "an exception on a hidden case" in feedback["test_adam_step"].message


def test_builtin_exception_is_still_named(feedback):
    assert feedback["test_momentum_step"].message == (
        "hidden test test_momentum_step: momentum_step raised ValueError on a hidden case"
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ValueError: bad", "ValueError"),
        ("ZeroDivisionError: division by zero", "ZeroDivisionError"),
        ("L0p1_S4_T0p0236: hidden", "an exception"),
        ("print: x", "an exception"),  # a builtin, but not an exception class
        ("__import__: x", "an exception"),
        ("", "an exception"),
    ],
)
def test_exception_name(text, name):
    assert _exception_name(text) == name
