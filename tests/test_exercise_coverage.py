"""Visible tests that tell a student what is graded (issue 17).

For every graded function of the six assignments (every ``def`` of a solution cell), run the
source notebook in this process the way a student runs it in Jupyter and check that its
visible tests

* check **each returned value** on at least one non-trivial, non-square case: the value is
  corrupted only on calls with a non-square array (or, for functions of scalars, lists and
  shapes, on every call), and the test cell graded for that value must then fail;
* check the "does not modify its inputs" rule wherever the hidden tests check it (``pure``):
  the correct result, with one input then modified in place, must fail a visible test;

that known partial mistakes cost exactly their own cell and fail a visible check there
(``cases.PARTIAL``), that each answer's instructions say what the grader checks beyond the
visible tests, and that the exercises agree with the book's reference implementations
(``optreg.schedules.OneCycle``, ``ReduceLROnPlateau``, ``suggest_learning_rate``,
``optreg.normalization.Standardizer``).
"""

from __future__ import annotations

import ast
import copy
import math
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from optreg.grading import ASSIGNMENTS
from optreg.grading.course import find_course_root
from optreg.grading.grader import grade_notebook, hidden_tests_path, load_hidden

ROOT = find_course_root(Path(__file__).parent)
sys.path.insert(0, str(ROOT / "autograder"))
import cases  # noqa: E402

# What each graded function returns and which test cells grade each returned value: a cell name
# (one value), a list of (name, cell) for a tuple (cell None: not graded, e.g. a cache), or a
# dict {key: cell} for a returned dict; a tuple of cells where several cells grade the value.
# This table is the closing note's "checks now visible".
OUTPUTS: dict[str, dict[str, object]] = {
    "01_optimizers": {
        "sgd_step": "test_sgd_step",
        "momentum_step": [("theta", "test_momentum_step"), ("m", "test_momentum_step")],
        "nesterov_step": [("theta", "test_nesterov_step"), ("m", "test_nesterov_step")],
        "adagrad_step": [("theta", "test_adagrad_step"), ("s", "test_adagrad_step")],
        "rmsprop_step": [("theta", "test_rmsprop_step"), ("s", "test_rmsprop_step")],
        "adam_step": [
            ("theta", "test_adam_step"),
            ("m", "test_adam_state"),
            ("s", "test_adam_state"),
            ("t", "test_adam_state"),
        ],
        "adamw_step": [
            ("theta", "test_adamw_step"),
            ("m", "test_adamw_step"),
            ("s", "test_adamw_step"),
            ("t", "test_adamw_step"),
        ],
        "steps_to_converge": "test_steps_to_converge",
    },
    "02_schedules": {
        "power_schedule": "test_power_schedule",
        "exponential_schedule": "test_exponential_schedule",
        "piecewise_constant": "test_piecewise_constant",
        "one_cycle": "test_one_cycle",
        "plateau_step": {
            "lr": "test_plateau_step",
            "best": "test_plateau_step",
            "wait": "test_plateau_step",
            "cooldown_counter": "test_plateau_step",
        },
        "lr_range_suggestion": "test_lr_range_suggestion",
    },
    "03_initialization": {
        "fans": [("fan_in", "test_fan_in"), ("fan_out", "test_fan_out")],
        "glorot_uniform": "test_glorot_uniform",
        "he_normal": "test_he_normal",
        "activation_variances": "test_activation_variances",
        "two_layer_grads": [
            ("dW1", "test_two_layer_grads_dW1"),
            ("dW2", "test_two_layer_grads_dW2"),
        ],
    },
    "04_normalization": {
        "batchnorm_forward": [
            ("y", ("test_batchnorm_training_y", "test_batchnorm_inference")),
            ("moving_mean", ("test_batchnorm_training_moving", "test_batchnorm_inference")),
            ("moving_variance", ("test_batchnorm_training_moving", "test_batchnorm_inference")),
            ("cache", None),
        ],
        "batchnorm_backward": [
            ("dx", "test_batchnorm_backward_dx"),
            ("dgamma", "test_batchnorm_backward_dgamma"),
            ("dbeta", "test_batchnorm_backward_dbeta"),
        ],
        "layernorm_forward": [("y", "test_layernorm_forward"), ("cache", None)],
        "layernorm_backward": [
            ("dx", "test_layernorm_backward_dx"),
            ("dgamma", "test_layernorm_backward_dgamma"),
            ("dbeta", "test_layernorm_backward_dbeta"),
        ],
        "standardize_split": [
            ("train", "test_standardize_split"),
            ("test", "test_standardize_split"),
        ],
    },
    "05_regularization": {
        "l1_penalty": "test_l1",
        "l1_gradient": "test_l1",
        "l2_penalty": "test_l2",
        "l2_gradient": "test_l2",
        "dropout_forward": [("y", "test_dropout_forward"), ("mask", "test_dropout_mask")],
        "dropout_backward": "test_dropout_backward",
        "max_norm": "test_max_norm",
        "clip_by_value": "test_clip_by_value",
        "clip_by_norm": "test_clip_by_norm",
        "clip_by_global_norm": [
            ("clipped", "test_clip_by_global_norm_clipped"),
            ("global_norm", "test_clip_by_global_norm_norm"),
        ],
        "early_stopping": [
            ("stop_epoch", "test_early_stopping_stop"),
            ("best_epoch", "test_early_stopping_best"),
        ],
    },
    "06_augmentation": {
        "flip_horizontal": "test_flip_horizontal",
        "pad_and_crop": "test_pad_and_crop",
        "random_crop_offsets": "test_random_crop_offsets",
        "translate": "test_translate",
        "adjust_contrast": "test_adjust_contrast",
        "adjust_gamma": "test_adjust_gamma",
        "random_deletion": "test_random_deletion",
        "random_swap": "test_random_swap",
        "synonym_replacement": "test_synonym_replacement",
    },
}

# Functions of scalars, lists of words, shapes or short vectors by nature: every call counts
# as a non-trivial case (the others need a non-square array among their inputs or outputs).
NO_MATRIX = {
    "steps_to_converge",  # theta lives on the 2-D bowl
    "power_schedule",
    "exponential_schedule",
    "piecewise_constant",
    "one_cycle",
    "plateau_step",
    "lr_range_suggestion",
    "fans",
    "early_stopping",
    "random_deletion",
    "random_swap",
    "synonym_replacement",
}


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _source(assignment: str):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)


def graded_functions(assignment: str) -> list[str]:
    """The functions the student writes: every top-level ``def`` of the solution cells."""
    names = []
    for cell in _source(assignment).cells:
        if cell.cell_type == "code" and _meta(cell).get("solution"):
            names += [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
    return names


def visible_cells(assignment: str) -> dict[str, str]:
    return {
        _meta(c)["grade_id"]: c.source
        for c in _source(assignment).cells
        if c.cell_type == "code" and _meta(c).get("grade")
    }


_NAMESPACES: dict[str, dict] = {}


def student_namespace(assignment: str) -> dict:
    """The globals of the solved notebook after running its code cells (not the tests)."""
    if assignment not in _NAMESPACES:
        namespace: dict = {"__name__": "__notebook__"}
        for cell in _source(assignment).cells:
            if cell.cell_type == "code" and not _meta(cell).get("grade"):
                exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102
        _NAMESPACES[assignment] = namespace
    return _NAMESPACES[assignment]


def run_visible(assignment: str, grade_id: str, namespace: dict) -> str | None:
    """None if the visible tests of ``grade_id`` pass in ``namespace``, else why not."""
    try:
        exec(compile(visible_cells(assignment)[grade_id], grade_id, "exec"), dict(namespace))  # noqa: S102
    except Exception as exc:  # a failed visible check
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)


def nontrivial(name: str, args, kwargs, out) -> bool:
    """A call with a non-square array among its inputs or outputs (see NO_MATRIX)."""
    if name in NO_MATRIX:
        return True
    everything = list(_arrays([list(args), kwargs, out]))
    return any(a.ndim >= 2 and a.shape[-1] != a.shape[-2] for a in everything)


def corrupt(value):
    """A wrong value of the same kind (and shape)."""
    if isinstance(value, bool | np.bool_):
        return not value
    if value is None:
        return -1
    if isinstance(value, int | np.integer):
        return value + 1
    if isinstance(value, float | np.floating):
        return value * 1.5 + 0.25
    if isinstance(value, np.ndarray):
        return value + 1 if value.dtype.kind in "iu" else value * 1.5 + 0.25
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return list(value) + ["corrupted"]
    if isinstance(value, list | tuple):
        return type(value)(corrupt(v) for v in value)
    raise TypeError(f"cannot corrupt a {type(value).__name__}")


def leaves(assignment: str):
    """(function, index or key of the value, its name, a cell grading it) for every value."""
    for function, spec in OUTPUTS[assignment].items():
        if isinstance(spec, str):
            found = [(None, "value", spec)]
        elif isinstance(spec, dict):
            found = [(key, key, cell) for key, cell in spec.items()]
        else:
            found = [(index, label, cell) for index, (label, cell) in enumerate(spec)]
        for key, label, cells in found:
            for cell in (cells,) if isinstance(cells, str) else cells or ():
                yield function, key, label, cell


LEAVES = [(a, *leaf) for a in ASSIGNMENTS for leaf in leaves(a)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_and_cell_is_in_the_table(assignment):
    assert sorted(OUTPUTS[assignment]) == sorted(graded_functions(assignment))
    cells = {cell for *_, cell in leaves(assignment)}
    assert cells == set(load_hidden(hidden_tests_path(ROOT, assignment))), (
        "every autograded cell grades some returned value, and only those cells"
    )


@pytest.mark.parametrize(
    ("assignment", "function", "key", "label", "cell"),
    LEAVES,
    ids=[f"{a}-{f}-{label}-{cell}" for a, f, _, label, cell in LEAVES],
)
def test_each_returned_value_is_checked_visibly_on_a_nonsquare_case(
    assignment, function, key, label, cell
):
    namespace = student_namespace(assignment)
    original = namespace[function]
    calls = []

    def wrong(*args, **kwargs):
        out = original(*args, **kwargs)
        hit = nontrivial(function, args, kwargs, out)
        calls.append(hit)
        if not hit:
            return out
        if key is None:
            return corrupt(out)
        out = copy.copy(out)
        if isinstance(out, tuple):
            out = list(out)
            out[key] = corrupt(out[key])
            return tuple(out)
        out[key] = corrupt(out[key])
        return out

    assert run_visible(assignment, cell, namespace) is None, f"the solution fails {cell}"
    namespace[function] = wrong
    try:
        why = run_visible(assignment, cell, namespace)
    finally:
        namespace[function] = original
    assert any(calls), f"no visible test of {cell} calls {function} on a non-square case"
    assert why is not None, f"{cell} passes with a wrong {label} from {function}"


def pure_functions(assignment: str) -> set[str]:
    """The functions whose hidden tests check that the inputs are not modified."""
    text = hidden_tests_path(ROOT, assignment).read_text()
    names = set(re.findall(r"pure\(\s*student\.(\w+)", text))
    if "pure(getattr(student, name)" in text:  # 01: adaptive_steps(student, "adagrad_step", ...)
        names |= set(re.findall(r"adaptive_steps\(\s*student,\s*\"(\w+)\"", text))
    return names


PURE = [(a, f) for a in ASSIGNMENTS for f in OUTPUTS[a] if f in pure_functions(a)]


def _modify(value) -> bool:
    """Modify ``value`` in place (the classic `x -= ...`); False if it cannot be."""
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind == "f":
        value += 1.0
        return True
    if isinstance(value, list) and value:
        if isinstance(value[0], np.ndarray):
            return _modify(value[0])
        value.reverse() if len(set(map(repr, value))) > 1 else value.append(value[0])
        return True
    if isinstance(value, dict) and value:
        key = next(iter(value))
        value[key] = corrupt(value[key]) if not isinstance(value[key], str) else value[key] + "!"
        return True
    return False


@pytest.mark.parametrize(("assignment", "function"), PURE, ids=[f"{a}-{f}" for a, f in PURE])
def test_visible_tests_check_that_inputs_are_not_modified(assignment, function):
    namespace = student_namespace(assignment)
    original = namespace[function]
    cells = sorted({c for f, _, _, c in leaves(assignment) if f == function})
    position = {"index": 0}

    def modifies(*args, **kwargs):
        out = copy.deepcopy(original(*args, **kwargs))
        mutable = [a for a in args if isinstance(a, np.ndarray | list | dict)]
        if mutable:
            _modify(mutable[position["index"] % len(mutable)])
        return out

    n_inputs = 0
    for cell_id in cells:  # how many positional inputs the visible calls pass
        recorded = []

        def record(*args, recorded=recorded, **kwargs):
            recorded.append(sum(isinstance(a, np.ndarray | list | dict) for a in args))
            return original(*args, **kwargs)

        namespace[function] = record
        try:
            run_visible(assignment, cell_id, namespace)
        finally:
            namespace[function] = original
        n_inputs = max([n_inputs, *recorded])
    assert n_inputs, f"no visible test passes {function} an array, list or dict"
    missed = []
    for index in range(n_inputs):
        position["index"] = index
        namespace[function] = modifies
        try:
            caught = any(run_visible(assignment, c, namespace) for c in cells)
        finally:
            namespace[function] = original
        if not caught:
            missed.append(index + 1)
    assert not missed, f"{function}: modifying input number {missed} passes {cells}"


PARTIAL = [
    (a, label, edits, failing)
    for a in ASSIGNMENTS
    for label, edits, failing in cases.MUTANTS[a]
    if label in cases.PARTIAL.get(a, [])
]


@pytest.mark.parametrize(
    ("assignment", "label", "edits", "failing"),
    PARTIAL,
    ids=[f"{a}-{label}" for a, label, _, _ in PARTIAL],
)
def test_a_partial_mistake_costs_only_its_cell_and_fails_a_visible_check(
    assignment, label, edits, failing
):
    nb = cases.student_notebook(ROOT, assignment, edits)
    grading = grade_notebook(nb, load_hidden(hidden_tests_path(ROOT, assignment)))
    failed = sorted(g for g, v in grading.verdicts.items() if not v.passed)
    assert failed == sorted(failing), f"{label}: lost {failed}"
    for grade_id in failing:
        messages = grading.verdicts[grade_id].messages
        assert not messages[0].startswith("hidden test"), (
            f"{label}: only a hidden test of {grade_id} fails"
        )
        # the hidden checks ran although a visible one had failed, and say so by name
        assert any(m.startswith(f"hidden test {grade_id}") for m in messages[1:]), messages


def test_cases_partial_names_mutants():
    for assignment, labels in cases.PARTIAL.items():
        assert set(labels) <= {label for label, _, _ in cases.MUTANTS[assignment]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_answer_says_what_the_grader_checks_beyond_the_visible_tests(assignment):
    cells = _source(assignment).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and _meta(cell).get("solution"):
            text = next(c.source for c in reversed(cells[:i]) if c.cell_type == "markdown")
            assert "*The grader also checks:*" in text, f"{_meta(cell)['grade_id']}: {text[:80]}"


def test_hidden_failures_show_a_scalar_as_a_scalar():
    from optreg.grading.checks import Failed, close, hidden_mode

    with pytest.raises(Failed) as visible:
        close(0.01, 0.005, "power_schedule(step=100)")
    assert str(visible.value) == "power_schedule(step=100): expected 0.005, got 0.01"
    with hidden_mode(), pytest.raises(Failed) as hidden:
        close(0.01, 0.005, "power_schedule(step=100)")
    assert "flat index" not in str(hidden.value) and "shape" not in str(hidden.value)
    assert "relative error 1" in str(hidden.value)


def test_the_feedback_names_each_test_cell():
    from optreg.grading.grader import GradeOutsideSandbox

    assignment = "04_normalization"
    nb = cases.student_notebook(ROOT, assignment, cases.MUTANTS[assignment][0][1])
    graded, _ = GradeOutsideSandbox(
        hidden_tests=str(hidden_tests_path(ROOT, assignment))
    ).preprocess(nb, {})
    outputs = {
        _meta(c)["grade_id"]: c.outputs[0]
        for c in graded.cells
        if c.cell_type == "code" and _meta(c).get("grade")
    }
    assert outputs["test_batchnorm_inference"].evalue.startswith(
        "test_batchnorm_inference (2 points) failed:"
    )
    assert outputs["test_batchnorm_backward_dgamma"].text.startswith(
        "test_batchnorm_backward_dgamma (1 point): passed"
    )


# --- one notation with the book: the exercises equal its reference implementations ---------


def test_one_cycle_equals_the_books_for_every_total_steps():
    from optreg.schedules import OneCycle

    one_cycle = student_namespace("02_schedules")["one_cycle"]
    for total in range(2, 201):
        book = OneCycle(total, 1.0)
        for step in range(total + 3):
            assert math.isclose(one_cycle(step, total, 1.0), book(step), rel_tol=1e-12), (
                total,
                step,
            )
    book = OneCycle(50, 0.3, initial_learning_rate=0.02, final_learning_rate=1e-4)
    for step in range(53):
        assert math.isclose(one_cycle(step, 50, 0.3, 0.02, 1e-4), book(step), rel_tol=1e-12)


def test_plateau_step_equals_the_books_reduce_lr_on_plateau():
    from optreg.schedules import ReduceLROnPlateau

    plateau_step = student_namespace("02_schedules")["plateau_step"]
    rng = np.random.default_rng(0)
    for trial in range(200):
        factor, patience, cooldown = (
            rng.choice([0.1, 0.5]),
            int(rng.integers(0, 4)),
            int(rng.integers(0, 3)),
        )
        # min_lr exact in float32: the book compares lr with float32(min_lr) as Keras reads it
        min_delta, min_lr = rng.choice([0.0, 1e-4, 0.05]), rng.choice([0.0, 2.0**-7])
        losses = np.round(1.0 + np.cumsum(rng.normal(0.0, 0.05, 25)), 2)
        book = ReduceLROnPlateau(0.1, factor, patience, "min", min_delta, cooldown, min_lr)
        state = {"lr": 0.1, "best": math.inf, "wait": 0, "cooldown_counter": 0}
        for loss in losses:
            state = plateau_step(state, loss, factor, patience, min_delta, cooldown, min_lr)
            assert math.isclose(state["lr"], book.update(loss), rel_tol=1e-12), trial
            assert state["wait"] == book.wait and state["cooldown_counter"] == book.cooldown_counter


def test_lr_range_suggestion_equals_the_books():
    from optreg.schedules import suggest_learning_rate

    suggestion = student_namespace("02_schedules")["lr_range_suggestion"]
    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-6, 10.0, 60)
    for trial in range(100):
        losses = 2.0 + np.cumsum(rng.normal(0.0, 0.1, 60))
        if trial % 3 == 0:
            losses[int(rng.integers(1, 60)) :] = rng.choice([np.inf, np.nan])
        assert suggestion(lrs, losses) == suggest_learning_rate(lrs, losses), trial
    nothing_finite = [np.nan] * 5
    assert suggestion(lrs[:5], nothing_finite) == suggest_learning_rate(lrs[:5], nothing_finite)


def test_standardize_split_equals_the_books_standardizer():
    from optreg.normalization import Standardizer

    standardize_split = student_namespace("04_normalization")["standardize_split"]
    rng = np.random.default_rng(2)
    train, test = rng.normal(size=(7, 4)), rng.normal(size=(3, 4))
    train[:, 1], train[:, 2] = 0.1, 2.0  # constant up to rounding, exactly constant
    assert np.std(train[:, 1]) != 0.0  # the floating-point residue the instructions mention
    book = Standardizer().fit(train)
    got_train, got_test = standardize_split(train, test)
    np.testing.assert_allclose(got_train, book.transform(train), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_test, book.transform(test), rtol=1e-12, atol=0)
